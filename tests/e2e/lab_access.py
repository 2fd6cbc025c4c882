"""How the e2e tests reach inside the lab: commands on a machine (docker exec into its
node container on the host's dockerd), commands in a pod (the API's pods/exec, as
`kajitori exec` does), the containers a node's own dockerd holds, and tools pods pinned
to a node."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from typing import Any, TypeVar

import docker

from kajitori.client import ApiClient, NotFoundError
from lab.failover import app_pods, pod_ready, wait_until

T = TypeVar("T")

TOOLS_IMAGE = "kajitori/tools:1"
# python3 and the official Kubernetes client (Debian's python3-kubernetes), for in-cluster clients.
PYTHON_CLIENT_IMAGE = "kajitori/python-client:1"
MANAGED_LABEL = "io.kajitori.managed"
POD_UID_LABEL = "io.kajitori.pod.uid"


def machine_sh(machine: str, command: str, *, timeout_s: float = 30.0) -> tuple[int, str]:
    """Runs `command` with bash as root on a lab machine (its node container); (exit code, output)."""
    container = docker.from_env().containers.get(f"kajitori-{machine}")
    bounded = f"timeout {timeout_s:g} bash -c {shlex.quote(command)}"
    code, output = container.exec_run(["bash", "-c", bounded], demux=False)
    return int(code), output.decode(errors="replace")


def node_containers(machine: str) -> list[dict[str, Any]]:
    """Every container of Kajitori's pods in the machine's own dockerd (running or not), as `docker inspect`."""
    command = f"ids=$(docker ps -aq --filter label={MANAGED_LABEL}); [ -z \"$ids\" ] && echo '[]' || docker inspect $ids"
    for _ in range(5):
        code, out = machine_sh(machine, command)
        if code == 0:
            return json.loads(out)  # type: ignore[no-any-return]
        # The agent may remove a container between `ps` and `inspect` ("No such object"): look again.
        time.sleep(0.5)
    raise AssertionError(f"docker inspect on {machine} kept failing: {out}")


def stale_containers(api: ApiClient, machine: str) -> list[str]:
    """Names of the machine's pod containers whose pod is no longer bound to it."""
    bound = {
        p["metadata"]["uid"]
        for p in api.request("GET", "/api/v1/pods", params={"fieldSelector": f"spec.nodeName={machine}"})["items"]
    }
    return [c["Name"] for c in node_containers(machine) if c["Config"]["Labels"].get(POD_UID_LABEL) not in bound]


def pod_exec(api: ApiClient, namespace: str, pod: str, command: list[str], *, timeout_s: float = 30.0) -> tuple[int, str]:
    """Runs `command` in the pod's (only) container through the API's pods/exec; (exit code, output)."""
    answer = api.request(
        "POST", f"/api/v1/namespaces/{namespace}/pods/{pod}/exec", body={"command": command, "timeoutSeconds": timeout_s}
    )
    return int(answer.get("exitCode", 0)), str(answer.get("output", ""))


def ensure_tools_pod(api: ApiClient, machine: str, *, namespace: str = "default", timeout_s: float = 90.0) -> str:
    """A Running tools pod (curl, dig) pinned to `machine` by its hostname label; its name."""
    name = f"e2e-tools-{machine}"
    try:
        pod = api.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")
        if pod["metadata"].get("deletionTimestamp") or pod["spec"].get("nodeName") not in (None, machine):
            raise AssertionError(f"pod {name} is being deleted or on the wrong node; rerun")
    except NotFoundError:
        api.request("POST", f"/api/v1/namespaces/{namespace}/pods", body={
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "e2e-tools"}},
            "spec": {
                "nodeSelector": {"kubernetes.io/hostname": machine},
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "tools", "image": TOOLS_IMAGE}],
            },
        })

    def running() -> bool:
        pod = api.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")
        return bool(pod.get("status", {}).get("phase") == "Running")

    wait_until(f"pod {name} Running", running, timeout_s=timeout_s)
    return name


def delete_pod(api: ApiClient, namespace: str, name: str) -> None:
    try:
        api.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}")
    except NotFoundError:
        pass


def nginx_ready_pods(api: ApiClient) -> list[dict[str, Any]]:
    return [p for p in app_pods(api, "default", "app=nginx") if pod_ready(p)]


def wait_nginx_ready(api: ApiClient, replicas: int = 3, timeout_s: float = 90.0) -> list[dict[str, Any]]:
    wait_until(f"{replicas} nginx pods Ready", lambda: len(nginx_ready_pods(api)) >= replicas, timeout_s=timeout_s)
    return nginx_ready_pods(api)


def settle(seconds: float) -> None:
    """An observation window: long enough for a wrong change to show, bounded."""
    time.sleep(seconds)


def wait_for_value(what: str, check: Callable[[], T | None], *, timeout_s: float) -> T:
    """`check()`'s first truthy answer; the deadline only keeps a broken run from hanging."""
    give_up = time.monotonic() + timeout_s
    while not (result := check()):
        if time.monotonic() > give_up:
            raise AssertionError(f"{what}: not within {timeout_s:g} s")
        time.sleep(0.5)
    return result


def address_holders(ip: str, machines: list[str]) -> list[str]:
    """Which of the lab `machines` carry `ip` on an interface (a load-balancer address)."""
    return [m for m in machines if f" {ip}/32 " in machine_sh(m, "ip -o -4 addr show")[1]]
