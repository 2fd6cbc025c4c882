"""Debian's chromium, headless, driven by playwright (no browser download): a page of the
web view signed in with a bearer token, and what the page shows of the cluster."""

from __future__ import annotations

import shutil
import time
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


NETWORK_CHANGED = "ERR_NETWORK_CHANGED"
ABORTED = (NETWORK_CHANGED, "chrome-error://", "interrupted by another navigation")
"""What a navigation aborted by a network change answers: the error, its error page, or chromium's own
reload of the page once the network is back ("interrupted by another navigation to" the same URL)."""


def open_page(page: Any, url: str, *, timeout_s: float = PROCESS_TIMEOUT_S) -> None:
    """``page.goto(url)``, again while chromium aborts it or one of its requests on a network change.

    Chromium aborts what is in flight when the machine's interfaces change, and the integration
    layer's other workers add and remove veths, bridges and netns all the time. An aborted
    navigation raises (CI once, on 127.0.0.1); an aborted script of the page does not: the page
    "loads" without the app its modules make (CI once: no sign-in form for 120 s). Both are
    tried again until ``timeout_s``: the changes come in bursts, a page load takes 0.1 s.
    """
    aborted: list[str] = []

    def failed(request: Any) -> None:
        if NETWORK_CHANGED in (request.failure or ""):
            aborted.append(request.url)

    deadline = time.monotonic() + timeout_s
    page.on("requestfailed", failed)
    try:
        while True:
            aborted.clear()
            try:
                page.goto(url)  # returns on the load event: every script of the page has loaded or failed
            except Exception as exc:  # playwright's Error; imported lazily, as playwright may be absent
                if not any(sign in str(exc) for sign in ABORTED) or time.monotonic() > deadline:
                    raise
                continue
            if not aborted:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"chromium aborted {aborted} with {NETWORK_CHANGED} until the end")
    finally:
        page.remove_listener("requestfailed", failed)


def sign_in(page: Any, server: str, token: str, *, timeout_s: float = PROCESS_TIMEOUT_S) -> None:
    """Opens ``server``/ui/, signs in with ``token`` and waits until every collection is live.

    A sign-in whose check of the token was cut by a network change shows the form again with
    "cannot reach the API" (as it should: the person signs in again); so does this, until ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    open_page(page, f"{server}/ui/", timeout_s=timeout_s)
    while True:
        page.fill("#token", token)
        page.click("#sign-in button[type=submit]")
        # A selector, not wait_for_function: the page's Content-Security-Policy forbids the eval that polling needs.
        page.wait_for_selector("#link-status.link-ok, [data-sign-in-error]", timeout=timeout_s * 1000)
        refused = page.query_selector("[data-sign-in-error]")
        if refused is None:
            return  # every watch live
        message = refused.inner_text()
        if "cannot reach the API" not in message or time.monotonic() > deadline:
            raise AssertionError(f"sign-in refused: {message}")


def pod_selector(namespace: str, name: str) -> str:
    return f'.pod[data-pod="{namespace}/{name}"]'


def first_seen_ms(page: Any, namespace: str, name: str) -> float | None:
    """When the page first drew the pod (epoch ms, the browser's clock: this machine's)."""
    value = page.evaluate("(key) => window.kajitoriFirstSeen.get(key) ?? null", f"{namespace}/{name}")
    return float(value) if value is not None else None
