"""The bootstrap token cleaner deletes an expired token's Secret (its uid as precondition), waits for one
not yet expired, and leaves alone tokens without an expiration and Secrets that are no bootstrap tokens."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from kajitori import bootstrap_token
from kajitori.api.core import Secret
from kajitori.clock import FakeClock
from kajitori.controller import Requeue
from master.controllers.bootstrap_token_cleaner import BootstrapTokenCleaner
from master.controllers.context import LoopContext
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder, fake


def make(clock: FakeClock) -> tuple[BootstrapTokenCleaner, RecordingClient]:
    client = RecordingClient()
    ctx = LoopContext(client=client, informers=FakeInformers(), recorder=RecordingRecorder(), clock=clock)
    return BootstrapTokenCleaner(ctx), client


def token_secret(name: str, *, expiration: str | None, namespace: str = "kube-system", type_: str = bootstrap_token.SECRET_TYPE) -> Secret:
    data = {"token-id": "abcdef", "token-secret": "0123456789abcdef"}
    if expiration is not None:
        data["expiration"] = expiration
    return Secret.model_validate({
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"},
        "type": type_,
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    })  # fmt: skip


def at(clock: FakeClock, seconds: float) -> str:
    return bootstrap_token.rfc3339(datetime.fromtimestamp(clock.time(), UTC) + timedelta(seconds=seconds))


def test_an_expired_token_secret_is_deleted_with_its_uid() -> None:
    clock = FakeClock()
    loop, client = make(clock)
    fake(loop.secrets).add(token_secret("bootstrap-token-abcdef", expiration=at(clock, -60)))
    loop.reconcile("kube-system/bootstrap-token-abcdef")
    assert client.writes == [("delete", "Secret", "bootstrap-token-abcdef", {"uid": "uid-bootstrap-token-abcdef"})]


def test_a_token_not_yet_expired_waits_until_it_is() -> None:
    clock = FakeClock()
    loop, client = make(clock)
    fake(loop.secrets).add(token_secret("bootstrap-token-abcdef", expiration=at(clock, 900)))
    with pytest.raises(Requeue) as wait:
        loop.reconcile("kube-system/bootstrap-token-abcdef")
    assert wait.value.after_s == pytest.approx(900, abs=1)
    assert client.writes == []


@pytest.mark.parametrize(
    ("secret", "deleted"),
    [
        pytest.param(token_secret("bootstrap-token-abcdef", expiration=None), False, id="never-expires"),
        pytest.param(token_secret("bootstrap-token-abcdef", expiration="tomorrow"), True, id="unreadable-expiration"),
        pytest.param(token_secret("bootstrap-token-abcdef", expiration="2000-01-01T00:00:00Z", namespace="default"), False, id="other-namespace"),
        pytest.param(token_secret("bootstrap-token-abcdef", expiration="2000-01-01T00:00:00Z", type_="Opaque"), False, id="opaque"),
    ],
)
def test_only_expired_bootstrap_tokens_of_kube_system_go(secret: Secret, deleted: bool) -> None:
    loop, client = make(FakeClock())
    fake(loop.secrets).add(secret)
    loop.reconcile(f"{secret.metadata.namespace}/{secret.metadata.name}")
    assert [w[0] for w in client.writes] == (["delete"] if deleted else [])


def test_a_gone_secret_needs_nothing() -> None:
    loop, client = make(FakeClock())
    loop.reconcile("kube-system/bootstrap-token-abcdef")
    assert client.writes == []
