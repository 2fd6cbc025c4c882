"""`kajitori ARGS...` run in-process (typer's CliRunner) against a test master."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typer.testing import CliRunner

from cli.main import app
from tests.support.master_process import MasterProcess


def invoker(master: MasterProcess) -> Callable[..., Any]:
    """A function running `kajitori ARGS...` against `master`; returns the click Result."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Any:
        words = list(args)
        # Before a `--`: what follows it is a container's command.
        at = words.index("--") if "--" in words else len(words)
        return runner.invoke(app, [*words[:at], "--kubeconfig", str(master.kubeconfig), *words[at:]], input=input)

    return run
