"""Discovery lists each kind's singular name, short names and categories as kube-apiserver does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.master.inprocess import api_server

# As `kubectl api-resources` shows them against Kubernetes 1.28: (singular, short names, categories).
KUBERNETES = {
    "v1": {
        "namespaces": ("namespace", ["ns"], None),
        "nodes": ("node", ["no"], None),
        "pods": ("pod", ["po"], ["all"]),
        "services": ("service", ["svc"], ["all"]),
        "endpoints": ("endpoints", ["ep"], None),
        "configmaps": ("configmap", ["cm"], None),
        "secrets": ("secret", [], None),
        "serviceaccounts": ("serviceaccount", ["sa"], None),
        "events": ("event", ["ev"], None),
        "replicationcontrollers": ("replicationcontroller", ["rc"], ["all"]),
        "persistentvolumes": ("persistentvolume", ["pv"], None),
        "persistentvolumeclaims": ("persistentvolumeclaim", ["pvc"], None),
    },
    "coordination.k8s.io/v1": {"leases": ("lease", [], None)},
    "apps/v1": {
        "deployments": ("deployment", ["deploy"], ["all"]),
        "replicasets": ("replicaset", ["rs"], ["all"]),
        "daemonsets": ("daemonset", ["ds"], ["all"]),
        "statefulsets": ("statefulset", ["sts"], ["all"]),
        "controllerrevisions": ("controllerrevision", [], None),
    },
    "storage.k8s.io/v1": {"storageclasses": ("storageclass", ["sc"], None)},
    "batch/v1": {"jobs": ("job", [], ["all"]), "cronjobs": ("cronjob", ["cj"], ["all"])},
    "networking.k8s.io/v1": {"ingresses": ("ingress", ["ing"], None), "ingressclasses": ("ingressclass", [], None)},
}


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with api_server(Path(tmp_path_factory.mktemp("discovery"))) as (client, _):
        yield client


@pytest.mark.parametrize("group_version", list(KUBERNETES))
def test_names_and_categories_match_kubernetes(http: TestClient, group_version: str) -> None:
    path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    listed: list[dict[str, Any]] = http.get(path).json()["resources"]
    top = {r["name"]: (r["singularName"], r["shortNames"], r.get("categories")) for r in listed if "/" not in r["name"]}
    assert top == KUBERNETES[group_version]
