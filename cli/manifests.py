"""Reading manifests for `apply -f`, `delete -f`, `create -f`: files, directories, stdin.

Every document is a ``Manifest`` carrying where it came from, so a bad file is reported
as ``error parsing FILE: line N: ...`` and a bad document names its file and position.
``kind: List`` documents are unpacked into their items, as kubectl does.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cli.session import CliError

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Manifest:
    doc: dict[str, Any]
    source: str  # file name, or "STDIN"
    index: int  # position of the document in its file, from 1

    @property
    def name(self) -> str:
        return str((self.doc.get("metadata") or {}).get("name") or "")


def read_manifests(paths: list[str], *, stdin_text: str | None = None) -> list[Manifest]:
    """Every document of every path in order (directories: their manifest files, sorted)."""
    manifests: list[Manifest] = []
    for path in paths:
        if path == "-":
            text = stdin_text if stdin_text is not None else sys.stdin.read()
            manifests.extend(parse_manifests(text, "STDIN"))
            continue
        for file in _files_of(Path(path)):
            try:
                text = file.read_text()
            except OSError as exc:
                raise CliError(f"cannot read {file}: {exc.strerror or exc}") from None
            manifests.extend(parse_manifests(text, str(file)))
    return manifests


def _files_of(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in MANIFEST_SUFFIXES)
        if not files:
            raise CliError(f'error reading {path}: no manifest files (*.yaml, *.yml, *.json) in the directory')
        return files
    if not path.exists():
        raise CliError(f'the path "{path}" does not exist')
    return [path]


def parse_manifests(text: str, source: str) -> list[Manifest]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as exc:
        raise CliError(f"error parsing {source}: {_yaml_problem(exc)}") from None
    except yaml.YAMLError as exc:
        raise CliError(f"error parsing {source}: {exc}") from None
    manifests: list[Manifest] = []
    for index, doc in enumerate(docs, start=1):
        if doc is None:  # an empty document between two `---`
            continue
        if not isinstance(doc, dict):
            raise CliError(f"error validating {source}: document {index} is not an object (a {type(doc).__name__})")
        missing = [f"{key} not set" for key in ("apiVersion", "kind") if not doc.get(key)]
        if missing:
            raise CliError(f"error validating {source}: document {index}: [{', '.join(missing)}]")
        if doc["kind"] == "List" or (str(doc["kind"]).endswith("List") and isinstance(doc.get("items"), list)):
            for item in doc.get("items") or []:
                if isinstance(item, dict):
                    manifests.append(Manifest(item, source, index))
            continue
        manifests.append(Manifest(doc, source, index))
    return manifests


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}: " if mark is not None else ""
    problem = exc.problem or exc.context or "invalid YAML"
    return f"{where}{problem}"
