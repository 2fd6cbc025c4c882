"""RBAC rule matching, request attributes, the RBAC index and escalation coverage, as Kubernetes has them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kajitori.api.registry import by_path
from master.apiserver.authn import AUTHENTICATED, MASTERS, NODES, UserInfo
from master.apiserver.authz import Authorizer
from master.apiserver.authz.attributes import Attributes, forbidden_message, request_attributes
from master.apiserver.authz.rules import rule_allows, uncovered
from master.apiserver.resources import ResourceAPI
from master.bootstrap import ensure_defaults, ensure_rbac_defaults
from master.store import SQLiteStore

ALICE = UserInfo("alice", ("devs", AUTHENTICATED))


def attrs(verb: str, resource: str = "", *, sub: str = "", group: str = "", ns: str = "", name: str = "", path: str = "") -> Attributes:
    if path:
        return Attributes(ALICE, verb, False, path=path)
    return Attributes(ALICE, verb, True, api_group=group, namespace=ns, resource=resource, subresource=sub, name=name)


@pytest.mark.parametrize(
    ("rule", "request_", "allowed"),
    [
        pytest.param({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, attrs("get", "pods"), True, id="exact"),
        pytest.param({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, attrs("list", "pods"), False, id="other-verb"),
        pytest.param({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, attrs("delete", "deployments", group="apps"), True, id="stars"),
        pytest.param({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, attrs("get", "pods", group="apps"), False, id="other-group"),
        pytest.param({"verbs": ["create"], "apiGroups": [""], "resources": ["pods"]}, attrs("create", "pods", sub="exec"), False, id="sub-needs-naming"),
        pytest.param({"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]}, attrs("create", "pods", sub="exec"), True, id="sub-named"),
        pytest.param({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["*/scale"]}, attrs("get", "deployments", sub="scale", group="apps"), True, id="star-slash-sub"),
        pytest.param({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["web"]}, attrs("get", "pods", name="web"), True, id="named"),
        pytest.param({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["web"]}, attrs("get", "pods", name="db"), False, id="other-name"),
        pytest.param({"verbs": ["list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["web"]}, attrs("list", "pods"), False, id="names-never-list"),
        pytest.param({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, attrs("get", path="/healthz"), True, id="url"),
        pytest.param({"verbs": ["get"], "nonResourceURLs": ["/apis/*"]}, attrs("get", path="/apis/apps/v1"), True, id="url-prefix"),
        pytest.param({"verbs": ["get"], "nonResourceURLs": ["/apis/*"]}, attrs("get", path="/api"), False, id="url-other"),
        pytest.param({"verbs": ["get"], "nonResourceURLs": ["*"]}, attrs("get", "pods"), False, id="urls-never-resources"),
    ],
)
def test_a_rule_allows_what_kubernetes_allows(rule: dict[str, Any], request_: Attributes, allowed: bool) -> None:
    assert rule_allows(rule, request_) is allowed


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        pytest.param("GET", "/api/v1/namespaces/ns/pods", "", ("list", "", "ns", "pods", "", ""), id="list"),
        pytest.param("GET", "/api/v1/namespaces/ns/pods", "watch=true", ("watch", "", "ns", "pods", "", ""), id="watch-query"),
        pytest.param("GET", "/api/v1/watch/namespaces/ns/pods/web", "", ("watch", "", "ns", "pods", "", "web"), id="watch-path"),
        pytest.param("GET", "/api/v1/namespaces/ns/pods/web/log", "", ("get", "", "ns", "pods", "log", "web"), id="log"),
        pytest.param("GET", "/api/v1/namespaces/ns/pods/web/exec", "command=ls", ("create", "", "ns", "pods", "exec", "web"), id="exec-websocket"),
        pytest.param("POST", "/api/v1/namespaces/ns/pods/web/portforward", "", ("create", "", "ns", "pods", "portforward", "web"), id="portforward"),
        pytest.param("DELETE", "/apis/apps/v1/namespaces/ns/deployments", "", ("deletecollection", "apps", "ns", "deployments", "", ""), id="deletecollection"),
        pytest.param("PUT", "/apis/apps/v1/namespaces/ns/deployments/d/scale", "", ("update", "apps", "ns", "deployments", "scale", "d"), id="scale"),
        pytest.param("GET", "/api/v1/namespaces/ns", "", ("get", "", "ns", "namespaces", "", "ns"), id="namespace"),
        pytest.param("PUT", "/api/v1/namespaces/ns/finalize", "", ("update", "", "ns", "namespaces", "finalize", "ns"), id="namespace-finalize"),
        pytest.param("PATCH", "/api/v1/nodes/n1/status", "", ("patch", "", "", "nodes", "status", "n1"), id="node-status"),
        pytest.param("GET", "/api/v1/nodes/n1/proxy/explain/service/ns/web", "", ("get", "", "", "nodes", "proxy", "n1"), id="node-proxy-path"),
    ],
)
def test_request_attributes_read_the_path_as_kube_apiserver(method: str, path: str, query: str, expected: tuple[str, ...]) -> None:
    got = request_attributes(ALICE, method, path, query)
    assert got.resource_request
    assert (got.verb, got.api_group, got.namespace, got.resource, got.subresource, got.name) == expected


def test_non_resource_paths_are_urls() -> None:
    for path in ("/api", "/apis", "/apis/apps", "/openapi/v2", "/version"):
        got = request_attributes(ALICE, "GET", path)
        assert not got.resource_request and got.path == path and got.verb == "get"


def test_refusals_are_in_kubernetes_words() -> None:
    assert forbidden_message(attrs("delete", "pods", ns="ns", name="web")) == (
        'pods "web" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "ns"'
    )
    assert forbidden_message(attrs("list", "deployments", group="apps")) == (
        'deployments.apps is forbidden: User "alice" cannot list resource "deployments" in API group "apps" at the cluster scope'
    )
    assert forbidden_message(attrs("create", "pods", sub="exec", ns="ns", name="web")) == (
        'pods "web" is forbidden: User "alice" cannot create resource "pods/exec" in API group "" in the namespace "ns"'
    )
    assert forbidden_message(attrs("get", path="/metrics")) == 'forbidden: User "alice" cannot get path "/metrics"'


def test_coverage_breaks_rules_down_and_stars_cover_only_stars() -> None:
    owner = [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "services"]}]
    assert uncovered(owner, [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["web"]}]) == []
    assert uncovered(owner, [{"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["pods"]}]) == [
        {"verbs": ["delete"], "apiGroups": [""], "resources": ["pods"]}
    ]
    assert uncovered(owner, [{"verbs": ["get"], "apiGroups": [""], "resources": ["*"]}]) != []
    assert uncovered([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}], [{"verbs": ["get"], "apiGroups": [""], "resources": ["*"]}]) == []
    named = [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["web"]}]
    assert uncovered(named, [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]) != []


@pytest.fixture
def authorizer(tmp_path: Path) -> Any:
    store = SQLiteStore(tmp_path / "state.db")
    api = ResourceAPI(store)
    ensure_defaults(api, advertise_ip="127.0.0.1", port=6443)
    ensure_rbac_defaults(api)
    authz = Authorizer(store)
    yield api, authz
    authz.close()
    store.close()


def test_bindings_and_aggregation_are_seen_as_soon_as_they_are_written(authorizer: Any) -> None:
    api, authz = authorizer
    rbac = "rbac.authorization.k8s.io"
    get_pods = attrs("get", "pods", ns="team")
    assert not authz.allows(get_pods)
    api.create(by_path("", "v1", "namespaces"), None, {"metadata": {"name": "team"}})
    api.create(
        by_path(rbac, "v1", "rolebindings"),
        "team",
        {"metadata": {"name": "devs-view"}, "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "Group", "name": "devs"}]},
    )
    assert authz.allows(get_pods)
    assert not authz.allows(attrs("delete", "pods", ns="team"))
    assert not authz.allows(attrs("get", "pods", ns="other"))
    assert not authz.allows(attrs("get", "secrets", ns="team"))  # view never reads Secrets
    # A ClusterRole labelled to aggregate into view extends it at once.
    api.create(
        by_path(rbac, "v1", "clusterroles"),
        None,
        {
            "metadata": {"name": "widgets-view", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
            "rules": [{"verbs": ["get"], "apiGroups": ["example.com"], "resources": ["widgets"]}],
        },
    )
    assert authz.allows(attrs("get", "widgets", group="example.com", ns="team"))


def test_masters_discovery_and_nodes(authorizer: Any) -> None:
    _, authz = authorizer
    admin = UserInfo("admin", (MASTERS, AUTHENTICATED))
    assert authz.allows(Attributes(admin, "delete", True, resource="nodes", name="n1"))
    assert authz.allows(attrs("get", path="/apis/apps/v1"))  # system:discovery for every authenticated user
    assert authz.allows(attrs("create", "selfsubjectaccessreviews", group="authorization.k8s.io"))  # system:basic-user
    node = UserInfo("system:node:n1", (NODES, AUTHENTICATED))
    assert authz.allows(Attributes(node, "list", True, resource="pods"))
    assert authz.allows(Attributes(node, "patch", True, resource="nodes", subresource="status", name="n1"))
    assert not authz.allows(Attributes(node, "patch", True, resource="nodes", subresource="status", name="n2"))
    assert not authz.allows(Attributes(node, "create", True, resource="pods", namespace="default"))
    assert not authz.allows(Attributes(node, "get", True, resource="secrets", namespace="default", name="s"))


def test_edit_holds_what_view_holds_and_admin_what_edit_holds(authorizer: Any) -> None:
    api, authz = authorizer
    rbac = "rbac.authorization.k8s.io"
    api.create(by_path("", "v1", "namespaces"), None, {"metadata": {"name": "team"}})
    for role in ("edit", "admin"):
        api.create(
            by_path(rbac, "v1", "rolebindings"),
            "team",
            {"metadata": {"name": role}, "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": role}, "subjects": [{"kind": "User", "name": f"{role}-user"}]},
        )
    for role in ("edit", "admin"):
        user = UserInfo(f"{role}-user", (AUTHENTICATED,))
        assert authz.allows(Attributes(user, "list", True, namespace="team", resource="pods"))  # from view
        assert authz.allows(Attributes(user, "get", True, namespace="team", resource="pods", subresource="log"))
        assert authz.allows(Attributes(user, "delete", True, namespace="team", resource="pods", name="p"))  # from edit
    assert authz.allows(Attributes(UserInfo("admin-user", (AUTHENTICATED,)), "create", True, api_group=rbac, namespace="team", resource="roles"))
    assert not authz.allows(Attributes(UserInfo("edit-user", (AUTHENTICATED,)), "create", True, api_group=rbac, namespace="team", resource="roles"))


def test_default_roles_still_marked_autoupdate_come_back_to_this_versions_rules(authorizer: Any) -> None:
    api, _ = authorizer
    roles = by_path("rbac.authorization.k8s.io", "v1", "clusterroles")
    stored = api.get(roles, None, "system:node-proxier").obj
    api.update(roles, None, "system:node-proxier", {**stored, "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["nodes"]}]})
    mine = api.get(roles, None, "view").obj  # an aggregated role: the controller's
    ensure_rbac_defaults(api)
    assert any("endpoints" in r.get("resources", []) for r in api.get(roles, None, "system:node-proxier").obj["rules"])
    assert api.get(roles, None, "view").obj["metadata"]["resourceVersion"] == mine["metadata"]["resourceVersion"]
    # Someone who takes a default role over sets autoupdate to "false"; it is theirs from then on.
    stored = api.get(roles, None, "system:node-proxier").obj
    annotations = {**stored["metadata"]["annotations"], "rbac.authorization.kubernetes.io/autoupdate": "false"}
    api.update(roles, None, "system:node-proxier", {**stored, "metadata": {**stored["metadata"], "annotations": annotations}, "rules": []})
    ensure_rbac_defaults(api)
    assert api.get(roles, None, "system:node-proxier").obj.get("rules") in (None, [])


def test_the_shared_node_tokens_role_and_binding_of_an_older_version_are_removed_at_start(authorizer: Any) -> None:
    api, authz = authorizer
    roles, bindings = by_path("rbac.authorization.k8s.io", "v1", "clusterroles"), by_path("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
    group, name = "kajitori:legacy-node-token", "kajitori:legacy-node"
    autoupdate = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    # What a master before per-node certificates bootstrapped (its role, reduced to one rule).
    api.create(roles, None, {"metadata": {"name": name, "annotations": autoupdate}, "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]})
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}
    api.create(bindings, None, {"metadata": {"name": name, "annotations": autoupdate}, "roleRef": ref, "subjects": [{"kind": "Group", "name": group}]})
    legacy = Attributes(UserInfo("system:node", (group, AUTHENTICATED)), "get", True, resource="secrets", namespace="default", name="s")
    assert authz.allows(legacy)
    ensure_rbac_defaults(api)
    assert api.store.get(roles.store_key(None, name)) is None and api.store.get(bindings.store_key(None, name)) is None
    assert not authz.allows(legacy)
    # One someone took over (autoupdate "false") is theirs: left as it is.
    api.create(roles, None, {"metadata": {"name": name, "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "false"}}, "rules": []})
    ensure_rbac_defaults(api)
    assert api.store.get(roles.store_key(None, name)) is not None


def test_a_node_gets_the_serviceaccounts_of_its_pods_and_deletes_only_volumes_pinned_to_it(authorizer: Any) -> None:
    api, authz = authorizer
    node = UserInfo("system:node:n1", (NODES, AUTHENTICATED))
    api.create(by_path("", "v1", "serviceaccounts"), "default", {"metadata": {"name": "robot"}})
    api.create(by_path("", "v1", "pods"), "default", {"metadata": {"name": "p"},
               "spec": {"nodeName": "n1", "serviceAccountName": "robot", "containers": [{"name": "c", "image": "i"}]}})  # fmt: skip

    def can(verb: str, resource: str, name: str, sub: str = "", ns: str = "default") -> bool:
        return bool(authz.allows(Attributes(node, verb, True, namespace=ns, resource=resource, subresource=sub, name=name)))

    assert can("get", "serviceaccounts", "robot") and can("create", "serviceaccounts", "robot", sub="token")
    assert not can("get", "serviceaccounts", "other") and not can("create", "serviceaccounts", "other", sub="token")
    assert not can("delete", "serviceaccounts", "robot")

    def volume(name: str, host: str) -> None:
        api.create(by_path("", "v1", "persistentvolumes"), None, {"metadata": {"name": name}, "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "local": {"path": f"/v/{name}"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [host]}]}]}}}})  # fmt: skip

    volume("mine", "n1")
    volume("theirs", "n2")
    assert can("list", "persistentvolumes", "", ns="") and can("get", "persistentvolumes", "theirs", ns="")
    assert can("delete", "persistentvolumes", "mine", ns="")
    assert not can("delete", "persistentvolumes", "theirs", ns="")
