"""A property-based fuzz of the API's writes against one real master: hostile input never earns a 5xx.

Each example takes a valid Pod, Deployment, Service, ConfigMap, Secret or Job, creates
it, and then sends one hostile request about it: a create, an update (PUT), a merge,
JSON or strategic merge patch, a server-side apply, or a status update (with or without a
``fieldValidation``), whose body is the object (or a
patch) with one value somewhere replaced by something a careless or hostile client
might send — null, a value of the wrong type, an integer past 64 bits, NaN, a
megabyte string, a string with control characters, U+2028 or a lone surrogate, nesting 150 deep, an
absurd quantity — encoded as JSON or YAML, or as bytes that are not UTF-8 at all.

Whatever the request, the answer is below 500; every error is a ``Status`` (kind
Status, its ``code`` the HTTP code, a 4xx); the keep-alive connection is still open
and answers the next request on the same socket; and a refused write changed
nothing: the store's revision did not move. The examples are derandomized (the same
ones in every run) and about 2,000 in all, so the test fits CI.
"""

from __future__ import annotations

import copy
import json
import math
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kajitori.client import ApiClient
from tests.support.keepalive import KeepAlive
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

NAMESPACE = "fuzz"
# The CI budget; a longer hunt: KAJITORI_FUZZ_EXAMPLES=20000.
EXAMPLES = int(os.environ.get("KAJITORI_FUZZ_EXAMPLES", "2000"))

# -- the objects ---------------------------------------------------------------------------

CONTAINER = {
    "name": "app",
    "image": "busybox:1",
    "command": ["sleep", "3600"],
    "env": [{"name": "A", "value": "1"}],
    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}},
    "volumeMounts": [{"name": "data", "mountPath": "/data", "subPath": "x"}],
}
POD_SPEC = {"containers": [CONTAINER], "volumes": [{"name": "data", "emptyDir": {}}], "restartPolicy": "Always"}
TEMPLATE = {"metadata": {"labels": {"app": "fuzz"}}, "spec": POD_SPEC}


@dataclass(frozen=True)
class Kind:
    kind: str
    api_version: str
    plural: str
    spec: dict[str, Any]
    has_status: bool

    @property
    def collection(self) -> str:
        prefix = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        return f"{prefix}/namespaces/{NAMESPACE}/{self.plural}"

    def object(self, name: str) -> dict[str, Any]:
        obj = {"apiVersion": self.api_version, "kind": self.kind, "metadata": {"name": name, "labels": {"app": "fuzz"}}}
        obj.update(copy.deepcopy(self.spec))
        return obj


KINDS = [
    Kind("Pod", "v1", "pods", {"spec": POD_SPEC}, True),
    Kind(
        "Deployment",
        "apps/v1",
        "deployments",
        {"spec": {"replicas": 2, "selector": {"matchLabels": {"app": "fuzz"}}, "template": TEMPLATE}},
        True,
    ),
    Kind(
        "Service",
        "v1",
        "services",
        {"spec": {"type": "NodePort", "selector": {"app": "fuzz"}, "ports": [{"port": 80, "targetPort": 8080}]}},
        True,
    ),
    Kind("ConfigMap", "v1", "configmaps", {"data": {"a": "1", "b": "two"}}, False),
    Kind("Secret", "v1", "secrets", {"type": "Opaque", "data": {"a": "MQ=="}, "stringData": {"b": "2"}}, False),
    Kind(
        "Job",
        "batch/v1",
        "jobs",
        {"spec": {"backoffLimit": 1, "template": {"spec": {**POD_SPEC, "restartPolicy": "Never"}}}},
        True,
    ),
]

# -- hostile values --------------------------------------------------------------------------


def deep(depth: int) -> Any:
    value: Any = "bottom"
    for n in range(depth):
        value = [value] if n % 2 else {"d": value}
    return value


HOSTILE_SCALARS = st.sampled_from(
    [
        None, True, 0, -1, 1.5, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 2**64 + 1, 10**40, 1e308, -1e-308,
        math.nan, math.inf, "", " ", "null", "0", "-1", "1e999999", "1e-999999", "9223372036854775808Ei",
        "\u2028\u2029\u0085", "\ud800", "a\udfffb", "\udbff\udfff", "\x00", "bad\nfield", "é\u0301", "\U0001f600", "../../../../tmp/x", "/etc",
        "a" * 300, "A" * 70, "Foo_Bar", "x=y", "$patch", "2026-12-01", "~1", "-",
    ]
)  # fmt: skip
HOSTILE_VALUES = st.one_of(
    HOSTILE_SCALARS,
    st.builds(lambda n: "x" * n, st.sampled_from([10_000, 300_000, 1_100_000])),
    st.builds(deep, st.sampled_from([20, 99, 150, 600])),
    st.lists(HOSTILE_SCALARS, max_size=3),
    st.dictionaries(st.sampled_from(["", "a", "bad\nfield", "$patch", "\u2028"]), HOSTILE_SCALARS, max_size=2),
    st.text(max_size=20),
    # Every code point, lone surrogates included (st.text leaves category Cs out by default).
    st.text(alphabet=st.characters(exclude_categories=()), max_size=20),
    st.integers(),
    st.floats(),
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in ``value`` (the root too): where a hostile value can go."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


def replaced(value: Any, path: tuple[Any, ...], new: Any, *, add_key: str | None = None) -> Any:
    """``value`` with ``new`` at ``path`` (or, with ``add_key``, under a new key of the mapping there)."""
    if not path:
        if add_key is not None and isinstance(value, dict):
            return {**value, add_key: new}
        return new
    head, *rest = path
    copied = copy.copy(value)
    copied[head] = replaced(value[head], tuple(rest), new, add_key=add_key)
    return copied


@st.composite
def mutated(draw: st.DrawFn, doc: Any) -> Any:
    """``doc`` with one hostile value somewhere (replacing a value, or under a new key)."""
    places = list(paths(doc))
    path = draw(st.sampled_from(places))
    add_key = draw(st.one_of(st.none(), st.sampled_from(["extra", "bad\nfield", "status", "metadata", "$patch"])))
    return replaced(doc, path, draw(HOSTILE_VALUES), add_key=add_key)


# -- requests ----------------------------------------------------------------------------------

VERBS = ["create", "update", "merge", "strategic", "json-patch", "apply", "status"]
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


@dataclass
class Request:
    method: str
    path: str
    content_type: str
    body: bytes


def encode(value: Any, encoding: str) -> bytes:
    if encoding == "yaml":
        try:
            # libyaml's emitter: the pure-Python one takes seconds on a megabyte string.
            return yaml.dump(value, Dumper=yaml.CSafeDumper, allow_unicode=True).encode("utf-8", "surrogatepass")
        except UnicodeEncodeError:
            # libyaml cannot write a lone surrogate; JSON is YAML too, with the surrogate as a "\ud800" escape.
            return encode(value, "json")
        except (yaml.YAMLError, RecursionError):
            return b"a: [unbalanced"
    # The standard library writes what orjson will not: big integers, NaN, Infinity.
    try:
        return json.dumps(value).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return b'{"a": [unbalanced'


@st.composite
def hostile_requests(draw: st.DrawFn, kind: Kind, name: str, stored: dict[str, Any]) -> Request:
    verb = draw(st.sampled_from(VERBS if kind.has_status else VERBS[:-1]))
    encoding = draw(st.sampled_from(["json", "yaml"]))
    item = f"{kind.collection}/{name}"
    if verb == "create":
        doc = draw(mutated(kind.object(f"{name}-new")))
        method, path, content_type = "POST", kind.collection, "application/json"
    elif verb in ("update", "status"):
        doc = draw(mutated(stored))
        method, path, content_type = "PUT", item + ("/status" if verb == "status" else ""), "application/json"
    elif verb in ("merge", "strategic"):
        doc = draw(mutated({"metadata": {"labels": {"b": "2"}}, **{k: v for k, v in stored.items() if k != "metadata"}}))
        method, path, content_type = "PATCH", item, MERGE if verb == "merge" else STRATEGIC
    elif verb == "apply":
        # A server-side apply of the whole manifest, one value hostile; the manager sometimes forces.
        doc = draw(mutated(kind.object(name)))
        method, path, content_type = "PATCH", item + draw(st.sampled_from(["?fieldManager=fuzz", "?fieldManager=fuzz&force=true"])), APPLY
    else:
        pointer = "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in draw(st.sampled_from(list(paths(stored)))))
        op = draw(st.sampled_from(["add", "replace", "remove", "test", "move", "copy", "bogus"]))
        doc = draw(mutated([{"op": op, "path": pointer, "from": "/metadata/labels", "value": "x"}]))
        method, path, content_type = "PATCH", item, JSON_PATCH
    validation = draw(st.sampled_from([None, None, "Strict", "Ignore", "Warn", "bogus"]))
    if validation is not None:
        path += ("&" if "?" in path else "?") + f"fieldValidation={validation}"
    body = encode(doc, encoding)
    if encoding == "yaml" and content_type == "application/json":
        content_type = "application/yaml"
    if draw(st.integers(0, 9)) == 0:
        # Bytes that are not UTF-8, somewhere in an otherwise fine body.
        # (Drawn as a fraction: the body's length varies with the server's uid and addresses.)
        at = len(body) * draw(st.integers(0, 1000)) // 1000
        body = body[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xfe\xff"])) + body[at:]
    return Request(method, path, content_type, body)


# -- the test ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conn(master: MasterProcess, api: ApiClient) -> Iterator[KeepAlive]:
    connection = KeepAlive(master, api.config.token or "")
    code, _ = connection.send("POST", "/api/v1/namespaces", json.dumps({"metadata": {"name": NAMESPACE}}).encode())
    assert code == 201
    yield connection
    connection.close()


def assert_status(code: int, body: Any, what: str) -> None:
    assert code < 500, f"{what}: {code} {json.dumps(body)[:500]}"
    if code >= 400:
        assert isinstance(body, dict) and body.get("kind") == "Status", f"{what}: not a Status: {body!r:.300}"
        assert body.get("code") == code and body.get("status") == "Failure", f"{what}: {body!r:.300}"


# About 2.5 minutes here (2 cores, shared); the suite's 300 s default is too tight under load.
@pytest.mark.timeout(900)
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(data=st.data(), kind=st.sampled_from(KINDS))
def test_hostile_writes_answer_4xx_status_and_change_nothing(conn: KeepAlive, kind: Kind, data: st.DataObject) -> None:
    name = f"f-{uuid.uuid4().hex[:10]}"
    code, stored = conn.send("POST", kind.collection, json.dumps(kind.object(name)).encode())
    assert code == 201, stored
    try:
        request = data.draw(hostile_requests(kind, name, stored), label="request")
        before = conn.revision()
        code, body = conn.send(request.method, request.path, request.body, request.content_type)
        what = f"{request.method} {request.path} ({request.content_type}) {request.body[:400]!r}"
        assert_status(code, body, what)
        if code >= 400:
            assert conn.revision() == before, f"{what}: refused with {code}, yet the store changed"
    finally:
        # Also what every accepted write leaves behind; a pod never bound goes at once.
        for target in (name, f"{name}-new"):
            code, body = conn.send("DELETE", f"{kind.collection}/{target}")
            assert_status(code, body, f"DELETE {target}")
