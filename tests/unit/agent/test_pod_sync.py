"""One pod's sync on the in-memory runtime: what it starts, restarts, reports and removes.

Time is a shared fake (the runtime's timestamps, the back-off's clock and the status times
all read it), so back-offs are crossed by advancing it, never by sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.fake_runtime import FakeRuntime
from agent.pod_sync import LABEL_NODE, PodSyncer
from agent.probes import ProbeManager, Prober
from agent.runtime import PAUSE_IMAGE, ContainerRuntimeError, ContainerState, PodUID
from agent.settings import AgentSettings
from agent.volumes import VolumeManager
from kajitori.api.core import Pod

BUSYBOX = "kajitori/busybox:1"


class Time:
    def __init__(self) -> None:
        self.wall = datetime(2026, 1, 1, tzinfo=UTC)
        self.mono = 100.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


class RecordingClient:
    """The two writes a pod sync makes: status patches and the final delete."""

    def __init__(self) -> None:
        self.status_writes: list[dict[str, Any]] = []
        self.deletes: list[tuple[str, str | None, int | None, str | None]] = []

    def patch(self, model: Any, name: str, patch: Any, namespace: str | None = None, **kwargs: Any) -> None:
        assert kwargs.get("subresource") == "status"
        self.status_writes.append(patch["status"])

    def delete(self, model: Any, name: str, namespace: str | None = None, *, grace_period_seconds: int | None = None, uid: str | None = None, **_: Any) -> None:
        self.deletes.append((name, namespace, grace_period_seconds, uid))


class Configs:
    def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        return {"key": "value"} if name == "present" else None

    def secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        return None


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.time = Time()
        self.runtime = FakeRuntime(images=[PAUSE_IMAGE, BUSYBOX], clock=self.time.now)
        self.client = RecordingClient()
        self.tmp_path = tmp_path
        self.syncer = self.new_syncer()

    def new_syncer(self) -> PodSyncer:
        settings = AgentSettings(kubeconfig="", node_name="node1", node_ip="192.168.56.11", runtime="fake", pods_root=self.tmp_path)
        return PodSyncer(
            runtime=self.runtime,
            client=self.client,  # type: ignore[arg-type]
            settings=settings,
            volumes=VolumeManager(self.tmp_path, Configs()),
            probes=ProbeManager(Prober(self.runtime, network=False), lambda key: None),
            config_source=Configs(),
            container_id_scheme="fake",
            now=self.time.now,
            monotonic=self.time.monotonic,
        )

    def sync(self, pod: Pod) -> float | None:
        """Sync, then let the pod see what was written, as the informer would."""
        result = self.syncer.sync(pod)
        if self.client.status_writes:
            pod.status = type(pod.status).model_validate({k: v for k, v in self.client.status_writes[-1].items() if v is not None})
        return result

    def status_of(self, container: str) -> dict[str, Any]:
        last = self.client.status_writes[-1]
        found = [s for s in [*(last.get("initContainerStatuses") or []), *last["containerStatuses"]] if s["name"] == container]
        return found[0]


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def make_pod(*containers: dict[str, Any], **spec: Any) -> Pod:
    return Pod.model_validate(
        {
            "metadata": {"name": "p", "namespace": "default", "uid": "uid-1"},
            "spec": {"nodeName": "node1", "containers": list(containers), **spec},
        }
    )


def box(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": BUSYBOX, **fields}


def test_a_pod_gets_a_sandbox_and_its_containers_and_a_running_status(harness: Harness) -> None:
    pod = make_pod(box("a"), box("b"), dnsPolicy="ClusterFirst")
    harness.sync(pod)
    sandboxes = harness.runtime.list_sandboxes(PodUID("uid-1"))
    assert len(sandboxes) == 1 and sandboxes[0].labels[LABEL_NODE] == "node1"
    containers = harness.runtime.list_containers(PodUID("uid-1"))
    assert sorted(c.name for c in containers) == ["a", "b"]
    assert all(c.state == ContainerState.RUNNING and c.labels[LABEL_NODE] == "node1" for c in containers)
    status = harness.client.status_writes[-1]
    assert status["phase"] == "Running"
    assert status["podIP"] == sandboxes[0].ip and status["hostIP"] == "192.168.56.11"
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Initialized": "True", "Ready": "True", "ContainersReady": "True", "PodScheduled": "True",
    }  # fmt: skip
    assert harness.status_of("a")["containerID"].startswith("fake://")


def test_status_is_written_only_when_it_changes(harness: Harness) -> None:
    pod = make_pod(box("a"))
    harness.sync(pod)
    harness.time.advance(30)
    harness.sync(pod)
    harness.sync(pod)
    assert len(harness.client.status_writes) == 1


def test_a_new_syncer_adopts_running_containers_without_restarting_them(harness: Harness) -> None:
    pod = make_pod(box("a"))
    harness.sync(pod)
    before = [(c.id, c.restart_count) for c in harness.runtime.list_containers(PodUID("uid-1"))]
    harness.syncer = harness.new_syncer()  # the agent restarted: memory is gone, labels remain
    harness.sync(pod)
    assert [(c.id, c.restart_count) for c in harness.runtime.list_containers(PodUID("uid-1"))] == before


def test_crash_loop_restarts_at_once_then_backs_off_doubling(harness: Harness) -> None:
    harness.runtime.script_exits("a", 1, 1, 1, None)
    pod = make_pod(box("a"))
    harness.sync(pod)  # attempt 0 exits at once
    harness.sync(pod)  # first restart: immediate, attempt 1 exits too
    assert harness.status_of("a")["restartCount"] == 1
    wait = harness.sync(pod)
    waiting = harness.status_of("a")["state"]["waiting"]
    assert waiting["reason"] == "CrashLoopBackOff"
    assert waiting["message"] == "back-off 10s restarting failed container=a pod=p_default(uid-1)"
    assert harness.status_of("a")["lastState"]["terminated"]["exitCode"] == 1
    assert wait == pytest.approx(10)
    assert harness.client.status_writes[-1]["phase"] == "Running"
    harness.time.advance(10)
    harness.sync(pod)  # attempt 2 exits
    assert harness.status_of("a")["restartCount"] == 2
    assert harness.sync(pod) == pytest.approx(20)
    harness.time.advance(20)
    harness.sync(pod)  # attempt 3 keeps running
    status = harness.status_of("a")
    assert status["restartCount"] == 3 and "running" in status["state"]
    # Only the current and the previous attempt are kept (for `logs --previous`).
    assert sorted(c.restart_count for c in harness.runtime.list_containers(PodUID("uid-1"))) == [2, 3]


@pytest.mark.parametrize(
    ("policy", "exit_code", "phase", "restarted"),
    [
        pytest.param("Never", 0, "Succeeded", False, id="never-success"),
        pytest.param("Never", 2, "Failed", False, id="never-failure"),
        pytest.param("OnFailure", 0, "Succeeded", False, id="onfailure-success"),
        pytest.param("OnFailure", 2, "Running", True, id="onfailure-failure"),
        pytest.param("Always", 0, "Running", True, id="always-success"),
    ],
)
def test_restart_policy(harness: Harness, policy: str, exit_code: int, phase: str, restarted: bool) -> None:
    harness.runtime.script_exits("a", exit_code, None)
    pod = make_pod(box("a"), restartPolicy=policy)
    harness.sync(pod)
    harness.sync(pod)
    assert harness.client.status_writes[-1]["phase"] == phase
    assert (harness.status_of("a")["restartCount"] == 1) is restarted


def test_init_containers_run_one_at_a_time_before_the_app(harness: Harness) -> None:
    pod = make_pod(box("app"), initContainers=[box("first"), box("second")])
    harness.sync(pod)
    names = [c.name for c in harness.runtime.list_containers(PodUID("uid-1"))]
    assert names == ["first"]
    assert harness.client.status_writes[-1]["phase"] == "Pending"
    assert harness.status_of("app")["state"]["waiting"]["reason"] == "ContainerCreating"
    first = harness.runtime.list_containers(PodUID("uid-1"))[0]
    harness.runtime.exit_container(first.id, 0)
    harness.sync(pod)
    assert sorted(c.name for c in harness.runtime.list_containers(PodUID("uid-1"))) == ["first", "second"]
    second = next(c for c in harness.runtime.list_containers(PodUID("uid-1")) if c.name == "second")
    harness.runtime.exit_container(second.id, 0)
    harness.sync(pod)
    assert harness.client.status_writes[-1]["phase"] == "Running"
    assert harness.status_of("first")["state"]["terminated"]["reason"] == "Completed"


def test_a_failed_pull_shows_err_image_pull_then_image_pull_back_off(harness: Harness) -> None:
    harness.runtime.fail_pull("registry.invalid/app:1", "connection refused")
    pod = make_pod({"name": "a", "image": "registry.invalid/app:1"})
    assert harness.sync(pod) == pytest.approx(10)
    assert harness.status_of("a")["state"]["waiting"] == {"reason": "ErrImagePull", "message": "connection refused"}
    harness.sync(pod)
    waiting = harness.status_of("a")["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"
    assert waiting["message"] == 'Back-off pulling image "registry.invalid/app:1": connection refused'
    assert harness.client.status_writes[-1]["phase"] == "Pending"


def test_a_missing_config_map_is_a_create_container_config_error(harness: Harness) -> None:
    pod = make_pod(box("a", env=[{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k"}}}]))
    harness.sync(pod)
    assert harness.status_of("a")["state"]["waiting"] == {
        "reason": "CreateContainerConfigError", "message": 'configmap "absent" not found',
    }  # fmt: skip


def test_terminating_removes_everything_and_releases_the_pod(harness: Harness, tmp_path: Path) -> None:
    pod = make_pod(box("a"), volumes=[{"name": "scratch", "emptyDir": {}}])
    harness.sync(pod)
    assert (tmp_path / "uid-1" / "volumes" / "scratch").is_dir()
    pod.metadata.deletionTimestamp = "2026-01-01T00:00:00Z"
    pod.metadata.deletionGracePeriodSeconds = 5
    harness.sync(pod)
    assert harness.runtime.list_sandboxes(PodUID("uid-1")) == []
    assert harness.runtime.list_containers(PodUID("uid-1")) == []
    assert not (tmp_path / "uid-1").exists()
    assert harness.client.deletes == [("p", "default", 0, "uid-1")]


def test_a_pre_stop_hook_runs_in_its_running_container_before_the_pod_is_stopped(harness: Harness) -> None:
    pre_stop = {"preStop": {"exec": {"command": ["sleep", "2"]}}}
    pod = make_pod(box("app", lifecycle=pre_stop), box("side"))
    harness.sync(pod)
    seen: list[tuple[str, list[str], list[str]]] = []

    def hook(name: str) -> Any:
        def run(cmd: list[str]) -> tuple[int, bytes]:
            running = sorted(c.name for c in harness.runtime.list_containers(PodUID("uid-1")) if c.state == ContainerState.RUNNING)
            seen.append((name, cmd, running))
            return 0, b""

        return run

    harness.runtime.script_exec("app", hook("app"))
    harness.runtime.script_exec("side", hook("side"))
    pod.metadata.deletionTimestamp = "2026-01-01T00:00:00Z"
    pod.metadata.deletionGracePeriodSeconds = 30
    harness.sync(pod)
    assert seen == [("app", ["sleep", "2"], ["app", "side"])], "only app's hook, while every container still ran"
    assert harness.runtime.list_containers(PodUID("uid-1")) == []
    assert harness.client.deletes == [("p", "default", 0, "uid-1")]


def test_a_failing_pre_stop_hook_does_not_stop_the_termination(harness: Harness) -> None:
    pod = make_pod(box("app", lifecycle={"preStop": {"exec": {"command": ["false"]}}}))
    harness.sync(pod)

    def broken(cmd: list[str]) -> tuple[int, bytes]:
        raise ContainerRuntimeError("exec failed")

    harness.runtime.script_exec("app", broken)
    pod.metadata.deletionTimestamp = "2026-01-01T00:00:00Z"
    pod.metadata.deletionGracePeriodSeconds = 30
    harness.sync(pod)
    assert harness.runtime.list_containers(PodUID("uid-1")) == []
    assert harness.client.deletes == [("p", "default", 0, "uid-1")]


def test_orphans_of_this_node_only_are_removed(harness: Harness) -> None:
    harness.sync(make_pod(box("a")))
    removed = harness.syncer.remove_orphans(lambda: set())
    assert removed == 2
    assert harness.runtime.list_sandboxes() == []
