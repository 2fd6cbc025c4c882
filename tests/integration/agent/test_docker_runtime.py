"""DockerRuntime on the real dockerd: what a pod needs from Docker beyond the shared contract.

Shared namespaces (network on 127.0.0.1, IPC, PID), bind mounts, env, command/args
semantics, resolv.conf and /etc/hosts, hostPorts, limits as dockerd records them, OOM,
and the errors the sync loop turns into reasons.
"""

from __future__ import annotations

import socket
from pathlib import Path

import docker
import pytest

from agent.docker_runtime import DockerRuntime
from agent.runtime import (
    LABEL_MANAGED,
    ContainerConfig,
    ContainerCreateError,
    ContainerId,
    ContainerInfo,
    ContainerStartError,
    ContainerState,
    DNSConfig,
    ExecTimeout,
    ImagePullError,
    Mount,
    PodRef,
    PortMapping,
    PullPolicy,
    Resources,
    SandboxConfig,
    TerminationReason,
)
from tests.integration.agent.conftest import BUSYBOX, SERVE_FOREVER, TEST_FILTER, TEST_LABELS, UNPULLABLE
from tests.unit.agent.runtime_contract import new_pod, wait_for

pytestmark = pytest.mark.integration

HTTPD = "mkdir -p /www && echo pong > /www/index.html && exec httpd -f -p 8080 -h /www"
HTTP_GET = "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8080"


def sandbox(runtime: DockerRuntime, network: str, pod: PodRef, **fields: object) -> ContainerId:
    config = SandboxConfig(pod=pod, network=network, labels=TEST_LABELS, **fields)  # type: ignore[arg-type]
    return runtime.run_sandbox(config).id


def started(
    runtime: DockerRuntime, sandbox_id: ContainerId, name: str, script: str, **fields: object
) -> ContainerId:
    config = ContainerConfig(
        name=name,
        image=BUSYBOX,
        command=("sh", "-c", script),
        labels=TEST_LABELS,
        **fields,  # type: ignore[arg-type]
    )
    container = runtime.create_container(sandbox_id, config)
    runtime.start_container(container)
    return container


def exec_output(runtime: DockerRuntime, container: ContainerId, script: str) -> bytes:
    code, output = runtime.exec_sync(container, ["sh", "-c", script], 10)
    assert code == 0, output
    return output


def exited(runtime: DockerRuntime, container: ContainerId) -> ContainerInfo:
    def probe() -> ContainerInfo | None:
        info = runtime.inspect_container(container)
        return info if info.state == ContainerState.EXITED else None

    return wait_for(f"container {container} to exit", probe)


def test_containers_of_a_pod_reach_each_other_on_loopback(runtime: DockerRuntime, test_network: str) -> None:
    pod_sandbox = sandbox(runtime, test_network, new_pod("loopback"))
    started(runtime, pod_sandbox, "server", HTTPD)
    client = started(runtime, pod_sandbox, "client", SERVE_FOREVER)

    def answer() -> bytes | None:
        code, output = runtime.exec_sync(client, ["sh", "-c", HTTP_GET], 10)
        return output if code == 0 and b"pong" in output else None

    assert b"200 OK" in wait_for("httpd to answer on 127.0.0.1:8080", answer)


def test_a_bind_mounted_dir_is_shared_between_containers(
    runtime: DockerRuntime, test_network: str, tmp_path: Path
) -> None:
    shared = tmp_path / "empty-dir"
    shared.mkdir()
    pod_sandbox = sandbox(runtime, test_network, new_pod("shared-dir"))
    mount = (Mount(host_path=str(shared), container_path="/shared"),)
    writer = started(
        runtime, pod_sandbox, "writer", f"echo written > /shared/note; {SERVE_FOREVER}", mounts=mount
    )
    reader = started(
        runtime,
        pod_sandbox,
        "reader",
        SERVE_FOREVER,
        mounts=(Mount(host_path=str(shared), container_path="/data", read_only=True),),
    )

    wait_for("the writer's file", lambda: (shared / "note").exists())
    assert exec_output(runtime, reader, "cat /data/note") == b"written\n"
    code, output = runtime.exec_sync(reader, ["sh", "-c", "echo no > /data/other"], 10)
    assert code != 0 and b"Read-only" in output
    assert runtime.inspect_container(writer).state == ContainerState.RUNNING


def test_env_workdir_and_user_are_seen_inside(runtime: DockerRuntime, test_network: str) -> None:
    pod_sandbox = sandbox(runtime, test_network, new_pod("env"))
    container = started(
        runtime,
        pod_sandbox,
        "app",
        SERVE_FOREVER,
        env={"GREETING": "hello world", "POD_IP": "1.2.3.4"},
        working_dir="/tmp",
        user="1234:5678",
    )

    assert exec_output(runtime, container, 'echo "$GREETING|$POD_IP|$(pwd)|$(id -u):$(id -g)"') == (
        b"hello world|1.2.3.4|/tmp|1234:5678\n"
    )


@pytest.mark.parametrize(
    ("command", "args", "printed"),
    [
        pytest.param(("echo", "from-command"), (), b"from-command\n", id="command-only"),
        # busybox's CMD is ["sh"]: a command without args must not inherit it.
        pytest.param(("echo",), (), b"\n", id="command-drops-image-cmd"),
        pytest.param((), ("echo", "from-args"), b"from-args\n", id="args-replace-cmd"),
        pytest.param(("echo",), ("a", "b"), b"a b\n", id="command-and-args"),
    ],
)
def test_command_and_args_follow_kubernetes(
    runtime: DockerRuntime, test_network: str, command: tuple[str, ...], args: tuple[str, ...], printed: bytes
) -> None:
    pod_sandbox = sandbox(runtime, test_network, new_pod("cmd"))
    config = ContainerConfig(name="once", image=BUSYBOX, command=command, args=args, labels=TEST_LABELS)
    container = runtime.create_container(pod_sandbox, config)
    runtime.start_container(container)

    assert exited(runtime, container).exit_code == 0
    assert b"".join(runtime.logs(container)) == printed


def test_sandbox_holds_hostname_dns_and_hosts(runtime: DockerRuntime, test_network: str) -> None:
    dns = DNSConfig(
        nameservers=("10.96.0.10",),
        searches=("default.svc.cluster.local", "svc.cluster.local", "cluster.local"),
        options=("ndots:5",),
    )
    pod_sandbox = sandbox(
        runtime, test_network, new_pod("named"), dns=dns, extra_hosts={"db.lab": "192.168.56.10"}
    )
    container = started(runtime, pod_sandbox, "app", SERVE_FOREVER)

    assert exec_output(runtime, container, "cat /etc/resolv.conf") == (
        b"nameserver 10.96.0.10\n"
        b"search default.svc.cluster.local svc.cluster.local cluster.local\n"
        b"options ndots:5\n"
    )
    assert exec_output(runtime, container, "hostname") == b"named\n"
    hosts = exec_output(runtime, container, "cat /etc/hosts")
    assert b"192.168.56.10\tdb.lab" in hosts
    pod_ip = runtime.inspect_sandbox(pod_sandbox).ip
    assert f"{pod_ip}\tnamed".encode() in hosts


def test_a_host_port_published_on_the_sandbox_reaches_the_container(
    runtime: DockerRuntime, test_network: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        host_port = probe.getsockname()[1]
    mapping = PortMapping(container_port=8080, host_port=host_port, host_ip="127.0.0.1")
    pod_sandbox = sandbox(runtime, test_network, new_pod("published"), port_mappings=(mapping,))
    started(runtime, pod_sandbox, "server", HTTPD)

    def answer() -> bytes | None:
        try:
            with socket.create_connection(("127.0.0.1", host_port), timeout=5) as conn:
                conn.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
                data = b"".join(iter(lambda: conn.recv(4096), b""))
        except OSError:
            return None
        return data if b"pong" in data else None

    assert b"200 OK" in wait_for(f"httpd on 127.0.0.1:{host_port}", answer)


def test_shared_process_namespace_shows_the_pause_process(runtime: DockerRuntime, test_network: str) -> None:
    pod_sandbox = sandbox(runtime, test_network, new_pod("pid"))
    shared = started(runtime, pod_sandbox, "shared", SERVE_FOREVER, share_pid=True)
    private = started(runtime, pod_sandbox, "private", SERVE_FOREVER)

    assert exec_output(runtime, shared, "tr '\\0' ' ' < /proc/1/cmdline") == b"/pause "
    assert exec_output(runtime, private, "tr '\\0' ' ' < /proc/1/cmdline").startswith(b"sh ")


def test_cpu_and_memory_limits_are_what_dockerd_applies(
    runtime: DockerRuntime, test_network: str, docker_api: docker.APIClient
) -> None:
    pod_sandbox = sandbox(runtime, test_network, new_pod("limited"))
    resources = Resources(
        cpu_limit_millicores=250, cpu_request_millicores=100, memory_limit_bytes=64 * 1024**2
    )
    container = started(runtime, pod_sandbox, "app", SERVE_FOREVER, resources=resources)

    host_config = docker_api.inspect_container(container)["HostConfig"]
    assert (host_config["CpuPeriod"], host_config["CpuQuota"], host_config["CpuShares"]) == (
        100_000,
        25_000,
        102,
    )
    assert host_config["Memory"] == host_config["MemorySwap"] == 64 * 1024**2
    assert host_config["NetworkMode"] == host_config["IpcMode"] == f"container:{pod_sandbox}"
    assert exec_output(runtime, container, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes") == b"67108864\n"


def test_a_container_over_its_memory_limit_is_killed_and_reported_as_dockerd_saw_it(
    runtime: DockerRuntime, test_network: str, docker_api: docker.APIClient
) -> None:
    pod_sandbox = sandbox(runtime, test_network, new_pod("oom"))
    hog = "x=$(head -c 200000000 /dev/zero | tr '\\0' x); echo survived"
    container = started(
        runtime, pod_sandbox, "hog", hog, resources=Resources(memory_limit_bytes=16 * 1024**2)
    )

    info = exited(runtime, container)

    assert info.exit_code == 137
    assert b"survived" not in b"".join(runtime.logs(container))
    # dockerd sets OOMKilled only when the kernel's cgroup v1 OOM notification reaches it, which
    # this machine's kernel (6.x, cgroup v1) does not deliver: the reason is what dockerd knows.
    oom_flag = bool(docker_api.inspect_container(container)["State"]["OOMKilled"])
    assert info.reason == (TerminationReason.OOM_KILLED if oom_flag else TerminationReason.ERROR)


def test_a_missing_image_fails_with_dockers_message(runtime: DockerRuntime) -> None:
    with pytest.raises(ImagePullError) as raised:
        runtime.ensure_image(UNPULLABLE, PullPolicy.ALWAYS)

    assert "127.0.0.1:5999" in str(raised.value) and "connection refused" in str(raised.value)


def test_a_command_that_cannot_start_is_a_start_error(runtime: DockerRuntime, test_network: str) -> None:
    pod_sandbox = sandbox(runtime, test_network, new_pod("nostart"))
    config = ContainerConfig(name="broken", image=BUSYBOX, command=("/no/such/binary",), labels=TEST_LABELS)
    container = runtime.create_container(pod_sandbox, config)

    with pytest.raises(ContainerStartError, match="no such file or directory"):
        runtime.start_container(container)
    assert runtime.inspect_container(container).state != ContainerState.RUNNING


def test_a_sandbox_that_cannot_be_created_leaves_nothing(
    runtime: DockerRuntime, test_network: str, docker_api: docker.APIClient
) -> None:
    pod = new_pod("nopause")

    with pytest.raises(ContainerCreateError, match="kajitori/no-such-pause"):
        runtime.run_sandbox(SandboxConfig(pod=pod, network=test_network, image="kajitori/no-such-pause:0"))
    # dockerd only looks the network up when it starts the container: the half-made one must go.
    with pytest.raises(ContainerStartError, match="kajitori-no-such-network"):
        runtime.run_sandbox(SandboxConfig(pod=pod, network="kajitori-no-such-network", labels=TEST_LABELS))

    assert runtime.list_sandboxes(pod.uid) == []
    assert (
        docker_api.containers(
            all=True, filters={"label": [f"{LABEL_MANAGED}=true", TEST_FILTER]}
        )
        == []
    )


def test_exec_past_its_timeout_raises(runtime: DockerRuntime, test_network: str) -> None:
    pod_sandbox = sandbox(runtime, test_network, new_pod("slow-exec"))
    container = started(runtime, pod_sandbox, "app", SERVE_FOREVER)

    with pytest.raises(ExecTimeout):
        runtime.exec_sync(container, ["sleep", "30"], 0.5)


def test_a_grace_period_and_an_exec_timeout_of_2_to_the_62_seconds_are_still_waits(
    runtime: DockerRuntime, test_network: str
) -> None:
    # terminationGracePeriodSeconds is int64 in Kubernetes: the agent must still stop the pod.
    pod_sandbox = sandbox(runtime, test_network, new_pod("huge-grace"))
    container = started(runtime, pod_sandbox, "app", SERVE_FOREVER)
    assert runtime.exec_sync(container, ["true"], float(2**62)) == (0, b"")
    runtime.stop_container(container, float(2**62))  # busybox's sh exits on SIGTERM
    assert runtime.inspect_container(container).state == ContainerState.EXITED


def test_logs_follow_until_the_container_exits(runtime: DockerRuntime, test_network: str) -> None:
    pod_sandbox = sandbox(runtime, test_network, new_pod("follow"))
    container = started(runtime, pod_sandbox, "counter", "for i in 1 2 3; do echo line $i; sleep 0.2; done")

    followed = b"".join(runtime.logs(container, follow=True))

    assert followed == b"line 1\nline 2\nline 3\n"
    assert b"".join(runtime.logs(container, tail=1)) == b"line 3\n"
