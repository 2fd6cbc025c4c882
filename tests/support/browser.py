"""Debian's chromium, headless, driven by playwright (no browser download): a page of the
web view signed in with a bearer token, and what the page shows of the cluster."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import PROCESS_TIMEOUT_S

CHROMIUM = "/usr/bin/chromium"
LIMIT_MS = PROCESS_TIMEOUT_S * 1000
"""What a page's navigations, actions and waits may take: a limit, not a window (each returns as soon
as it can). playwright's own 30 s was too short for chromium's first page on a loaded 2-core machine."""


@contextmanager
def chromium_page(*, width: int = 1280, height: int = 800) -> Iterator[Any]:
    """A fresh page of a new headless chromium (the master's own CA is not the browser's: its errors are ignored)."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (make host installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(ignore_https_errors=True, viewport={"width": width, "height": height})
            context.set_default_timeout(LIMIT_MS)
            yield context.new_page()
        finally:
            browser.close()


NAVIGATION_TRIES = 5


def open_page(page: Any, url: str) -> None:
    """``page.goto(url)``, again when chromium aborted it with ERR_NETWORK_CHANGED: chromium aborts a
    navigation when the machine's interfaces change, and the integration layer's other workers add
    and remove veths, bridges and netns all the time (it failed CI once on 127.0.0.1)."""
    for attempt in range(1, NAVIGATION_TRIES + 1):
        try:
            page.goto(url)
            return
        except Exception as exc:  # playwright's Error; imported lazily, as playwright may be absent
            if "ERR_NETWORK_CHANGED" not in str(exc) or attempt == NAVIGATION_TRIES:
                raise


def sign_in(page: Any, server: str, token: str, *, timeout_s: float = PROCESS_TIMEOUT_S) -> None:
    """Opens ``server``/ui/, signs in with ``token`` and waits until every collection is live."""
    open_page(page, f"{server}/ui/")
    page.fill("#token", token)
    page.click("#sign-in button[type=submit]")
    # A selector, not wait_for_function: the page's Content-Security-Policy forbids the eval that polling needs.
    page.wait_for_selector("#link-status.link-ok", timeout=timeout_s * 1000)  # every watch live


def pod_selector(namespace: str, name: str) -> str:
    return f'.pod[data-pod="{namespace}/{name}"]'


def first_seen_ms(page: Any, namespace: str, name: str) -> float | None:
    """When the page first drew the pod (epoch ms, the browser's clock: this machine's)."""
    value = page.evaluate("(key) => window.kajitoriFirstSeen.get(key) ?? null", f"{namespace}/{name}")
    return float(value) if value is not None else None
