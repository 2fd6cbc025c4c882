"""Reading manifests (files, dirs, stdin, bad YAML) and the one-line messages for failures."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from cli.manifests import parse_manifests, read_manifests
from cli.session import CliError, error_message
from cli.targets import parse_targets
from kajitori import config
from kajitori.api.registry import UnknownResource, by_name
from kajitori.client import (
    ApiError,
    InvalidError,
    NotFoundError,
    ServerUnavailable,
    UnauthorizedError,
    _error,
)

POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers: [{{name: c, image: x}}]\n"


def test_multi_document_with_empty_documents_and_lists() -> None:
    text = POD.format(name="a") + "---\n---\n" + "apiVersion: v1\nkind: List\nitems:\n- " + POD.format(name="b").replace("\n", "\n  ")
    manifests = parse_manifests(text, "f.yaml")
    assert [m.name for m in manifests] == ["a", "b"]
    assert manifests[1].source == "f.yaml"


def test_directory_reads_manifest_files_sorted(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(POD.format(name="b"))
    (tmp_path / "a.yml").write_text(POD.format(name="a"))
    (tmp_path / "notes.txt").write_text("not a manifest")
    assert [m.name for m in read_manifests([str(tmp_path)])] == ["a", "b"]
    assert [m.name for m in read_manifests(["-"], stdin_text=POD.format(name="s"))] == ["s"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n spec: 1\n", "error parsing f.yaml: line 5:", id="bad-indent"),
        pytest.param("a: [1, 2\n", "error parsing f.yaml: line 2:", id="unclosed"),
        pytest.param("- 1\n- 2\n", "document 1 is not an object", id="not-object"),
        pytest.param("metadata: {name: x}\n", "[apiVersion not set, kind not set]", id="no-kind"),
    ],
)
def test_bad_manifests_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(CliError) as info:
        parse_manifests(text, "f.yaml")
    assert message in str(info.value)


def test_missing_path() -> None:
    with pytest.raises(CliError, match=re.escape('the path "nope.yaml" does not exist')):
        read_manifests(["nope.yaml"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["po"], [("pods", [])], id="short"),
        pytest.param(["pods", "a", "b"], [("pods", ["a", "b"])], id="names"),
        pytest.param(["deployment.apps", "web"], [("deployments", ["web"])], id="group"),
        pytest.param(["po,svc"], [("pods", []), ("services", [])], id="several"),
        pytest.param(["all"], [("pods", []), ("services", []), ("deployments", []), ("replicasets", [])], id="all"),
        pytest.param(["deploy/web", "po/a", "deploy/db"], [("deployments", ["web", "db"]), ("pods", ["a"])], id="type-name"),
    ],
)
def test_parse_targets(args: list[str], expected: list[tuple[str, list[str]]]) -> None:
    assert [(r.plural, names) for r, names in parse_targets(args)] == expected


def test_parse_targets_unknown_kind() -> None:
    with pytest.raises(UnknownResource) as info:
        parse_targets(["foo"])
    assert error_message(info.value) == 'error: the server doesn\'t have a resource type "foo"'


def status(code: int, reason: str, message: str, causes: list[dict[str, str]] | None = None) -> ApiError:
    body = {"kind": "Status", "code": code, "reason": reason, "message": message,
            "details": {"name": "x", "kind": "pods", "causes": causes or []}}  # fmt: skip
    import orjson

    return _error(code, orjson.dumps(body))


def unreachable(cause: Exception) -> ServerUnavailable:
    exc = ServerUnavailable("cannot reach the master at http://127.0.0.1:9: [Errno 111] Connection refused")
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        pytest.param(unreachable(httpx.ConnectError("refused")),
                     "The connection to the server http://127.0.0.1:9 was refused - is the master running?", id="refused"),
        pytest.param(unreachable(httpx.ReadTimeout("slow")),
                     "Unable to connect to the server http://127.0.0.1:9: timed out - is the master running?", id="timeout"),
        pytest.param(status(401, "Unauthorized", "Unauthorized"), "error: You must be logged in to the server (Unauthorized)", id="401"),
        pytest.param(status(404, "NotFound", 'pods "x" not found'), 'Error from server (NotFound): pods "x" not found', id="404"),
        pytest.param(status(409, "AlreadyExists", 'pods "x" already exists'),
                     'Error from server (AlreadyExists): pods "x" already exists', id="409-exists"),
        pytest.param(status(409, "Conflict", "the object has been modified"),
                     "Error from server (Conflict): the object has been modified", id="409-conflict"),
        pytest.param(
            status(422, "Invalid", 'Pod "x" is invalid: spec.containers[0].image: Required value',
                   [{"field": "spec.containers[0].image", "message": "Required value"}]),
            'The Pod "x" is invalid: spec.containers[0].image: Required value', id="422-one-cause",
        ),
        pytest.param(
            status(422, "Invalid", 'Pod "x" is invalid: [a: Required value, b: Invalid value]',
                   [{"field": "a", "message": "Required value"}, {"field": "b", "message": "Invalid value"}]),
            'The Pod "x" is invalid: \n* a: Required value\n* b: Invalid value', id="422-causes",
        ),
        pytest.param(config.ConfigError("no kubeconfig at /x"), "error: no kubeconfig at /x", id="config"),
        pytest.param(CliError("bad flag"), "error: bad flag", id="cli"),
    ],
)  # fmt: skip
def test_error_messages(exc: Exception, line: str) -> None:
    assert error_message(exc) == line


def test_error_classes() -> None:
    assert isinstance(status(404, "NotFound", "x"), NotFoundError)
    assert isinstance(status(401, "Unauthorized", "x"), UnauthorizedError)
    assert isinstance(status(422, "Invalid", "x"), InvalidError)
    assert by_name("deploy").kind == "Deployment"
