"""Strategic merge patch: each merge key of patch_meta and each directive, as Kubernetes applies them."""

from __future__ import annotations

from typing import Any

import pytest

from master.apiserver.patch import PatchError, apply_patch
from master.apiserver.strategic_merge import strategic_merge_patch

SMP = "application/strategic-merge-patch+json"


def c(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, **fields}


def pod(**spec: Any) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def deployment(**pod_spec: Any) -> dict[str, Any]:
    return {"kind": "Deployment", "spec": {"template": {"spec": pod_spec}}}


CASES = [
    # merge keys: an item the patch names merges with the live one of its key; a new one
    # lands before the items the patch did not name (Kubernetes' order)
    pytest.param(
        {"kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": 80}]}},
        {"spec": {"ports": [{"port": 81, "targetPort": 81}]}},
        {
            "kind": "Service",
            "spec": {"ports": [{"port": 81, "targetPort": 81}, {"port": 80, "targetPort": 80}]},
        },
        id="service-ports-by-port",
    ),
    pytest.param(
        {"kind": "Service", "spec": {"ports": [{"port": 80, "name": "a"}, {"port": 90, "name": "b"}]}},
        {"spec": {"ports": [{"port": 90, "targetPort": 9090}]}},
        {
            "kind": "Service",
            "spec": {"ports": [{"port": 80, "name": "a"}, {"port": 90, "name": "b", "targetPort": 9090}]},
        },
        id="service-port-merged-in-place",
    ),
    pytest.param(
        pod(containers=[c("a", ports=[{"containerPort": 80, "name": "http"}])]),
        {
            "spec": {
                "containers": [
                    c("a", ports=[{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 81}])
                ]
            }
        },
        pod(
            containers=[
                c(
                    "a",
                    ports=[{"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 81}],
                )
            ]
        ),
        id="container-ports-by-containerPort",
    ),
    pytest.param(
        deployment(containers=[c("web", env=[c("A", value="1"), c("B", value="2")]), c("side")]),
        {
            "spec": {
                "template": {"spec": {"containers": [c("web", env=[c("C", value="3"), c("B", value="9")])]}}
            }
        },
        deployment(
            containers=[c("web", env=[c("C", value="3"), c("A", value="1"), c("B", value="9")]), c("side")]
        ),
        id="deployment-env-by-name",
    ),
    pytest.param(
        pod(
            containers=[
                c(
                    "a",
                    volumeMounts=[{"mountPath": "/x", "name": "v"}],
                    volumeDevices=[{"devicePath": "/d", "name": "v"}],
                )
            ]
        ),
        {
            "spec": {
                "containers": [
                    c(
                        "a",
                        volumeMounts=[{"mountPath": "/x", "readOnly": True}],
                        volumeDevices=[{"devicePath": "/e", "name": "w"}],
                    )
                ]
            }
        },
        pod(
            containers=[
                c(
                    "a",
                    volumeMounts=[{"mountPath": "/x", "name": "v", "readOnly": True}],
                    volumeDevices=[{"devicePath": "/e", "name": "w"}, {"devicePath": "/d", "name": "v"}],
                )
            ]
        ),
        id="volumeMounts-by-mountPath-volumeDevices-by-devicePath",
    ),
    pytest.param(
        pod(
            initContainers=[c("i", image="a")],
            ephemeralContainers=[c("e", image="a")],
            volumes=[c("v", emptyDir={})],
            imagePullSecrets=[c("s")],
        ),
        {
            "spec": {
                "initContainers": [c("i", image="b")],
                "ephemeralContainers": [c("e", image="b")],
                "volumes": [c("w")],
                "imagePullSecrets": [c("t")],
            }
        },
        pod(
            initContainers=[c("i", image="b")],
            ephemeralContainers=[c("e", image="b")],
            volumes=[c("w"), c("v", emptyDir={})],
            imagePullSecrets=[c("t"), c("s")],
        ),
        id="podspec-lists-by-name",
    ),
    pytest.param(
        pod(
            hostAliases=[{"ip": "10.0.0.1", "hostnames": ["a"]}],
            tolerations=[{"key": "k", "operator": "Exists"}],
        ),
        {
            "spec": {
                "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["b"]}],
                "tolerations": [{"key": "j", "operator": "Exists"}],
            }
        },
        pod(
            hostAliases=[{"ip": "10.0.0.1", "hostnames": ["b"]}],
            tolerations=[{"key": "j", "operator": "Exists"}],
        ),
        id="hostAliases-by-ip-tolerations-atomic",
    ),
    pytest.param(
        {
            "kind": "Node",
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "False"},
                    {"type": "DiskPressure", "status": "False"},
                ],
                "addresses": [{"type": "InternalIP", "address": "1.1.1.1"}],
            },
        },
        {
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "Hostname", "address": "n"}],
            }
        },
        {
            "kind": "Node",
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "DiskPressure", "status": "False"},
                ],
                "addresses": [
                    {"type": "Hostname", "address": "n"},
                    {"type": "InternalIP", "address": "1.1.1.1"},
                ],
            },
        },
        id="node-conditions-and-addresses-by-type",
    ),
    pytest.param(
        {"kind": "Pod", "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
        {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        {"kind": "Pod", "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        id="pod-conditions-by-type",
    ),
    pytest.param(
        {
            "kind": "ConfigMap",
            "metadata": {"ownerReferences": [{"uid": "1", "name": "a"}], "finalizers": ["x"]},
        },
        {"metadata": {"ownerReferences": [{"uid": "1", "controller": True}], "finalizers": ["y", "x"]}},
        {
            "kind": "ConfigMap",
            "metadata": {
                "ownerReferences": [{"uid": "1", "name": "a", "controller": True}],
                "finalizers": ["y", "x"],
            },
        },
        id="ownerReferences-by-uid-finalizers-as-a-set",
    ),
    pytest.param(
        {"kind": "Endpoints", "subsets": [{"addresses": [{"ip": "1.1.1.1"}]}]},
        {"subsets": [{"addresses": [{"ip": "2.2.2.2"}]}]},
        {"kind": "Endpoints", "subsets": [{"addresses": [{"ip": "2.2.2.2"}]}]},
        id="a-list-without-strategy-is-replaced",
    ),
    pytest.param(
        {
            "kind": "CronJob",
            "spec": {
                "jobTemplate": {"spec": {"template": {"spec": {"containers": [c("a", image="1"), c("b")]}}}}
            },
        },
        {"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [c("a", image="2")]}}}}}},
        {
            "kind": "CronJob",
            "spec": {
                "jobTemplate": {"spec": {"template": {"spec": {"containers": [c("a", image="2"), c("b")]}}}}
            },
        },
        id="cronjob-template-containers-by-name",
    ),
    # directives
    pytest.param(
        pod(containers=[c("a"), c("b")]),
        {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}},
        pod(containers=[c("b")]),
        id="patch-delete-a-list-item",
    ),
    pytest.param(
        pod(containers=[c("a"), c("b")]),
        {"spec": {"containers": [{"$patch": "replace"}, c("z", image="i")]}},
        pod(containers=[c("z", image="i")]),
        id="patch-replace-a-list",
    ),
    pytest.param(
        {"kind": "Pod", "metadata": {"labels": {"a": "1", "b": "2"}}},
        {"metadata": {"labels": {"$patch": "replace", "c": "3"}}},
        {"kind": "Pod", "metadata": {"labels": {"c": "3"}}},
        id="patch-replace-a-map",
    ),
    pytest.param(
        {"kind": "Pod", "metadata": {"labels": {"a": "1"}, "name": "p"}},
        {"metadata": {"labels": {"$patch": "delete"}}},
        {"kind": "Pod", "metadata": {"labels": {}, "name": "p"}},
        id="patch-delete-a-map",
    ),
    pytest.param(
        {"kind": "Pod", "metadata": {"labels": {"a": "1"}}},
        {"metadata": {"$patch": "merge", "labels": {"b": "2", "a": None}}},
        {"kind": "Pod", "metadata": {"labels": {"b": "2"}}},
        id="patch-merge-and-null-deletes",
    ),
    pytest.param(
        {
            "kind": "Deployment",
            "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}},
        },
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        {"kind": "Deployment", "spec": {"strategy": {"type": "Recreate"}}},
        id="retainKeys-drops-unlisted-keys",
    ),
    pytest.param(
        pod(volumes=[c("v", emptyDir={})]),
        {
            "spec": {
                "volumes": [{"name": "v", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/x"}}]
            }
        },
        pod(volumes=[c("v", hostPath={"path": "/x"})]),
        id="retainKeys-in-a-list-item",
    ),
    pytest.param(
        pod(containers=[c("a"), c("b"), c("c")]),
        {"spec": {"$setElementOrder/containers": [c("c"), c("a"), c("b")]}},
        pod(containers=[c("c"), c("a"), c("b")]),
        id="setElementOrder-reorders",
    ),
    pytest.param(
        pod(containers=[c("a"), c("b")]),
        {
            "spec": {
                "$setElementOrder/containers": [c("a"), c("new"), c("b")],
                "containers": [c("new", image="i")],
            }
        },
        pod(containers=[c("a"), c("new", image="i"), c("b")]),
        id="setElementOrder-places-a-new-item",
    ),
    pytest.param(
        {"kind": "Pod", "metadata": {"finalizers": ["x", "y", "z"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["y"]}},
        {"kind": "Pod", "metadata": {"finalizers": ["x", "z"]}},
        id="deleteFromPrimitiveList",
    ),
    pytest.param(
        {"kind": "Pod", "metadata": {"finalizers": ["x", "y"]}},
        {
            "metadata": {
                "$setElementOrder/finalizers": ["y", "w"],
                "$deleteFromPrimitiveList/finalizers": ["x"],
                "finalizers": ["w"],
            }
        },
        {"kind": "Pod", "metadata": {"finalizers": ["y", "w"]}},
        id="setElementOrder-and-deleteFromPrimitiveList-of-scalars",
    ),
    pytest.param(
        pod(),
        {
            "spec": {
                "containers": [c("a", env=[{"name": "E", "$patch": "delete"}], image=None)],
                "$retainKeys": ["containers"],
            }
        },
        pod(containers=[c("a", env=[])]),
        id="a-new-value-is-stored-without-directives-or-nulls",
    ),
]


@pytest.mark.parametrize(("original", "patch", "expected"), CASES)
def test_strategic_merge(original: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]) -> None:
    before = repr(original)
    assert apply_patch(SMP, original, patch) == expected
    assert repr(original) == before  # the input is untouched


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param(
            {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}},
            id="retainKeys-missing-a-patched-key",
        ),
        pytest.param({"spec": {"strategy": {"$retainKeys": "type"}}}, id="retainKeys-not-a-list"),
        pytest.param({"metadata": {"labels": {"$patch": "explode"}}}, id="unknown-map-directive"),
        pytest.param(
            {"spec": {"template": {"spec": {"containers": [{"name": "a", "$patch": "explode"}]}}}},
            id="unknown-list-directive",
        ),
        pytest.param({"spec": {"$setElementOrder/x": "a"}}, id="setElementOrder-not-a-list"),
    ],
)
def test_bad_directives_are_patch_errors(patch: dict[str, Any]) -> None:
    live = {
        "kind": "Deployment",
        "metadata": {"labels": {"a": "1"}},
        "spec": {"strategy": {"type": "Recreate"}, "template": {"spec": {"containers": [c("a")]}}},
    }
    with pytest.raises(PatchError):
        apply_patch(SMP, live, patch)


def test_the_kind_can_be_named_when_the_object_does_not_carry_it() -> None:
    out = strategic_merge_patch(
        {"spec": {"ports": [{"port": 1}]}}, {"spec": {"ports": [{"port": 2}]}}, kind="Service"
    )
    assert out == {"spec": {"ports": [{"port": 2}, {"port": 1}]}}
