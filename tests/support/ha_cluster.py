"""Three real masters on a real three-member etcd cluster, all on loopback, for the HA test and bench/ha.py.

Every master gets every etcd member's URL (the member it uses first goes first in its list);
the first master starts alone, so it takes both leader Leases, then the others start with
its CA and tokens (the masters of one cluster share them, as the lab's playbook copies them).
``stop`` ends every master and member by its PID, whatever state the test left them in.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.etcd_cluster import EtcdCluster
from tests.support.etcd_process import EtcdProcess
from tests.support.master_process import MasterProcess


def share_identity(first: MasterProcess, other: MasterProcess) -> None:
    """Copy the cluster's CA and tokens from ``first`` into ``other``'s data dir before it starts."""
    (other.data_dir / "pki").mkdir(parents=True, exist_ok=True)
    for name in ("ca.crt", "ca.key", "sa.key", "sa.pub"):
        if (first.data_dir / "pki" / name).exists():
            shutil.copy(first.data_dir / "pki" / name, other.data_dir / "pki" / name)
    for name in ("tokens.json", "encryption-config.yaml"):
        if (first.data_dir / name).exists():
            shutil.copy(first.data_dir / name, other.data_dir / name)


@contextmanager
def two_masters_on_one_etcd(root: Path, *, controllers: bool = True) -> Iterator[tuple[EtcdProcess, MasterProcess, MasterProcess]]:
    """Masters A and B of one cluster on one real etcd member: A starts first (it makes the
    cluster's CA and tokens and takes the leader Leases), B starts with A's identity. Every
    process is stopped at the end, whatever the caller left running."""
    etcd = EtcdProcess(root / "etcd").start()
    args = ["--store", "etcd", "--etcd-servers", etcd.url, *([] if controllers else ["--no-controllers"])]
    a = MasterProcess(root / "a", extra_args=args)
    b = MasterProcess(root / "b", extra_args=args)
    try:
        a.start()
        share_identity(a, b)
        b.start()
        yield etcd, a, b
    finally:
        b.stop()
        a.stop()
        etcd.stop()


def leader_of(master: MasterProcess, lease: str) -> str | None:
    """This master's identity if its log says it leads ``lease`` (and has not stopped since)."""
    if master.log_path is None or not master.log_path.exists():
        return None
    found = re.findall(rf"(\S+) (became leader|stopped leading) of kube-system/{lease}", master.log_path.read_text())
    return found[-1][0] if found and found[-1][1] == "became leader" else None


@dataclass
class HACluster:
    root: Path
    masters_count: int = 3
    extra_args: list[str] = field(default_factory=list)
    etcd: EtcdCluster | None = None
    masters: list[MasterProcess] = field(default_factory=list)

    def start(self) -> HACluster:
        try:
            self.etcd = EtcdCluster(self.root / "etcd").start()
            urls = self.etcd.urls
            for index in range(self.masters_count):
                # Each master asks "its own" member first, as each lab master asks its local etcd.
                mine = urls[index % len(urls) :] + urls[: index % len(urls)]
                args = ["--store", "etcd", "--etcd-servers", ",".join(mine), *self.extra_args]
                self.masters.append(MasterProcess(self.root / f"master{index}", extra_args=args))
            first = self.masters[0].start()
            for other in self.masters[1:]:
                share_identity(first, other)
                other.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for master in self.masters:
            master.stop()
        if self.etcd is not None:
            self.etcd.stop()
