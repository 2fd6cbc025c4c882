"""The aggregation loop writes into an aggregated ClusterRole the rules of the roles its selectors match."""

from __future__ import annotations

from kajitori.api.rbac import ClusterRole
from master.apiserver.authz.defaults import cluster_roles
from master.controllers.clusterrole_aggregation import ClusterRoleAggregationController
from master.controllers.context import LoopContext
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder, fake


def make() -> tuple[ClusterRoleAggregationController, RecordingClient]:
    client = RecordingClient()
    loop = ClusterRoleAggregationController(LoopContext(client=client, informers=FakeInformers(), recorder=RecordingRecorder()))
    for role in cluster_roles():
        fake(loop.roles).add(ClusterRole.model_validate(role))
    return loop, client


def test_view_gets_the_rules_of_the_roles_labelled_for_it_and_of_nothing_else() -> None:
    loop, client = make()
    fake(loop.roles).add(
        ClusterRole.model_validate(
            {
                "metadata": {"name": "widgets", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
                "rules": [{"verbs": ["get"], "apiGroups": ["example.com"], "resources": ["widgets"]}],
            }
        )
    )
    loop.reconcile("view")
    [(verb, kind, name, written)] = client.writes
    assert (verb, kind, name) == ("update", "ClusterRole", "view")
    rules = [r.to_dict() for r in written.rules]
    assert {"verbs": ["get"], "apiGroups": ["example.com"], "resources": ["widgets"]} in rules
    assert not any("secrets" in (r.get("resources") or []) for r in rules)  # view never reads Secrets
    assert any("pods" in (r.get("resources") or []) for r in rules)


def test_a_role_already_aggregated_is_left_alone_and_plain_roles_are_ignored() -> None:
    loop, client = make()
    loop.reconcile("view")
    [(_, _, _, written)] = client.writes
    fake(loop.roles).add(written)
    client.writes.clear()
    loop.reconcile("view")
    loop.reconcile("cluster-admin")
    assert client.writes == []
