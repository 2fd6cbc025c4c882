"""bench/api/rbac.py: what authorization costs the API server, RBAC on and off in one run.

Two masters on SQLite, one with ``--authorization-mode AlwaysAllow`` and one with the default
``Node,RBAC``, each driven by wrk (creates/s and gets/s, 16 connections) with the token of a
ServiceAccount bound to ``edit`` in the namespace (wrk sends a bearer token, not a client
certificate): an identity outside ``system:masters``, so every request of the RBAC master walks
the Node authorizer and then the RBAC index (its user's and groups' bindings, then their rules).
(Before nodes had their own certificates this ran on the shared node token, which went through
the same two authorizers without the JWT check: figures of before are not comparable one to one.)
Then the time of one access decision in this process (``Authorizer.decide`` on an index of
Kubernetes' defaults plus 500 Roles and RoleBindings): p50/p99 over 20,000 mixed requests,
first asked (the rules walked) and repeated (the index's cache answers).
Prints and writes bench/results/api_rbac.json; the ratios are RBAC / AlwaysAllow.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.api.run import wrk
from bench.common import percentile, write_result
from kajitori.client import ApiClient
from master.apiserver.authn import AUTHENTICATED, NODES, UserInfo
from master.apiserver.authz import Authorizer
from master.apiserver.authz.attributes import Attributes
from master.apiserver.resources import ResourceAPI
from master.bootstrap import ensure_defaults, ensure_rbac_defaults
from master.store import SQLiteStore
from tests.support.master_process import MasterProcess
from tests.support.rbac import bind_cluster_role

ROLES = 500
DECISIONS = 20_000


def service_account_token(admin: ApiClient, namespace: str) -> str:
    """A token of ServiceAccount ``bench`` in ``namespace``, bound to ``edit`` there (TokenRequest, one hour)."""
    admin.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", body={"metadata": {"name": "bench"}})
    bind_cluster_role(admin, namespace, "edit", service_account="bench")
    answer = admin.request(
        "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/bench/token", body={"spec": {"expirationSeconds": 3600}}
    )
    return str(answer["status"]["token"])


def bench_mode(mode: str) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"kajitori-bench-rbac-{mode.replace(',', '-')}-"))
    master = MasterProcess(work / "master", extra_args=["--no-controllers", "--authorization-mode", mode]).start()
    try:
        client = master.client()
        client.request("POST", "/api/v1/namespaces", body={"metadata": {"name": "wrk"}})
        token = service_account_token(client, "wrk")
        creates = wrk(master, "wrk_post.lua", token, "wrk")
        gets = wrk(master, "wrk_get.lua", token, "/api/v1/namespaces/wrk/pods/w1-10")
        client.close()
    finally:
        master.stop()
    print(f"{mode:>11}: creates {creates['per_s']:.0f}/s (p99 {creates['p99_ms']} ms, errors {creates['errors']}), "
          f"gets {gets['per_s']:.0f}/s (p99 {gets['p99_ms']} ms, errors {gets['errors']})")  # fmt: skip
    return {"wrk_creates": creates, "wrk_gets": gets}


def bench_decisions() -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="kajitori-bench-rbac-decide-"))
    store = SQLiteStore(work / "state.db")
    api = ResourceAPI(store)
    ensure_defaults(api, advertise_ip="127.0.0.1", port=6443)
    ensure_rbac_defaults(api)
    rbac = "rbac.authorization.k8s.io"
    from kajitori.api.registry import by_path

    roles, bindings, namespaces = by_path(rbac, "v1", "roles"), by_path(rbac, "v1", "rolebindings"), by_path("", "v1", "namespaces")
    for n in range(10):
        api.create(namespaces, None, {"metadata": {"name": f"team{n}"}})
    for i in range(ROLES):
        ns = f"team{i % 10}"
        rule = {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "configmaps"]}
        api.create(roles, ns, {"metadata": {"name": f"r{i}"}, "rules": [rule]})
        ref = {"apiGroup": rbac, "kind": "Role", "name": f"r{i}"}
        api.create(bindings, ns, {"metadata": {"name": f"b{i}"}, "roleRef": ref, "subjects": [{"kind": "User", "name": f"user{i}"}]})
    authz = Authorizer(store)
    requests = []
    for i in range(DECISIONS):
        user = UserInfo(f"user{i % ROLES}", (AUTHENTICATED,))
        kind = i % 4
        if kind == 0:
            requests.append(Attributes(user, "list", True, namespace=f"team{i % 10}", resource="pods"))  # allowed
        elif kind == 1:
            requests.append(Attributes(user, "delete", True, namespace=f"team{i % 10}", resource="pods", name="x"))  # refused
        elif kind == 2:
            requests.append(Attributes(user, "get", False, path="/apis/apps/v1"))  # discovery
        else:
            node = UserInfo(f"system:node:n{i % 50}", (NODES, AUTHENTICATED))
            requests.append(Attributes(node, "get", True, namespace="team1", resource="secrets", name="s"))  # node graph
    authz.decide(requests[0])  # the first decision builds the index
    cold, warm = [], []
    decisions = authz.rbac.index().decisions
    for attrs in requests:
        decisions.clear()  # a question never asked of this index: the rules are walked
        start = time.perf_counter_ns()
        authz.decide(attrs)
        cold.append((time.perf_counter_ns() - start) / 1000)
    for attrs in requests:  # the same questions again: answered from the index's cache
        start = time.perf_counter_ns()
        authz.decide(attrs)
        warm.append((time.perf_counter_ns() - start) / 1000)
    authz.close()
    store.close()
    result = {
        "n": len(requests),
        "roles": ROLES,
        "first_p50_us": round(percentile(cold, 50), 1),
        "first_p99_us": round(percentile(cold, 99), 1),
        "repeated_p50_us": round(percentile(warm, 50), 1),
        "repeated_p99_us": round(percentile(warm, 99), 1),
    }
    print(
        f"one access decision ({ROLES} Roles and RoleBindings besides the defaults): first asked p50 {result['first_p50_us']} µs, "
        f"p99 {result['first_p99_us']} µs; repeated p50 {result['repeated_p50_us']} µs, p99 {result['repeated_p99_us']} µs"
    )
    return result


def main() -> None:
    figures: dict[str, Any] = {mode: bench_mode(mode) for mode in ("AlwaysAllow", "Node,RBAC")}
    off, on = figures["AlwaysAllow"], figures["Node,RBAC"]
    figures["rbac_over_always_allow"] = {
        "creates_per_s": round(on["wrk_creates"]["per_s"] / off["wrk_creates"]["per_s"], 3),
        "gets_per_s": round(on["wrk_gets"]["per_s"] / off["wrk_gets"]["per_s"], 3),
    }
    print("RBAC / AlwaysAllow:", ", ".join(f"{k} {v}" for k, v in figures["rbac_over_always_allow"].items()))
    figures["decision"] = bench_decisions()
    write_result("api_rbac", figures)


if __name__ == "__main__":
    main()
