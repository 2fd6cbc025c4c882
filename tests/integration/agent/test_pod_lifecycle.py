"""Pods run by a real `kajitori agent` process on the real dockerd, against a real master.

The master runs without controllers or scheduler: pods are created with spec.nodeName set.
Everything is observed from outside: the pod's status in the API, commands run in its
containers through the agent's exec endpoint, and Docker's own listing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from agent.serving_cert import ensure_serving_cert
from kajitori.api.coordination import Lease
from kajitori.api.core import ConfigMap, Node, Pod, Secret
from kajitori.api.well_known import SERVING_CERTIFICATE
from kajitori.client import ApiClient, InvalidError, NotFoundError
from tests.integration.agent.agent_process import (
    BUSYBOX,
    SLEEP_FOREVER,
    AgentProcess,
    condition,
    container_status,
    make_pod,
    node_containers,
    node_ready,
    running_agent,
    shell,
    wait_for,
)
from tests.support.master_process import MasterProcess
from tests.support.processes import PROCESS_TIMEOUT_S
from tests.support.session_names import session_name

pytestmark = pytest.mark.integration

NODE = session_name("agent-test-node")  # other sessions' agents on this dockerd must not take its pods
HTTPD = "mkdir -p /www && echo pong > /www/index.html && exec httpd -f -p 8080 -h /www"


@pytest.fixture(scope="module")
def agent(
    master: MasterProcess, docker_api: docker.APIClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AgentProcess]:
    with running_agent(master, docker_api, NODE, tmp_path_factory.mktemp("agent")) as proc:
        yield proc


def running(api: ApiClient, pod: str) -> bool:
    return api.get(Pod, pod, "default").status.phase == "Running"


def test_node_registers_with_lease_and_ready_condition(api: ApiClient, agent: AgentProcess) -> None:
    wait_for("node Ready", lambda: node_ready(api, NODE))
    node = api.get(Node, NODE)
    assert node.spec.podCIDR
    assert {"type": "InternalIP", "address": "127.0.0.1"} in [a.to_dict() for a in node.status.addresses or []]
    assert node.status.daemonEndpoints and node.status.daemonEndpoints.kubeletEndpoint
    assert node.status.daemonEndpoints.kubeletEndpoint.Port == agent.port
    assert ((node.status.nodeInfo and node.status.nodeInfo.containerRuntimeVersion) or "").startswith("docker://")
    assert int((node.status.capacity or {})["cpu"]) >= 1
    # The certificate port 10250 serves with, published for the master to trust.
    assert (node.metadata.annotations or {})[SERVING_CERTIFICATE] == (agent.cert_dir / f"{NODE}.crt").read_text()
    first = api.get(Lease, NODE, "kube-node-lease").spec
    assert first.holderIdentity == NODE and first.leaseDurationSeconds == 40
    wait_for("a renewed lease", lambda: api.get(Lease, NODE, "kube-node-lease").spec.renewTime != first.renewTime)


def test_two_containers_share_loopback_emptydir_configmap_and_secret(
    api: ApiClient, agent: AgentProcess, docker_api: docker.APIClient
) -> None:
    api.create(ConfigMap.model_validate({"metadata": {"name": "web-config", "namespace": "default"}, "data": {"greeting": "hello from a configmap"}}))
    api.create(Secret.model_validate({"metadata": {"name": "web-secret", "namespace": "default"}, "stringData": {"password": "s3cret"}}))
    pod = make_pod(
        "web",
        NODE,
        [
            shell("server", f"echo written-by-server > /shared/note; {HTTPD}",
                  volumeMounts=[{"name": "shared", "mountPath": "/shared"}]),
            shell("client", SLEEP_FOREVER,
                  env=[{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "web-secret", "key": "password"}}},
                       {"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                       {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                  volumeMounts=[{"name": "shared", "mountPath": "/shared"}, {"name": "config", "mountPath": "/etc/web"}]),
        ],
        volumes=[{"name": "shared", "emptyDir": {}}, {"name": "config", "configMap": {"name": "web-config"}}],
    )  # fmt: skip
    api.create(pod)
    wait_for("pod web Running and Ready", lambda: running(api, "web") and condition(api, "web", "Ready") == "True")

    code, output = agent.exec("default", "web", "client", ["sh", "-c", "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8080"])
    assert code == 0 and "pong" in output
    assert agent.exec("default", "web", "client", ["cat", "/shared/note"]) == (0, "written-by-server\n")
    assert agent.exec("default", "web", "client", ["cat", "/etc/web/greeting"]) == (0, "hello from a configmap")
    code, output = agent.exec("default", "web", "client", ["sh", "-c", "echo $PASSWORD $MY_POD $MY_IP"])
    status = api.get(Pod, "web", "default").status
    assert output.split() == ["s3cret", "web", status.podIP]
    code, output = agent.exec("default", "web", "client", ["cat", "/etc/resolv.conf"])
    assert "nameserver 10.96.0.10" in output
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in output
    assert "options ndots:5" in output
    assert status.hostIP == "127.0.0.1" and status.startTime
    assert [c.type for c in status.conditions or []][:3] == ["Initialized", "Ready", "ContainersReady"]
    names = sorted(c["Labels"]["io.kajitori.container.name"] for c in node_containers(docker_api, NODE, api.get(Pod, "web", "default").metadata.uid))
    assert names == ["POD", "client", "server"]


def test_exec_and_logs_through_the_cli_with_the_admin_kubeconfig(api: ApiClient, agent: AgentProcess, master: MasterProcess) -> None:
    api.create(make_pod("talker", NODE, [shell("main", f"echo line-one; echo line-two; {SLEEP_FOREVER}")]))
    wait_for("pod talker Running", lambda: running(api, "talker"))
    cli = [sys.executable, "-m", "cli"]
    kubeconfig = ["--kubeconfig", str(master.kubeconfig)]
    logs = wait_for(
        "two log lines",
        lambda: (out := subprocess.run([*cli, "logs", "talker", *kubeconfig], capture_output=True, text=True)).stdout.count("line-") == 2 and out,
    )
    assert isinstance(logs, subprocess.CompletedProcess)  # the check answers False or the finished run
    assert logs.stdout == "line-one\nline-two\n"
    tail = subprocess.run([*cli, "logs", "talker", "--tail", "1", *kubeconfig], capture_output=True, text=True)
    assert tail.stdout == "line-two\n"
    done = subprocess.run([*cli, "exec", "talker", *kubeconfig, "--", "sh", "-c", "echo out; exit 7"], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (7, "out\n")
    refused = agent.logs("default", "talker", "main")
    assert refused.status_code == 200
    import httpx

    assert httpx.get(f"{agent.url}/containerLogs/default/talker/main", headers={"Authorization": "Bearer wrong"}, verify=agent.tls()).status_code == 401


def test_the_master_talks_only_to_the_certificate_the_node_published(
    api: ApiClient, agent: AgentProcess, master: MasterProcess, tmp_path: Path
) -> None:
    api.create(make_pod("pinned", NODE, [shell("main", f"echo pinned-line; {SLEEP_FOREVER}")]))
    wait_for("pod pinned Running", lambda: running(api, "pinned"))
    published = api.get(Node, NODE).metadata.annotations[SERVING_CERTIFICATE]  # type: ignore[index]
    impostor = ensure_serving_cert(tmp_path, NODE, "127.0.0.1").pem  # same name and address, another key
    cli = [sys.executable, "-m", "cli", "logs", "pinned", "--kubeconfig", str(master.kubeconfig)]
    try:
        api.patch(Node, NODE, {"metadata": {"annotations": {SERVING_CERTIFICATE: impostor}}})
        refused = subprocess.run(cli, capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S)
        assert refused.returncode == 1
        assert "cannot reach the agent of pod pinned" in refused.stderr and "CERTIFICATE_VERIFY_FAILED" in refused.stderr
    finally:
        api.patch(Node, NODE, {"metadata": {"annotations": {SERVING_CERTIFICATE: published}}})
    trusted = wait_for("the log through the master", lambda: (out := subprocess.run(cli, capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S)).returncode == 0 and out,
                       timeout=PROCESS_TIMEOUT_S)
    assert isinstance(trusted, subprocess.CompletedProcess)  # the check answers False or the finished run
    assert trusted.stdout == "pinned-line\n"


def test_init_containers_run_in_order_before_the_app(api: ApiClient, agent: AgentProcess) -> None:
    mount = [{"name": "work", "mountPath": "/work"}]
    api.create(
        make_pod(
            "initialized",
            NODE,
            [shell("app", f"cat /work/order > /work/seen; {SLEEP_FOREVER}", volumeMounts=mount)],
            initContainers=[shell("first", "echo first >> /work/order", volumeMounts=mount),
                            shell("second", "echo second >> /work/order", volumeMounts=mount)],
            volumes=[{"name": "work", "emptyDir": {}}],
        )
    )  # fmt: skip
    wait_for("pod initialized Running", lambda: running(api, "initialized"))
    assert agent.exec("default", "initialized", "app", ["cat", "/work/seen"]) == (0, "first\nsecond\n")
    status = api.get(Pod, "initialized", "default").status
    assert [s.state.terminated.reason for s in status.initContainerStatuses or [] if s.state.terminated] == ["Completed", "Completed"]
    assert condition(api, "initialized", "Initialized") == "True"


def test_crashing_container_restarts_and_shows_crash_loop_back_off(api: ApiClient, agent: AgentProcess) -> None:
    api.create(make_pod("crasher", NODE, [shell("main", "echo about to fail; exit 3")]))
    seen = wait_for(
        "CrashLoopBackOff",
        lambda: (s := container_status(api, "crasher", "main")) and (s["state"].get("waiting") or {}).get("reason") == "CrashLoopBackOff" and s,
    )
    assert seen["restartCount"] >= 1
    assert seen["lastState"]["terminated"]["exitCode"] == 3
    assert seen["lastState"]["terminated"]["reason"] == "Error"
    assert "back-off 10s restarting failed container=main" in seen["state"]["waiting"]["message"]
    assert api.get(Pod, "crasher", "default").status.phase == "Running"
    previous = agent.logs("default", "crasher", "main", previous="true")
    assert previous.status_code == 200 and previous.text == "about to fail\n"


def test_failing_liveness_probe_restarts_the_container(api: ApiClient, agent: AgentProcess) -> None:
    probe = {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 2}
    api.create(make_pod("unhealthy", NODE, [shell("main", f"touch /tmp/healthy; {SLEEP_FOREVER}", livenessProbe=probe)]))
    wait_for("pod unhealthy Running", lambda: running(api, "unhealthy"))
    first = container_status(api, "unhealthy", "main")
    assert first is not None and first["restartCount"] == 0
    agent.exec("default", "unhealthy", "main", ["rm", "/tmp/healthy"])
    restarted = wait_for(
        "a restart after liveness failures",
        lambda: (s := container_status(api, "unhealthy", "main")) and s["restartCount"] >= 1 and "running" in s["state"] and s,
    )
    assert restarted["containerID"] != first["containerID"]


def test_readiness_probe_gates_the_ready_condition(api: ApiClient, agent: AgentProcess) -> None:
    probe = {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1}
    api.create(make_pod("gated", NODE, [shell("main", SLEEP_FOREVER, readinessProbe=probe)]))
    wait_for("pod gated Running", lambda: running(api, "gated"))
    assert condition(api, "gated", "Ready") == "False"
    status = container_status(api, "gated", "main")
    assert status is not None and status["ready"] is False
    agent.exec("default", "gated", "main", ["touch", "/tmp/ready"])
    wait_for("Ready True", lambda: condition(api, "gated", "Ready") == "True")
    agent.exec("default", "gated", "main", ["rm", "/tmp/ready"])
    wait_for("Ready False again", lambda: condition(api, "gated", "Ready") == "False")


def test_http_readiness_probe_reaches_the_pod(api: ApiClient, agent: AgentProcess) -> None:
    probe = {"httpGet": {"path": "/index.html", "port": "http"}, "periodSeconds": 1}
    api.create(make_pod("served", NODE, [shell("main", HTTPD, readinessProbe=probe, ports=[{"name": "http", "containerPort": 8080}])]))
    wait_for("Ready True", lambda: condition(api, "served", "Ready") == "True")


def test_missing_image_shows_image_pull_back_off_with_the_reason(api: ApiClient, agent: AgentProcess) -> None:
    missing = {"name": "main", "image": "127.0.0.1:5999/kajitori/missing:1"}
    api.create(make_pod("unpullable", NODE, [missing]))
    waiting = wait_for(
        "ImagePullBackOff",
        lambda: (s := container_status(api, "unpullable", "main")) and (s["state"].get("waiting") or {}).get("reason") == "ImagePullBackOff" and s,
    )
    assert "connection refused" in waiting["state"]["waiting"]["message"]
    assert 'Back-off pulling image "127.0.0.1:5999/kajitori/missing:1"' in waiting["state"]["waiting"]["message"]
    assert api.get(Pod, "unpullable", "default").status.phase == "Pending"


def test_deleting_a_pod_removes_every_container_including_pause(
    api: ApiClient, agent: AgentProcess, docker_api: docker.APIClient
) -> None:
    api.create(make_pod("doomed", NODE, [shell("a", SLEEP_FOREVER), shell("b", SLEEP_FOREVER)]))
    wait_for("pod doomed Running", lambda: running(api, "doomed"))
    uid = api.get(Pod, "doomed", "default").metadata.uid or ""
    assert len(node_containers(docker_api, NODE, uid)) == 3
    volumes = agent.work_dir / "pods" / uid
    assert volumes.parent.exists()
    api.delete(Pod, "doomed", "default")

    def gone() -> bool:
        try:
            api.get(Pod, "doomed", "default")
            return False
        except NotFoundError:
            return True

    wait_for("the pod object to go", gone)
    assert node_containers(docker_api, NODE, uid) == []
    assert not Path(volumes).exists()


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        pytest.param({"containers": [{"name": "a", "image": BUSYBOX}, {"name": "a", "image": BUSYBOX}]}, "Duplicate value", id="duplicate-container-names"),
        pytest.param({"containers": [{"name": "a", "image": BUSYBOX, "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}]}, "Not found: \"nope\"", id="mount-without-volume"),
    ],
)
def test_bad_specs_are_refused_by_the_api_with_the_field_named(api: ApiClient, spec: dict[str, object], words: str) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "namespace": "default"}, "spec": {"nodeName": NODE, **spec}}
    from kajitori.api.registry import by_model

    with pytest.raises(InvalidError) as refused:
        api.create_raw(by_model(Pod), body)
    assert words in refused.value.message
    assert any("spec" in str(cause.get("field", "")) for cause in refused.value.causes) or "spec" in refused.value.message
