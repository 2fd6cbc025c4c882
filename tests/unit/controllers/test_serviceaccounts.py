"""The ServiceAccounts controller creates ``default`` in a namespace without one, and only there."""

from __future__ import annotations

import pytest

from kajitori.api.core import Namespace, ServiceAccount
from master.controllers.context import LoopContext
from master.controllers.serviceaccounts import ServiceAccountsController
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder, fake


def make() -> tuple[ServiceAccountsController, RecordingClient]:
    client = RecordingClient()
    return ServiceAccountsController(LoopContext(client=client, informers=FakeInformers(), recorder=RecordingRecorder())), client


def namespace(name: str, *, terminating: bool = False) -> Namespace:
    meta: dict[str, str] = {"name": name, "uid": f"uid-{name}"}
    if terminating:
        meta["deletionTimestamp"] = "2026-11-30T10:00:00Z"
    return Namespace.model_validate({"metadata": meta, "status": {"phase": "Terminating" if terminating else "Active"}})


def test_a_namespace_without_default_gets_one() -> None:
    loop, client = make()
    fake(loop.namespaces).add(namespace("team"))
    loop.reconcile("team")
    assert [(verb, kind, name) for verb, kind, name, _ in client.writes] == [("create", "ServiceAccount", "default")]
    assert client.writes[0][3].metadata.namespace == "team"


@pytest.mark.parametrize(
    ("objects", "name"),
    [
        pytest.param([namespace("team")], "gone", id="namespace-gone"),
        pytest.param([namespace("team", terminating=True)], "team", id="terminating"),
        pytest.param(
            [namespace("team"), ServiceAccount.model_validate({"metadata": {"name": "default", "namespace": "team"}})],
            "team",
            id="already-there",
        ),
    ],
)
def test_nothing_is_created(objects: list[Namespace | ServiceAccount], name: str) -> None:
    loop, client = make()
    for obj in objects:
        fake(loop.namespaces if isinstance(obj, Namespace) else loop.accounts).add(obj)
    loop.reconcile(name)
    assert client.writes == []
