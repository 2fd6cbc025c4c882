"""Adding a machine to the cluster by hand over SSH, and rebooting one: what
`kajitori node join` and `kajitori node reboot` do.

`join` is the Ansible `common` + `node` roles for one machine, for people who add a
machine without Vagrant. In order, each step checked before it acts (a second join
changes nothing but restarts the daemons):

1. connect (paramiko) and check passwordless sudo, python3 and dockerd;
2. switch iptables to the legacy backend (before dockerd restarts, as the proxy
   needs), point dockerd at the lab's registry mirror;
3. upload the wheelhouse and install kajitori into /opt/kajitori/venv, offline;
4. pull the pause image; give the machine its own identity as the lab's Ansible role does:
   a bootstrap token made for this join (15 minutes, deleted after), the cluster CA, and
   ``kajitori node join --token`` run there (a CSR the master approves and signs; skipped
   when the machine already has its certificate); the proxy's kubeconfig
   (``system:kube-proxy``); the kajitori-agent / kajitori-proxy units, started;
5. wait until the master reports the node Ready.

Every failure is a `JoinError` whose message is one line naming the host and what to
do; paramiko's and socket's exceptions are mapped here, at the boundary.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paramiko

from kajitori import bootstrap_token
from kajitori.version import PAUSE_IMAGE

PREFIX = "/opt/kajitori"
CONFIG_DIR = "/etc/kajitori"
REGISTRY_MIRROR = "192.168.56.1:5000"
JOIN_TOKEN_TTL = timedelta(minutes=15)
"""Life of the bootstrap token made for one join (the token cleaner deletes it if the join dies first)."""
STAGING_MODE = 0o600
"""Every file staged in the machine's /tmp is its login user's alone until `install` puts it in place."""

# The same units as ansible/roles/node/templates: a machine joined by hand and one
# provisioned by Ansible must run the same daemons the same way.
AGENT_UNIT = """\
# Written by `kajitori node join`.
[Unit]
Description=Kajitori node agent (registers the node, runs its pods through dockerd)
After=network-online.target docker.service
Wants=network-online.target
Requires=docker.service
ConditionPathExists={config_dir}/node.kubeconfig
StartLimitIntervalSec=0

[Service]
ExecStart={prefix}/venv/bin/kajitori agent --kubeconfig {config_dir}/node.kubeconfig --node-name {node_name} --node-ip {node_ip}
Restart=always
RestartSec=1
# Stopping or restarting the agent must never take its pods' containers with it.
KillMode=process

[Install]
WantedBy=multi-user.target
"""

PROXY_UNIT = """\
# Written by `kajitori node join`.
[Unit]
Description=Kajitori service proxy (iptables rules for ClusterIPs and NodePorts)
After=network-online.target docker.service
Wants=network-online.target
ConditionPathExists={config_dir}/proxy.kubeconfig
StartLimitIntervalSec=0

[Service]
ExecStart={prefix}/venv/bin/kajitori proxy --kubeconfig {config_dir}/proxy.kubeconfig --node-name {node_name}
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
"""


class JoinError(Exception):
    """A join or reboot that cannot go on; the message is one line for the user."""


@dataclass(frozen=True)
class SSHTarget:
    host: str
    """Address or name the SSH connection goes to."""
    user: str
    """Login user; needs passwordless sudo."""
    key: Path
    """Private key file for that user."""
    port: int = 22
    connect_timeout: float = 10.0
    """Seconds to wait for the TCP connection and the SSH handshake."""


@dataclass(frozen=True)
class JoinPlan:
    target: SSHTarget
    wheelhouse: Path
    """The tar of wheels `make lab` builds (.lab/wheelhouse.tar)."""
    proxy_kubeconfig: Path
    """The proxy's kubeconfig the master wrote (.lab/proxy.kubeconfig, ``system:kube-proxy``)."""
    node_name: str | None = None
    """Name of the node; default: the machine's short host name."""
    node_ip: str | None = None
    """Cluster address; default: the address the SSH connection reached."""
    registry_mirror: str | None = REGISTRY_MIRROR
    """host:port of a registry mirror for the machine's dockerd; None leaves dockerd's config alone."""


Progress = Callable[[str], None]


class Remote:
    """One SSH session to a machine: run commands (as root through sudo) and upload files."""

    def __init__(self, target: SSHTarget) -> None:
        self.target = target
        self._client = connect(target)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def peer_address(self) -> str:
        transport = self._client.get_transport()
        assert transport is not None
        return str(transport.getpeername()[0])

    def run(self, command: str, *, sudo: bool = True, check: bool = True, timeout: float = 300.0) -> tuple[int, str]:
        """Runs `command` in bash (as root with sudo); returns exit code and output (stdout+stderr)."""
        line = f"bash -c {shlex.quote(command)}"
        if sudo:
            line = f"sudo -n {line}"
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            raise JoinError(f"{self.target.host}: the SSH session is closed")
        try:
            channel = transport.open_session(timeout=timeout)
            channel.settimeout(timeout)
            channel.set_combine_stderr(True)  # errors read in order with the output
            channel.exec_command(line)
            output = channel.makefile("rb").read().decode(errors="replace")
            code = channel.recv_exit_status()
            channel.close()
        except (paramiko.SSHException, OSError) as exc:
            raise JoinError(f"{self.target.host}: lost the SSH session while running {command.split()[0]!r}: {exc}") from exc
        if check and code != 0:
            last = output.strip().splitlines()[-1] if output.strip() else f"exit code {code}"
            raise JoinError(f"{self.target.host}: `{command.splitlines()[0][:60]}` failed: {last}")
        return code, output

    def upload(self, local: Path, remote: str) -> None:
        try:
            with self._client.open_sftp() as sftp:
                sftp.put(str(local), remote)
        except (paramiko.SSHException, OSError) as exc:
            raise JoinError(f"{self.target.host}: uploading {local} failed: {exc}") from exc

    def write_file(self, path: str, content: str, *, mode: str = "0644") -> bool:
        """Writes `content` to `path` as root unless it already holds exactly that; True if it changed."""
        quoted = shlex.quote(path)
        code, current = self.run(f"cat {quoted} 2>/dev/null", check=False)
        if code == 0 and current == content:
            return False
        staging = f"/tmp/kajitori-join-{uuid.uuid4().hex}"
        try:
            # A new file ("x": never one planted in /tmp), made 0600 before its first byte: the
            # proxy kubeconfig holds its key, and the SFTP server creates files 0644.
            with self._client.open_sftp() as sftp, sftp.open(staging, "wx") as handle:
                handle.chmod(STAGING_MODE)
                handle.write(content)
        except (paramiko.SSHException, OSError) as exc:
            raise JoinError(f"{self.target.host}: staging {path} failed: {exc}") from exc
        self.run(f"install -m {mode} -D {staging} {quoted} && rm -f {staging}")
        return True


def connect(target: SSHTarget) -> paramiko.SSHClient:
    """An SSH client logged in to `target`, or a JoinError saying why not in one line."""
    where = f"{target.user}@{target.host}:{target.port}"
    if not target.key.is_file():
        raise JoinError(f"key file {target.key} does not exist")
    # Loaded here, not through key_filename: paramiko then tries every key type on the
    # file and reports a refused key as the last type's parse error.
    try:
        pkey = paramiko.PKey.from_path(target.key)
    except (paramiko.SSHException, OSError, ValueError) as exc:
        raise JoinError(f"cannot use the key {target.key}: {exc}") from exc
    client = paramiko.SSHClient()
    # Machines of a lab are recreated with new host keys all the time; the key that
    # matters is the user's, checked by the machine.
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(
            target.host,
            port=target.port,
            username=target.user,
            pkey=pkey,
            timeout=target.connect_timeout,
            banner_timeout=target.connect_timeout,
            auth_timeout=target.connect_timeout,
            allow_agent=False,
            look_for_keys=False,
        )
    except paramiko.AuthenticationException as exc:
        raise JoinError(f"{where}: the key {target.key} was refused") from exc
    except paramiko.ssh_exception.NoValidConnectionsError as exc:
        # paramiko wraps every socket error of every address in this one exception.
        errnos = {getattr(e, "errno", None) for e in exc.errors.values()}
        if errnos == {errno.ECONNREFUSED}:
            raise JoinError(f"{where}: unreachable (connection refused: is sshd running?)") from exc
        reason = "; ".join(sorted({os.strerror(n) for n in errnos if n})) or str(exc)
        raise JoinError(f"{where}: unreachable ({reason})") from exc
    except TimeoutError as exc:
        raise JoinError(f"{where}: unreachable (no answer in {target.connect_timeout:g} s)") from exc
    except socket.gaierror as exc:
        raise JoinError(f"{where}: unknown host ({exc.strerror})") from exc
    except OSError as exc:
        raise JoinError(f"{where}: unreachable ({exc.strerror or exc})") from exc
    except paramiko.SSHException as exc:
        raise JoinError(f"{where}: SSH failed: {exc}") from exc
    return client


def check_sudo(remote: Remote) -> None:
    code, _ = remote.run("true", check=False)
    if code != 0:
        raise JoinError(
            f"{remote.target.user}@{remote.target.host}: cannot run sudo without a password "
            f"(add `{remote.target.user} ALL=(ALL) NOPASSWD: ALL` to /etc/sudoers.d/)"
        )


def check_prerequisites(remote: Remote) -> None:
    missing = []
    for program, package in (("python3", "python3-venv"), ("dockerd", "docker.io"), ("iptables-legacy", "iptables")):
        code, _ = remote.run(f"command -v {program} >/dev/null", check=False)
        if code != 0:
            missing.append(package)
    code, _ = remote.run("python3 -c 'import venv, ensurepip'", check=False)
    if code != 0 and "python3-venv" not in missing:
        missing.append("python3-venv")
    if missing:
        raise JoinError(f"{remote.target.host}: missing {', '.join(missing)} (apt-get install -y {' '.join(missing)})")


# What Ansible's common role (and its node group) sets: see ansible/roles/common/defaults.
NODE_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
    "net.ipv4.conf.all.route_localnet": "1",  # NodePorts on 127.0.0.1, as kube-proxy allows
}


def configure_kernel(remote: Remote) -> None:
    """The node's kernel settings, now and at every boot (a key the kernel lacks is skipped)."""
    lines = "".join(f"{key} = {value}\n" for key, value in NODE_SYSCTLS.items())
    remote.write_file("/etc/sysctl.d/90-kajitori.conf", "# Written by kajitori node join.\n" + lines)
    for key, value in NODE_SYSCTLS.items():
        path = "/proc/sys/" + key.replace(".", "/")
        remote.run(f"[ ! -e {path} ] || echo {value} > {path}", check=False)


def configure_docker(remote: Remote, registry_mirror: str | None) -> bool:
    """Legacy iptables backend, hairpin mode on bridge ports (userland-proxy off, see
    ansible's daemon.json.j2) and the registry mirror; restarts dockerd only if any changed."""
    changed = False
    for tool in ("iptables", "ip6tables"):
        _, query = remote.run(f"update-alternatives --query {tool}", check=False)
        if f"Value: /usr/sbin/{tool}-legacy" not in query:
            remote.run(f"update-alternatives --set {tool} /usr/sbin/{tool}-legacy")
            changed = True
    daemon: dict[str, object] = {"userland-proxy": False}
    if registry_mirror:
        daemon.update({"registry-mirrors": [f"http://{registry_mirror}"], "insecure-registries": [registry_mirror]})
    changed |= remote.write_file("/etc/docker/daemon.json", json.dumps(daemon, indent=2) + "\n")
    if changed:
        remote.run("systemctl restart docker")
    else:
        remote.run("systemctl is-active --quiet docker || systemctl start docker")
    return changed


def install_kajitori(remote: Remote, wheelhouse: Path) -> None:
    if not wheelhouse.is_file():
        raise JoinError(f"no wheelhouse at {wheelhouse} (run `make lab`, or scripts/lab/wheelhouse.sh)")
    staging = "/tmp/kajitori-wheelhouse.tar"
    remote.upload(wheelhouse, staging)
    remote.run(
        f"set -e; mkdir -p {PREFIX}; rm -rf {PREFIX}/wheelhouse; mkdir {PREFIX}/wheelhouse; "
        f"tar -C {PREFIX}/wheelhouse -xf {staging}; mv {staging} {PREFIX}/wheelhouse.tar; "
        f"[ -x {PREFIX}/venv/bin/python ] || python3 -m venv {PREFIX}/venv; "
        f"{PREFIX}/venv/bin/pip install -q --no-index --find-links {PREFIX}/wheelhouse kajitori; "
        f"{PREFIX}/venv/bin/pip install -q --no-index --find-links {PREFIX}/wheelhouse --force-reinstall --no-deps kajitori"
    )


def join_with_bootstrap_token(remote: Remote, *, api: Any, node_name: str, timeout: float) -> bool:
    """The node's own certificate through a bootstrap token of its own (kubeadm join); False if it had one."""
    code, _ = remote.run(f"grep -q client-certificate-data {CONFIG_DIR}/node.kubeconfig", check=False)
    if code == 0:
        return False
    from kajitori.api.registry import by_name
    from kajitori.client import ApiError, NotFoundError

    server, ca_pem = api.config.server, api.config.ca_pem
    if not ca_pem:
        raise JoinError("the master kubeconfig carries no cluster CA (certificate-authority-data) to give the node")
    remote.write_file(f"{CONFIG_DIR}/ca.crt", ca_pem.decode("ascii"))
    token = bootstrap_token.generate()
    secrets = by_name("secrets")
    manifest = bootstrap_token.secret_manifest(
        token, expires=datetime.now(UTC) + JOIN_TOKEN_TTL, description=f"join of {node_name} (kajitori node join over SSH)"
    )
    try:
        api.create_raw(secrets, manifest, bootstrap_token.NAMESPACE)
    except ApiError as exc:
        raise JoinError(f"cannot make a bootstrap token for {node_name}: {exc}") from exc
    try:
        remote.run(
            f"{PREFIX}/venv/bin/kajitori node join --token {token} --server {shlex.quote(server)} "
            f"--ca-file {CONFIG_DIR}/ca.crt --node-name {shlex.quote(node_name)} "
            f"--out {CONFIG_DIR}/node.kubeconfig --timeout {timeout:g}",
            timeout=timeout + 30,
        )
    finally:
        try:
            api.delete_raw(secrets, token.secret_name, bootstrap_token.NAMESPACE)
        except (NotFoundError, ApiError):
            pass  # the token cleaner deletes it once it expires
    return True


def install_units(remote: Remote, *, proxy_kubeconfig: Path, node_name: str, node_ip: str) -> None:
    try:
        kubeconfig_text = proxy_kubeconfig.read_text()
    except OSError as exc:
        raise JoinError(f"cannot read the proxy kubeconfig {proxy_kubeconfig}: {exc.strerror}") from exc
    remote.write_file(f"{CONFIG_DIR}/proxy.kubeconfig", kubeconfig_text, mode="0600")
    values = {"prefix": PREFIX, "config_dir": CONFIG_DIR, "node_name": node_name, "node_ip": node_ip}
    remote.write_file("/etc/systemd/system/kajitori-agent.service", AGENT_UNIT.format(**values))
    remote.write_file("/etc/systemd/system/kajitori-proxy.service", PROXY_UNIT.format(**values))
    remote.run(
        "systemctl daemon-reload && systemctl enable -q kajitori-agent kajitori-proxy && "
        "systemctl restart kajitori-agent kajitori-proxy"
    )


def node_ready(api: Any, name: str) -> bool | None:
    """True/False from the node's Ready condition; None while the node is not registered."""
    from kajitori.client import ApiError, NotFoundError

    try:
        node = api.request("GET", f"/api/v1/nodes/{name}")
    except NotFoundError:
        return None
    except ApiError:
        return None
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def wait_for_node(api: Any, name: str, *, ready: bool, timeout: float, progress: Progress) -> float:
    """Polls until the node's readiness equals `ready`; returns the seconds it took."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        state = node_ready(api, name)
        if state is ready or (state is None and not ready):
            return time.monotonic() - start
        if time.monotonic() > deadline:
            want = "Ready" if ready else "NotReady"
            raise JoinError(f"node {name} was not {want} after {timeout:g} s (last seen: {state})")
        time.sleep(0.5)


def join(plan: JoinPlan, *, api: Any, timeout: float = 120.0, progress: Progress = print) -> str:
    """Makes the machine a node of the cluster `api` talks to; returns the node's name."""
    with Remote(plan.target) as remote:
        progress(f"connected to {plan.target.user}@{plan.target.host}")
        check_sudo(remote)
        check_prerequisites(remote)
        node_name = plan.node_name or remote.run("hostname -s", sudo=False)[1].strip()
        node_ip = plan.node_ip or remote.peer_address
        configure_kernel(remote)
        if configure_docker(remote, plan.registry_mirror):
            progress("dockerd reconfigured (legacy iptables, hairpin mode, registry mirror) and restarted")
        # The agent expects the pause image on the node; it comes through the mirror.
        remote.run(f"docker image inspect {PAUSE_IMAGE} >/dev/null 2>&1 || docker pull -q {PAUSE_IMAGE}")
        install_kajitori(remote, plan.wheelhouse)
        progress(f"kajitori installed into {PREFIX}/venv")
        if join_with_bootstrap_token(remote, api=api, node_name=node_name, timeout=timeout):
            progress(f"node {node_name} has its own certificate (system:node:{node_name}, through a bootstrap token)")
        install_units(remote, proxy_kubeconfig=plan.proxy_kubeconfig, node_name=node_name, node_ip=node_ip)
        progress(f"kajitori-agent and kajitori-proxy started (node {node_name}, {node_ip})")
    took = wait_for_node(api, node_name, ready=True, timeout=timeout, progress=progress)
    progress(f"node {node_name} Ready after {took:.1f} s")
    return node_name


def node_address(api: Any, name: str) -> str:
    """The InternalIP the node registered with."""
    from kajitori.client import ApiError, NotFoundError

    try:
        node = api.request("GET", f"/api/v1/nodes/{name}")
    except NotFoundError as exc:
        raise JoinError(f"no node named {name}") from exc
    except ApiError as exc:
        raise JoinError(f"cannot read node {name}: {exc}") from exc
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address["address"])
    raise JoinError(f"node {name} has no InternalIP address; pass --host")


def reboot(target: SSHTarget, *, api: Any, node_name: str, wait: bool, timeout: float = 180.0,
           progress: Progress = print) -> None:
    """Reboots the machine over SSH; with `wait`, until the master sees it NotReady then Ready again."""
    with Remote(target) as remote:
        check_sudo(remote)
        # The session ends with the machine: start the reboot detached and do not
        # wait for an answer that cannot come.
        remote.run("nohup sh -c 'sleep 0.5; systemctl reboot' >/dev/null 2>&1 &", timeout=10)
    progress(f"{node_name}: reboot started")
    if not wait:
        return
    took = wait_for_node(api, node_name, ready=False, timeout=timeout, progress=progress)
    progress(f"{node_name}: NotReady after {took:.1f} s")
    took = wait_for_node(api, node_name, ready=True, timeout=timeout, progress=progress)
    progress(f"{node_name}: Ready again after {took:.1f} s more")
