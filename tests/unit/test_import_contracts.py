"""The import contracts cover every module they are meant to, including ones added later.

import-linter's wildcards match whole module names only (``cli.*_cmd`` is refused), so the
cli-commands contract lists its modules; this check fails when a module of ``cli/`` is in
none of its layers, instead of leaving the new module unconstrained.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _contract(name: str) -> configparser.SectionProxy:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    return config[f"importlinter:contract:{name}"]


def test_every_cli_module_is_in_a_layer_of_the_cli_commands_contract() -> None:
    listed = set(re.findall(r"cli\.[a-z_]+", _contract("cli-commands")["layers"]))
    modules = {f"cli.{path.stem}" for path in (ROOT / "cli").glob("*.py") if path.stem != "__init__"}
    assert modules - listed == set(), "add these to the cli-commands contract in .importlinter"
    assert listed - modules == set()


def test_the_library_contract_covers_the_whole_kajitori_package() -> None:
    contract = _contract("library")
    assert contract["type"] == "forbidden"
    assert contract["source_modules"].split() == ["kajitori"]  # a package: every submodule, present or future
    assert set(contract["forbidden_modules"].split()) == {"cli", "lab", "master", "agent", "net"}
