"""DockerRuntime's pure translations: image refs, times, limits, inspect and event documents, errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from agent.docker_events import DockerEventStream, runtime_event_from_docker
from agent.docker_runtime import (
    DockerRuntime,
    _resource_limits,
    container_info_from_inspect,
    docker_name,
    normalize_image_ref,
    parse_docker_time,
    sandbox_info_from_inspect,
)
from agent.runtime import (
    ContainerState,
    PodRef,
    PodUID,
    Resources,
    RuntimeEventKind,
    RuntimeUnavailable,
    TerminationReason,
    object_labels,
)

POD = PodRef(namespace="default", name="web-1", uid=PodUID("0b5e"))


@pytest.mark.parametrize(
    ("image", "normalized"),
    [
        pytest.param("busybox", "busybox:latest", id="bare"),
        pytest.param("kajitori/busybox:1", "kajitori/busybox:1", id="tagged"),
        pytest.param("127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest", id="registry-port-no-tag"),
        pytest.param("127.0.0.1:5000/busybox:1", "127.0.0.1:5000/busybox:1", id="registry-port-tag"),
        pytest.param("busybox@sha256:abcd", "busybox@sha256:abcd", id="digest"),
    ],
)
def test_image_refs_get_latest_only_when_untagged(image: str, normalized: str) -> None:
    assert normalize_image_ref(image) == normalized


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        pytest.param(
            "2026-11-21T23:07:50.955706123Z",
            datetime(2026, 11, 21, 23, 7, 50, 955706, tzinfo=UTC),
            id="nanoseconds",
        ),
        pytest.param(
            "2026-11-21T23:07:50Z", datetime(2026, 11, 21, 23, 7, 50, tzinfo=UTC), id="whole-seconds"
        ),
        pytest.param(
            "2026-11-21T23:07:50.5Z", datetime(2026, 11, 21, 23, 7, 50, 500000, tzinfo=UTC), id="short"
        ),
        pytest.param("0001-01-01T00:00:00Z", None, id="docker-zero-time"),
        pytest.param("", None, id="empty"),
    ],
)
def test_docker_times_parse_to_utc_or_none(text: str, parsed: datetime | None) -> None:
    assert parse_docker_time(text) == parsed


@pytest.mark.parametrize(
    ("resources", "limits"),
    [
        pytest.param(Resources(), {}, id="none"),
        pytest.param(
            Resources(cpu_limit_millicores=500),
            {"cpu_period": 100_000, "cpu_quota": 50_000, "cpu_shares": 512},
            id="cpu-limit-is-also-the-request",
        ),
        pytest.param(
            Resources(cpu_limit_millicores=1, cpu_request_millicores=1),
            {"cpu_period": 100_000, "cpu_quota": 1_000, "cpu_shares": 2},
            id="kernel-minimums",
        ),
        pytest.param(Resources(cpu_request_millicores=250), {"cpu_shares": 256}, id="request-only"),
        pytest.param(
            Resources(memory_limit_bytes=128 << 20),
            {"mem_limit": 128 << 20, "memswap_limit": 128 << 20},
            id="memory-without-swap",
        ),
    ],
)
def test_resources_become_cfs_quota_shares_and_memory(resources: Resources, limits: dict[str, int]) -> None:
    assert _resource_limits(resources) == limits


def test_docker_names_read_like_the_kubelets() -> None:
    assert docker_name("nginx", POD, 2) == "k8s_nginx_web-1_default_0b5e_2"


def inspect_document(
    status: str, *, exit_code: int = 0, oom: bool = False, name: str = "app"
) -> dict[str, Any]:
    return {
        "Id": "c0ffee",
        "Created": "2026-11-21T23:00:00.1Z",
        "Image": "sha256:1234",
        "Config": {
            "Image": "kajitori/busybox:1",
            "Hostname": "web-1",
            "Labels": {**object_labels(POD, name, 4), "io.kajitori.sandbox.id": "pause1"},
        },
        "HostConfig": {"NetworkMode": "container:pause1"},
        "State": {
            "Status": status,
            "ExitCode": exit_code,
            "OOMKilled": oom,
            "Error": "",
            "StartedAt": "2026-11-21T23:00:01.000000001Z",
            "FinishedAt": "2026-11-21T23:00:00.9Z"
            if status in ("exited", "dead")
            else "0001-01-01T00:00:00Z",
        },
        "NetworkSettings": {"Networks": {"pods": {"IPAddress": "10.244.1.7"}}},
    }


@pytest.mark.parametrize(
    ("status", "exit_code", "oom", "state", "reason"),
    [
        pytest.param("created", 0, False, ContainerState.CREATED, None, id="created"),
        pytest.param("running", 0, False, ContainerState.RUNNING, None, id="running"),
        pytest.param("exited", 0, False, ContainerState.EXITED, TerminationReason.COMPLETED, id="completed"),
        pytest.param("exited", 2, False, ContainerState.EXITED, TerminationReason.ERROR, id="error"),
        pytest.param("exited", 137, True, ContainerState.EXITED, TerminationReason.OOM_KILLED, id="oom"),
        pytest.param("dead", 1, False, ContainerState.EXITED, TerminationReason.ERROR, id="dead"),
    ],
)
def test_inspect_documents_become_container_infos(
    status: str, exit_code: int, oom: bool, state: ContainerState, reason: TerminationReason | None
) -> None:
    info = container_info_from_inspect(inspect_document(status, exit_code=exit_code, oom=oom))

    assert (info.state, info.reason) == (state, reason)
    assert (info.pod, info.name, info.restart_count, info.sandbox_id) == (POD, "app", 4, "pause1")
    assert (info.image, info.image_id) == ("kajitori/busybox:1", "sha256:1234")
    if state == ContainerState.EXITED:
        assert info.exit_code == exit_code
        # dockerd said it finished before it started; a status never says that.
        assert info.finished_at == info.started_at
    else:
        assert info.exit_code is None and info.finished_at is None


def test_a_running_sandbox_has_the_ip_of_its_network_and_a_stopped_one_none() -> None:
    document = inspect_document("running", name="POD")
    document["Config"]["Labels"]["io.kajitori.sandbox.network"] = "pods"

    assert sandbox_info_from_inspect(document).ip == "10.244.1.7"
    document["State"]["Status"] = "exited"
    assert sandbox_info_from_inspect(document).ip == ""


def test_die_events_carry_pod_container_and_exit_code() -> None:
    raw = {
        "Type": "container",
        "Action": "die",
        "Actor": {"ID": "c0ffee", "Attributes": {**object_labels(POD, "app", 0), "exitCode": "3"}},
        "time": 1795302000,
        "timeNano": 1795302000123456789,
    }

    event = runtime_event_from_docker(raw)

    assert event is not None
    assert (event.kind, event.container_id, event.pod_uid, event.container_name, event.exit_code) == (
        RuntimeEventKind.DIE,
        "c0ffee",
        POD.uid,
        "app",
        3,
    )
    assert event.time == datetime.fromtimestamp(1795302000.123456, tz=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({"Type": "container", "Action": "exec_start: sh", "Actor": {}}, id="exec"),
        pytest.param({"Type": "network", "Action": "connect", "Actor": {}}, id="network"),
    ],
)
def test_events_the_agent_does_not_need_are_dropped(raw: dict[str, Any]) -> None:
    assert runtime_event_from_docker(raw) is None


def test_a_missing_docker_socket_means_runtime_unavailable(tmp_path: Any) -> None:
    runtime = DockerRuntime(f"unix://{tmp_path}/no-docker.sock", timeout_s=2)

    with pytest.raises(RuntimeUnavailable, match="docker daemon unreachable"):
        runtime.info()


class BreakingEventsAPI:
    """Stands in for APIClient.events: the first stream breaks after one event, the next one ends."""

    def __init__(self, stream: DockerEventStream | None = None) -> None:
        self.calls: list[str] = []
        self.stream = stream

    def events(self, *, since: str, filters: dict[str, Any], decode: bool) -> Iterator[dict[str, Any]]:
        self.calls.append(since)
        return self._first() if len(self.calls) == 1 else self._second()

    def _first(self) -> Iterator[dict[str, Any]]:
        yield die_event("first", 1795302000_000000005)
        raise ConnectionError("dockerd went away")

    def _second(self) -> Iterator[dict[str, Any]]:
        yield die_event("second", 1795302001_000000000)
        assert self.stream is not None
        self.stream.close()


def die_event(container_id: str, time_nano: int) -> dict[str, Any]:
    return {
        "Type": "container",
        "Action": "die",
        "Actor": {"ID": container_id, "Attributes": {"exitCode": "0"}},
        "timeNano": time_nano,
    }


def test_a_broken_event_stream_reconnects_from_the_last_event() -> None:
    api = BreakingEventsAPI()
    stream = DockerEventStream(api, backoff_initial_s=0.001)  # type: ignore[arg-type]
    api.stream = stream

    seen = [event.container_id for event in stream]

    assert seen == ["first", "second"]
    assert api.calls[1] == "1795302000.000000005"
