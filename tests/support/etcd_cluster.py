"""A real three-member etcd cluster on loopback (distinct client and peer ports), for the HA tests.

Each member is an ``EtcdProcess`` (Debian's etcd-server); all are launched before any is
waited on, since a member answers only once a quorum runs. ``pause``/``resume`` SIGSTOP and
SIGCONT one member by its PID (a hung machine: the TCP connection stays open and nothing
answers); ``kill`` is kill -9. ``stop`` resumes what was paused first, so teardown never
leaves a stopped process behind.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.etcd_process import EtcdProcess
from tests.support.processes import freeze


@dataclass
class EtcdCluster:
    root: Path
    size: int = 3
    members: list[EtcdProcess] = field(default_factory=list)
    _paused: set[int] = field(default_factory=set)

    @property
    def urls(self) -> list[str]:
        return [m.url for m in self.members]

    def start(self, timeout: float = 60.0) -> EtcdCluster:
        self.members = [
            EtcdProcess(self.root / f"etcd{i}", name=f"m{i}")
            for i in range(self.size)
        ]
        initial = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        try:
            for member in self.members:
                member.initial_cluster = initial
                member.launch()
            for member in self.members:
                member.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def pause(self, index: int) -> None:
        """SIGSTOP member ``index``: it keeps its sockets and answers nothing."""
        freeze(self.members[index].pid)
        self._paused.add(index)

    def resume(self, index: int) -> None:
        if index in self._paused:
            os.kill(self.members[index].pid, signal.SIGCONT)
            self._paused.discard(index)

    def kill(self, index: int) -> None:
        """kill -9 of member ``index``."""
        self.resume(index)
        self.members[index].kill()

    def stop(self) -> None:
        for index in list(self._paused):
            self.resume(index)
        for member in self.members:
            if member.proc is not None:
                member.stop()
