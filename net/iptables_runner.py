"""The seam between Kajitori's network code and the kernel's legacy iptables.

Owns the only place that runs the `iptables-legacy*` programs: batches go in through
`iptables-legacy-restore --noflush` (one atomic table replace per table in the batch), single
checks and edits of the built-in chains' jump rules go through `iptables-legacy -C/-I/-D`.

Batches go to one long-lived `iptables-legacy-restore --noflush` process (`RestoreSession`)
rather than a new process per batch: with 1,000 services a fresh process cost ~15 ms more per
batch here (exec, loading the extensions, and page faults on its multi-megabyte table buffers
that a long-lived process reuses). The program takes the xtables lock per table section and
releases it at COMMIT, so an idle session holds no lock.

`Iptables` is a small Protocol so rule engines can be driven by `RecordingIptables` in unit tests
and by `LegacyIptables` on a node. Every failure of the real programs is raised as
`IptablesError` with the program's own message.

Jump rules (`JumpRule`) are the hooks our chains hang from in built-in chains (PREROUTING,
FORWARD, ...). They are the only rules we ever place in chains we do not own, and
`ensure_jumps` / `remove_jumps` are the only functions that do it.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

# Seconds to wait for the xtables lock: dockerd and the pod network code take it too.
LOCK_WAIT_SECONDS = 5
# Seconds a batch may take in a restore session before the process is killed (lock wait included).
RESTORE_TIMEOUT_SECONDS = 60.0


class IptablesError(RuntimeError):
    """An iptables program refused a command; the message carries its stderr."""


@dataclass(frozen=True)
class JumpRule:
    """A rule in a built-in chain that jumps to one of our chains."""

    table: str
    chain: str
    """Built-in chain holding the rule, e.g. PREROUTING."""
    spec: tuple[str, ...]
    """Match and target arguments, e.g. ("-m", "comment", "--comment", "...", "-j", "KT-SERVICES")."""

    @property
    def target(self) -> str:
        return self.spec[self.spec.index("-j") + 1]


class Iptables(Protocol):
    """What rule engines need from iptables."""

    def restore(self, text: str) -> None:
        """Apply an iptables-restore batch with --noflush (atomic per table)."""

    def save(self, table: str) -> str:
        """The iptables-save text of one table."""

    def run(self, args: Sequence[str]) -> bool:
        """Run `iptables -w -t ... args`; True when it exited 0 (used for -C checks and edits)."""

    def close(self) -> None:
        """Release long-lived resources (a restore process); later calls may start them again."""


class RestoreSession:
    """One `iptables-legacy-restore --noflush` process that applies batch after batch from stdin.

    The program prints nothing when a batch succeeds, so every batch is followed by a marker
    section, `*filter` / `-S INPUT` / `COMMIT`, whose first output line (`-P INPUT ...`) can only
    appear once every earlier COMMIT is done: reading it means the batch is in the kernel. The
    filter table is used because it always exists and stays small (it costs ~0.2 ms). When a
    batch fails the program exits: its stderr becomes the `IptablesError`, and the next batch
    starts a new process. Its line numbers count from the process's first batch, so the error
    says how many lines came before this batch. One thread at a time (a lock enforces it).
    """

    MARKER_SECTION = b"*filter\n-S INPUT\nCOMMIT\n"
    MARKER = b"-P INPUT "

    def __init__(self, command: Sequence[str], *, timeout: float = RESTORE_TIMEOUT_SECONDS) -> None:
        self._command = list(command)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._out = b""
        self._lines_before = 0

    def apply(self, text: str) -> None:
        with self._lock:
            proc = self._started()
            batch = text.encode()
            try:
                self._exchange(proc, batch + self.MARKER_SECTION)
            except IptablesError:
                self._stop(kill=True)
                raise
            self._lines_before += batch.count(b"\n") + self.MARKER_SECTION.count(b"\n")

    def close(self) -> None:
        """End the process (end of input makes it exit); a later batch starts a new one."""
        with self._lock:
            self._stop(kill=False)

    def _started(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop(kill=True)
        self._proc = subprocess.Popen(
            self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert self._proc.stdin is not None
        os.set_blocking(self._proc.stdin.fileno(), False)
        self._out = b""
        self._lines_before = 0
        return self._proc

    def _exchange(self, proc: subprocess.Popen[bytes], payload: bytes) -> None:
        """Write `payload` and read until the marker line, without blocking on either pipe."""
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        stdin, stdout, stderr = proc.stdin.fileno(), proc.stdout.fileno(), proc.stderr.fileno()
        pending = memoryview(payload)
        errors = b""
        readers = [stdout, stderr]
        deadline = time.monotonic() + self.timeout
        while not self._take_marker():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise IptablesError(f"{shlex.join(self._command)}: no answer within {self.timeout:.0f} s")
            readable, writable, _ = select.select(readers, [stdin] if pending else [], [], remaining)
            if writable:
                try:
                    pending = pending[os.write(stdin, pending[:1 << 16]):]
                except BlockingIOError:
                    pass
                except BrokenPipeError:
                    pending = pending[:0]  # it exited; reading stdout to its end says why
            if stderr in readable:
                chunk = os.read(stderr, 1 << 16)
                errors = (errors + chunk)[-4096:]
                if not chunk:
                    readers.remove(stderr)
            if stdout in readable:
                chunk = os.read(stdout, 1 << 16)
                if not chunk:
                    proc.wait(timeout=self.timeout)
                    errors += proc.stderr.read()
                    raise IptablesError(self._failure(errors.decode(errors="replace").strip()))
                self._out += chunk

    def _take_marker(self) -> bool:
        """Consume output up to the marker line; the rest of the listing is dropped next time."""
        at = self._out.find(b"\n" + self.MARKER)
        start = 0 if self._out.startswith(self.MARKER) else (at + 1 if at >= 0 else -1)
        if start < 0:
            return False
        end = self._out.find(b"\n", start)
        if end < 0:
            return False
        self._out = b""  # lines after the marker are the rest of INPUT's listing
        return True

    def _failure(self, stderr: str) -> str:
        text = f"{shlex.join(self._command)}: {stderr}"
        if self._lines_before and re.search(r"line:? \d+", stderr):
            text += f" (line numbers count {self._lines_before} lines of earlier batches)"
        return text

    def _stop(self, *, kill: bool) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if kill and proc.poll() is None:
            proc.kill()
        assert proc.stdin is not None
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


class LegacyIptables:
    """`Iptables` through the iptables-legacy programs of this machine (or of the current netns).

    With `persistent_restore`, restores go through one `RestoreSession` (a long-lived process
    that `close()` ends), for an owner that restores often (the proxy); otherwise each batch
    runs its own process, which suits one-off writers (the pod network rules).
    """

    def __init__(self, *, prefix: str = "iptables-legacy", persistent_restore: bool = False) -> None:
        self._prefix = prefix
        self._restore_cmd = [f"{self._prefix}-restore", f"--wait={LOCK_WAIT_SECONDS}", "--noflush"]
        self._session = RestoreSession(self._restore_cmd) if persistent_restore else None

    def restore(self, text: str) -> None:
        if self._session is not None:
            self._session.apply(text)
            return
        proc = subprocess.run(self._restore_cmd, input=text.encode(), capture_output=True, check=False)
        if proc.returncode != 0:
            raise IptablesError(f"{' '.join(self._restore_cmd)}: {proc.stderr.decode(errors='replace').strip()}")

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def save(self, table: str) -> str:
        cmd = [f"{self._prefix}-save", "-t", table]
        proc = subprocess.run(cmd, capture_output=True, check=False)
        if proc.returncode != 0:
            raise IptablesError(f"{' '.join(cmd)}: {proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout.decode()

    def run(self, args: Sequence[str]) -> bool:
        cmd = [self._prefix, "-w", str(LOCK_WAIT_SECONDS), *args]
        return subprocess.run(cmd, capture_output=True, check=False).returncode == 0


@dataclass
class RecordingIptables:
    """In-memory `Iptables` for unit tests: records batches, answers -C from a set of rules."""

    restores: list[str] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)
    present: set[tuple[str, ...]] = field(default_factory=set)
    saved: dict[str, str] = field(default_factory=dict)

    def restore(self, text: str) -> None:
        self.restores.append(text)

    def close(self) -> None:
        pass

    def save(self, table: str) -> str:
        return self.saved.get(table, "")

    def run(self, args: Sequence[str]) -> bool:
        self.commands.append(list(args))
        # args: -t TABLE -C|-I|-D|-N|-X CHAIN [1] spec...
        table, op, chain = args[1], args[2], args[3]
        rest = [a for a in args[4:] if a != "1"] if op == "-I" else list(args[4:])
        key = (table, chain, *rest)
        if op == "-C":
            return key in self.present
        if op == "-I":
            self.present.add(key)
        elif op == "-D":
            self.present.discard(key)
        return True


def save_line(chain: str, spec: Sequence[str]) -> str:
    """The line iptables-save prints for a rule given in save order (arguments with spaces quoted)."""
    return " ".join(["-A", chain, *(f'"{a}"' if " " in a else a for a in spec)])


def ensure_jumps(ipt: Iptables, jumps: Iterable[JumpRule], *, saved: dict[str, str] | None = None) -> bool:
    """Make every jump rule present (inserted first in its chain); True when any was missing.

    Presence is read from one iptables-save per table (`saved` may bring texts already read),
    because every `iptables -C` loads the whole table and costs ~25 ms with 1,000 services.
    A rule not found in the save text is confirmed with `-C` before inserting, so a difference
    in how some iptables version prints a rule can cost time but never add a duplicate.
    The target chain is created first when absent, since a jump to a missing chain is refused.
    """
    texts = dict(saved or {})
    repaired = False
    for jump in jumps:
        if jump.table not in texts:
            texts[jump.table] = ipt.save(jump.table)
        if save_line(jump.chain, jump.spec) in texts[jump.table].splitlines():
            continue
        if ipt.run(["-t", jump.table, "-C", jump.chain, *jump.spec]):
            continue
        repaired = True
        ipt.run(["-t", jump.table, "-N", jump.target])  # fails harmlessly when it exists
        if not ipt.run(["-t", jump.table, "-I", jump.chain, "1", *jump.spec]):
            raise IptablesError(f"could not insert {jump.table} {jump.chain} {shlex.join(jump.spec)}")
    return repaired


def remove_jumps(ipt: Iptables, jumps: Iterable[JumpRule]) -> None:
    """Delete every copy of each jump rule; rules that are absent are fine."""
    for jump in jumps:
        while ipt.run(["-t", jump.table, "-D", jump.chain, *jump.spec]):
            pass


def restore_deleting_chains(ipt: Iptables, chains_by_table: dict[str, Iterable[str]]) -> None:
    """Flush and delete our own chains in one batch per table; chains that do not exist are skipped."""
    parts: list[str] = []
    for table, chains in chains_by_table.items():
        existing = set(chain_names(ipt.save(table)))
        wanted = [c for c in chains if c in existing]
        if not wanted:
            continue
        parts.append(f"*{table}")
        parts.extend(f":{c} - [0:0]" for c in wanted)
        parts.extend(f"-X {c}" for c in wanted)
        parts.append("COMMIT")
    if parts:
        ipt.restore("\n".join(parts) + "\n")


def chain_names(save_text: str) -> list[str]:
    """Names of every chain declared in one table's iptables-save text."""
    return [line[1:].split(" ", 1)[0] for line in save_text.splitlines() if line.startswith(":")]
