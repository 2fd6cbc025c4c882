"""Hostile and faulty requests against a real master: each is a 4xx ``Status``, never a 500 or a hang.

One test per finding of the hostile-input review (issue 10): quantities so large
their conversion froze the master, requests that answered 500 and dropped the
connection, a YAML alias bomb, ``subPath`` leaving the volume, a non-ASCII bearer
token, and a ``Warning`` header that broke the answer to a write already stored.
Every request goes over one keep-alive connection that must stay open.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kajitori.client import ApiClient
from tests.support.keepalive import KeepAlive
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

NS = "hostile"
PODS = f"/api/v1/namespaces/{NS}/pods"
CONFIGMAPS = f"/api/v1/namespaces/{NS}/configmaps"


@pytest.fixture(scope="module")
def conn(master: MasterProcess, api: ApiClient) -> Iterator[KeepAlive]:
    connection = KeepAlive(master, api.config.token or "")
    code, body = connection.json("POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
    assert code == 201, body
    yield connection
    connection.close()


def pod(name: str, **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "app", "image": "busybox:1", **container}]},
    }


def assert_refused(code: int, body: Any, expected: int, field: str | None = None) -> None:
    """A 4xx Status of code ``expected``; with ``field``, one of its causes names it."""
    assert code == expected, body
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == expected, body
    if field is not None:
        assert field in [c.get("field") for c in (body.get("details") or {}).get("causes") or []], body


# -- 1. quantities bounded at parse time ---------------------------------------------------------


@pytest.mark.parametrize(
    ("resources", "field"),
    [
        pytest.param({"requests": {"memory": "1e999999"}}, "spec.containers[0].resources.requests.memory", id="memory-1e999999"),
        pytest.param({"limits": {"memory": "1e999999"}}, "spec.containers[0].resources.limits.memory", id="limit-1e999999"),
        pytest.param({"limits": {"cpu": "1e99999999"}}, "spec.containers[0].resources.limits.cpu", id="cpu-1e99999999"),
        pytest.param({"requests": {"memory": "9Ei"}}, "spec.containers[0].resources.requests.memory", id="over-int64"),
        pytest.param({"limits": {"cpu": None}}, "spec.containers[0].resources.limits.cpu", id="cpu-null"),
        pytest.param({"limits": {"cpu": [1]}}, "spec.containers[0].resources.limits.cpu", id="cpu-list"),
    ],
)
def test_an_unbounded_or_malformed_quantity_is_a_422_naming_the_field(
    conn: KeepAlive, resources: dict[str, Any], field: str
) -> None:
    before = conn.revision()
    code, body = conn.json("POST", PODS, pod("quantity", resources=resources))
    assert_refused(code, body, 422, field)
    assert conn.revision() == before


def test_the_largest_quantity_kubernetes_takes_is_still_accepted(conn: KeepAlive) -> None:
    code, body = conn.json("POST", PODS, pod("big-enough", resources={"requests": {"memory": "7Ei", "cpu": "64"}}))
    assert code == 201, body
    assert body["spec"]["containers"][0]["resources"]["requests"] == {"memory": "7Ei", "cpu": "64"}


def test_replicas_past_int32_are_a_422_naming_the_field(conn: KeepAlive) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "many"},
        "spec": {
            "replicas": 2**31,
            "selector": {"matchLabels": {"app": "many"}},
            "template": {"metadata": {"labels": {"app": "many"}}, "spec": pod("x")["spec"]},
        },
    }
    code, body = conn.json("POST", f"/apis/apps/v1/namespaces/{NS}/deployments", deployment)
    assert_refused(code, body, 422, "spec.replicas")


def _deployment(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod("x")["spec"]},
            **spec,
        },
    }


EXEC_PROBE = {"exec": {"command": ["true"]}}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # One such Deployment made the controller raise Requeue(2**62), and every worker thread died.
        pytest.param("/apis/apps/v1/namespaces/hostile/deployments", _deployment("far", progressDeadlineSeconds=2**62),
                     "spec.progressDeadlineSeconds", id="progressDeadlineSeconds"),
        *(
            pytest.param(PODS, pod(f"probe-{n}", livenessProbe={**EXEC_PROBE, field: 2**31}),
                         f"spec.containers[0].livenessProbe.{field}", id=field)
            for n, field in enumerate(["initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold"])
        ),
        pytest.param(PODS, {**pod("deadline"), "spec": {**pod("deadline")["spec"], "activeDeadlineSeconds": 2**31}},
                     "spec.activeDeadlineSeconds", id="activeDeadlineSeconds"),
        pytest.param(PODS, {**pod("prio"), "spec": {**pod("prio")["spec"], "priority": -(2**31) - 1}},
                     "spec.priority", id="priority"),
    ],
)  # fmt: skip
def test_an_int32_field_past_int32_is_a_422_naming_it(conn: KeepAlive, path: str, body: dict[str, Any], field: str) -> None:
    before = conn.revision()
    code, answer = conn.json("POST", path, body)
    assert_refused(code, answer, 422, field)
    assert conn.revision() == before


def test_int64_seconds_keep_their_range(conn: KeepAlive) -> None:
    # Kubernetes types these int64: 2**62 is valid, and the controllers and the agent clamp their waits.
    spec = {**pod("x")["spec"], "terminationGracePeriodSeconds": 2**62,
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2**62}]}  # fmt: skip
    code, answer = conn.json("POST", PODS, {**pod(f"int64-{uuid.uuid4().hex[:8]}"), "spec": spec})
    assert code == 201, answer
    assert answer["spec"]["tolerations"][0]["tolerationSeconds"] == 2**62


# -- 2. requests that answered 500 ----------------------------------------------------------------


def _created(conn: KeepAlive, name: str) -> dict[str, Any]:
    code, body = conn.json("POST", PODS, pod(name))
    assert code == 201, body
    return dict(body)


@pytest.mark.parametrize(
    ("method", "body", "content_type", "expected"),
    [
        pytest.param("POST", {**pod("x"), "apiVersion": []}, "application/json", 400, id="apiVersion-list"),
        pytest.param("POST", {**pod("x"), "kind": {"a": 1}}, "application/json", 400, id="kind-object"),
        pytest.param(
            "POST", {**pod("x"), "metadata": {"name": "Not_Valid", "generateName": 5}}, "application/json", 422,
            id="bad-name-and-generateName",
        ),
        pytest.param(
            "POST", {**pod("x"), "metadata": {"name": ["a"], "generateName": "g-"}}, "application/json", 422,
            id="name-list-with-generateName",
        ),
        pytest.param(
            "POST", b"apiVersion: v1\nkind: Pod\nmetadata: {name: big-int}\nspec:\n  containers:\n"
            b"  - {name: a, image: b, ports: [{containerPort: 123456789012345678901234567890}]}\n",
            "application/yaml", 400, id="yaml-int-over-64-bits",
        ),
        pytest.param(
            "POST", b"apiVersion: v1\nkind: Pod\nmetadata: {name: huge-int}\nx: " + b"9" * 5000 + b"\n",
            "application/yaml", 400, id="yaml-int-of-5000-digits",
        ),
        pytest.param("POST", b'metadata: {name: s}\nx: "\\ud800"\n', "application/yaml", 400, id="yaml-lone-surrogate"),
        pytest.param("POST", b'{"metadata": {"name": "s"}, "x": "\\ud800"}', "application/json", 400, id="json-lone-surrogate"),
        pytest.param("POST", b'{"metadata": {"name": "s"}, "x": "\xed\xa0\x80"}', "application/json", 400, id="json-utf8-surrogate"),
        pytest.param("POST", b"metadata: {name: t}\nx: 2026-12-01\ny: !!binary aGk=\n", "application/yaml", 400, id="yaml-binary"),
        pytest.param("POST", b"metadata: {name: n}\nx: .nan\n", "application/yaml", 400, id="yaml-nan"),
        pytest.param("POST", b"metadata: {name: k}\n1: 2\n", "application/yaml", 400, id="yaml-integer-key"),
        pytest.param("POST", b'{"metadata": {"name": "d"}, "x": ' + b"[" * 600 + b"]" * 600 + b"}", "application/json", 400, id="json-deep"),
        pytest.param("POST", b"a:\n" + b"".join(b"  " * n + b"- \n" for n in range(1, 1200)), "application/yaml", 400, id="yaml-deep"),
        pytest.param("POST", b"\xff\xfe\x00garbage", "application/yaml", 400, id="yaml-not-utf8"),
    ],
)
def test_a_request_that_answered_500_is_a_4xx_status(
    conn: KeepAlive, method: str, body: Any, content_type: str, expected: int
) -> None:
    before = conn.revision()
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    code, answer = conn.send(method, PODS, raw, content_type)
    assert_refused(code, answer, expected)
    assert conn.revision() == before


@pytest.mark.parametrize(
    ("change", "expected", "field"),
    [
        # kube-apiserver's checkName: a PUT's body names its object, else "the name of the object () does not match".
        pytest.param({"metadata": None}, 400, "metadata.name", id="metadata-null"),
        pytest.param({"metadata": {"name": "another"}}, 400, "metadata.name", id="name-mismatch"),
        pytest.param({"spec": [None]}, 422, "spec", id="spec-list"),
        pytest.param({"spec": {"containers": True}}, 422, "spec.containers", id="containers-true"),
        pytest.param(
            {"spec": {"containers": [{"name": "app", "image": "busybox:1", "resources": {"limits": {"cpu": None}}}]}},
            422, "spec.containers[0].resources.limits.cpu", id="cpu-null",
        ),
    ],
)
def test_a_put_of_a_malformed_pod_is_a_4xx_status(
    conn: KeepAlive, change: dict[str, Any], expected: int, field: str | None
) -> None:
    name = f"put-{uuid.uuid4().hex[:8]}"
    stored = _created(conn, name)
    before = conn.revision()
    code, answer = conn.json("PUT", f"{PODS}/{name}", {**stored, **change})
    assert_refused(code, answer, expected, field)
    assert conn.revision() == before


@pytest.mark.parametrize(
    ("content_type", "patch"),
    [
        pytest.param("application/merge-patch+json", {"metadata": None}, id="merge-metadata-null"),
        pytest.param("application/merge-patch+json", {"metadata": {"name": "another"}}, id="merge-rename"),
        pytest.param("application/json-patch+json", [{"op": "remove", "path": "/metadata/name"}], id="json-patch-remove-name"),
    ],
)
def test_a_patch_that_unnames_or_renames_the_object_is_a_400_naming_metadata_name(
    conn: KeepAlive, content_type: str, patch: Any
) -> None:
    name = f"rename-{uuid.uuid4().hex[:8]}"
    _created(conn, name)
    before = conn.revision()
    code, answer = conn.json("PATCH", f"{PODS}/{name}", patch, content_type)
    assert_refused(code, answer, 400, "metadata.name")
    assert conn.revision() == before


@pytest.mark.parametrize(
    ("content_type", "patch"),
    [
        pytest.param("application/merge-patch+json", {"spec": 5}, id="merge-spec-number"),
        pytest.param("application/strategic-merge-patch+json", {"spec": {"containers": [{"name": ["x"]}]}}, id="strategic-list-key"),
        pytest.param("application/json-patch+json", [{"op": "add", "path": 5, "value": 1}], id="json-patch-path-number"),
        pytest.param("application/json-patch+json", [{"op": ["add"], "path": "/x", "value": 1}], id="json-patch-op-list"),
        pytest.param("application/json-patch+json", [{"op": "add", "path": "/spec/containers/" + "9" * 5000, "value": 1}], id="json-patch-huge-index"),
        pytest.param(
            "application/json-patch+json",
            # Each copy doubles the pod: 30 of them would make gigabytes.
            [{"op": "add", "path": "/metadata/annotations", "value": {"a": "x" * 1000}}]
            + [{"op": "copy", "from": "/metadata", "path": f"/metadata/m{n}"} for n in range(30)],
            id="json-patch-copy-bomb",
        ),
    ],
)
def test_a_malformed_patch_is_a_4xx_status(conn: KeepAlive, content_type: str, patch: Any) -> None:
    name = f"patch-{uuid.uuid4().hex[:8]}"
    _created(conn, name)
    before = conn.revision()
    code, answer = conn.json("PATCH", f"{PODS}/{name}", patch, content_type)
    assert 400 <= code < 500, answer
    assert_refused(code, answer, code)
    assert conn.revision() == before


def test_a_huge_grace_period_on_a_bound_pod_ends_at_the_last_rfc3339_second(conn: KeepAlive) -> None:
    name = f"grace-{uuid.uuid4().hex[:8]}"
    _created(conn, name)
    code, body = conn.json("POST", f"{PODS}/{name}/binding", {"target": {"kind": "Node", "name": "node-x"}})
    assert code == 201, body
    code, body = conn.json("DELETE", f"{PODS}/{name}", {"gracePeriodSeconds": 2**62})
    assert code == 200, body
    assert body["metadata"]["deletionTimestamp"] == "9999-12-31T23:59:59Z"


# -- 3. the YAML alias bomb (CVE-2019-11253) -----------------------------------------------------

ALIAS_BOMB = b"""apiVersion: v1
kind: Pod
metadata: {name: bomb}
spec:
  containers: [{name: a, image: busybox:1}]
lol:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
"""


def test_a_yaml_alias_bomb_is_refused_and_stores_nothing(conn: KeepAlive) -> None:
    assert len(ALIAS_BOMB) < 500  # it stands for some 4.5 MiB
    before = conn.revision()
    code, body = conn.send("POST", PODS, ALIAS_BOMB, "application/yaml")
    assert_refused(code, body, 400)
    assert "aliases expanded" in body["message"]
    assert conn.revision() == before
    code, _ = conn.send("GET", f"{PODS}/bomb")
    assert code == 404


def test_yaml_with_a_few_aliases_is_still_accepted(conn: KeepAlive) -> None:
    doc = b"""apiVersion: v1
kind: Pod
metadata: {name: anchors, labels: &labels {app: web}}
spec:
  containers: [{name: a, image: busybox:1, env: &env [{name: A, value: "1"}]}, {name: b, image: busybox:1, env: *env}]
  nodeSelector: *labels
"""
    code, body = conn.send("POST", PODS, doc, "application/yaml")
    assert code == 201, body
    assert body["spec"]["containers"][1]["env"] == [{"name": "A", "value": "1"}]


# -- 4. subPath stays inside the volume ----------------------------------------------------------


@pytest.mark.parametrize(
    ("sub_path", "message"),
    [
        pytest.param("/etc", "must be a relative path", id="absolute"),
        pytest.param("../../../../tmp/x", "must not contain '..'", id="dot-dot"),
        pytest.param("a/../../b", "must not contain '..'", id="dot-dot-inside"),
    ],
)
def test_a_sub_path_out_of_the_volume_is_a_422(conn: KeepAlive, sub_path: str, message: str) -> None:
    body = pod("sub-path", volumeMounts=[{"name": "data", "mountPath": "/data", "subPath": sub_path}])
    body["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    code, answer = conn.json("POST", PODS, body)
    assert_refused(code, answer, 422, "spec.containers[0].volumeMounts[0].subPath")
    assert message in answer["message"]


def test_a_sub_path_inside_the_volume_is_accepted(conn: KeepAlive) -> None:
    body = pod("sub-path-ok", volumeMounts=[{"name": "data", "mountPath": "/data", "subPath": "logs/..x/a"}])
    body["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    code, answer = conn.json("POST", PODS, body)
    assert code == 201, answer


# -- 6. a non-ASCII bearer token -------------------------------------------------------------------


def test_a_non_ascii_bearer_token_is_a_401_status(conn: KeepAlive) -> None:
    # Header bytes are latin-1 on the wire; "é" is one of them.
    code, body = conn.send("GET", PODS, headers={"Authorization": "Bearer caf\u00e9"})
    assert_refused(code, body, 401)
    code, _ = conn.send("GET", PODS)
    assert code == 200


# -- 7. nothing after the commit fails the answer ---------------------------------------------------


def test_a_write_with_a_control_character_in_an_unknown_field_gets_its_answer_and_a_clean_warning(
    conn: KeepAlive,
) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "warned"}, "data": {"a": "1"}, "bad\nfield": 1, "caf\u00e9": 2}
    code, answer = conn.json("POST", CONFIGMAPS, body)
    assert code == 201, answer
    assert conn.last_headers is not None
    warnings = conn.last_headers.get_all("Warning")
    assert warnings == ['299 - "unknown field \\"bad\\\\x0afield\\""', '299 - "unknown field \\"caf\\\\xe9\\""']
    code, stored = conn.send("GET", f"{CONFIGMAPS}/warned")
    assert code == 200 and stored["bad\nfield"] == 1


def test_an_eviction_refused_by_its_preconditions_stores_nothing(conn: KeepAlive) -> None:
    name = f"evict-{uuid.uuid4().hex[:8]}"
    _created(conn, name)
    before = conn.revision()
    eviction = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": name},
        "deleteOptions": {"preconditions": {"uid": "not-the-pods-uid"}},
    }
    code, body = conn.json("POST", f"{PODS}/{name}/eviction", eviction)
    assert_refused(code, body, 409)
    assert conn.revision() == before
    code, stored = conn.send("GET", f"{PODS}/{name}")
    assert code == 200 and "DisruptionTarget" not in [c["type"] for c in stored["status"].get("conditions") or []]
