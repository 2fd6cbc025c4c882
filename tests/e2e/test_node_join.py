"""`kajitori node join` against a real machine of the lab over real SSH: a spare
node container (kajitori/node:bookworm, as Vagrant boots it) on the lab network at
192.168.56.13. The errors a person meets first — a refused key, a host that does
not answer, a user without sudo — each come back as one clear line."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import paramiko
import pytest

from kajitori.client import ApiClient, ApiError
from tests.e2e.conftest import ROOT, VAGRANT_KEY

pytestmark = pytest.mark.e2e

SPARE_NAME = "node3"
SPARE_IP = "192.168.56.13"
KAJITORI = str(ROOT / ".venv/bin/kajitori")


def _wait_for_ssh(host: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            client.connect(host, username="vagrant", key_filename=str(VAGRANT_KEY), timeout=2,
                           allow_agent=False, look_for_keys=False)
            return
        except (paramiko.SSHException, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
        finally:
            client.close()


@pytest.fixture(scope="module")
def spare_machine(lab_master: Path) -> Iterator[str]:
    """A fresh node container on the lab network, removed (with its volume) afterwards."""
    client = docker.from_env()
    container = client.containers.create(
        "kajitori/node:bookworm",
        name="kajitori-test-node3",
        hostname=SPARE_NAME,
        detach=True,
        cap_add=["ALL"],
        cap_drop=["SYS_RESOURCE"],
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        volumes={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
        tmpfs={"/run": "", "/run/lock": "", "/tmp": ""},
        sysctls={"net.ipv4.ip_forward": "1"},
        stop_signal="SIGRTMIN+3",
        environment={"container": "docker"},
        labels={"io.kajitori.lab": "1", "io.kajitori.test": "node-join"},
        network="kajitori-lab",
    )
    try:
        # The anonymous /var/lib/docker volume of the Vagrantfile, through the API.
        container.reload()
        client.api.disconnect_container_from_network(container.id, "kajitori-lab")
        client.api.connect_container_to_network(container.id, "kajitori-lab", ipv4_address=SPARE_IP)
        container.start()
        _wait_for_ssh(SPARE_IP)
        yield SPARE_IP
    finally:
        container.remove(force=True, v=True)


def _join(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KAJITORI, "node", "join", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_refused_key_is_one_line(spare_machine: str, tmp_path: Path, lab_admin_kubeconfig: Path) -> None:
    stranger = tmp_path / "stranger"
    paramiko.RSAKey.generate(2048).write_private_key_file(str(stranger))
    line = _one_error_line(_join(spare_machine, "--user", "vagrant", "--key", str(stranger),
                                 "--master-kubeconfig", str(lab_admin_kubeconfig)))
    assert f"vagrant@{spare_machine}:22" in line and "was refused" in line


def test_a_closed_port_is_one_line(lab_admin_kubeconfig: Path) -> None:
    # The host's own end of the lab bridge, on a port where nothing listens.
    line = _one_error_line(_join("192.168.56.1", "--port", "1", "--user", "vagrant", "--key", str(VAGRANT_KEY),
                                 "--master-kubeconfig", str(lab_admin_kubeconfig)))
    assert "192.168.56.1:1: unreachable" in line and "refused" in line


def test_an_absent_host_is_one_line(lab_admin_kubeconfig: Path) -> None:
    line = _one_error_line(_join("192.168.56.99", "--user", "vagrant", "--key", str(VAGRANT_KEY),
                                 "--master-kubeconfig", str(lab_admin_kubeconfig)))
    assert "192.168.56.99:22: unreachable" in line


def test_a_user_without_sudo_is_one_line(spare_machine: str, lab_admin_kubeconfig: Path) -> None:
    container = docker.from_env().containers.get("kajitori-test-node3")
    code, out = container.exec_run(["bash", "-c",
        "id plain >/dev/null 2>&1 || useradd -m -s /bin/bash plain; "
        "install -d -o plain -m 700 /home/plain/.ssh; "
        "install -o plain -m 600 /home/vagrant/.ssh/authorized_keys /home/plain/.ssh/authorized_keys"])
    assert code == 0, out
    line = _one_error_line(_join(spare_machine, "--user", "plain", "--key", str(VAGRANT_KEY),
                                 "--master-kubeconfig", str(lab_admin_kubeconfig)))
    assert "plain@" in line and "sudo" in line


def test_join_makes_a_ready_node(lab: Path, spare_machine: str, lab_api: ApiClient, lab_admin_kubeconfig: Path) -> None:
    try:
        result = _join(spare_machine, "--user", "vagrant", "--key", str(VAGRANT_KEY),
                       "--master-kubeconfig", str(lab_admin_kubeconfig))
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"node {SPARE_NAME} Ready" in result.stdout
        node = lab_api.request("GET", f"/api/v1/nodes/{SPARE_NAME}")
        addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
        assert addresses["InternalIP"] == SPARE_IP
        # Set up as Ansible sets up node1 and node2: hairpin mode through dockerd, NodePorts on 127.0.0.1.
        spare = docker.from_env().containers.get("kajitori-test-node3")
        code, out = spare.exec_run(["bash", "-c", "cat /proc/sys/net/ipv4/conf/all/route_localnet; "
                                    "python3 -c 'import json; print(json.load(open(\"/etc/docker/daemon.json\"))[\"userland-proxy\"])'"])
        assert (code, out.decode().split()) == (0, ["1", "False"]), out
        # Its own identity, as node1 and node2 have: a certificate for system:node:node3 (0600) got
        # through a bootstrap token made for this join and deleted after; no shared token anywhere.
        code, out = spare.exec_run(["bash", "-c", "stat -c %a /etc/kajitori/node.kubeconfig; grep -c client-certificate-data /etc/kajitori/node.kubeconfig; "
                                    "grep -l 'token:' /etc/kajitori/*.kubeconfig | wc -l"])  # fmt: skip
        assert (code, out.decode().split()) == (0, ["600", "1", "0"]), out
        tokens = lab_api.request("GET", "/api/v1/namespaces/kube-system/secrets")["items"]
        assert not [t for t in tokens if t.get("type") == "bootstrap.kubernetes.io/token"], "the join's bootstrap token was left behind"
        # A second join changes nothing a user could see: the node stays Ready.
        again = _join(spare_machine, "--user", "vagrant", "--key", str(VAGRANT_KEY),
                      "--master-kubeconfig", str(lab_admin_kubeconfig))
        assert again.returncode == 0, again.stdout + again.stderr
    finally:
        try:
            lab_api.request("DELETE", f"/api/v1/nodes/{SPARE_NAME}")
        except ApiError:
            pass
