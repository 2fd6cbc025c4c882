"""The seam between Kajitori's network code and the kernel's legacy iptables.

Owns the only place that runs the `iptables-legacy*` programs: batches go in through
`iptables-legacy-restore --noflush` (one atomic table replace per table in the batch), single
checks and edits of the built-in chains' jump rules go through `iptables-legacy -C/-I/-D`.

`Iptables` is a small Protocol so rule engines can be driven by `RecordingIptables` in unit tests
and by `LegacyIptables` on a node. Every failure of the real programs is raised as
`IptablesError` with the program's own message.

Jump rules (`JumpRule`) are the hooks our chains hang from in built-in chains (PREROUTING,
FORWARD, ...). They are the only rules we ever place in chains we do not own, and
`ensure_jumps` / `remove_jumps` are the only functions that do it.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

# Seconds to wait for the xtables lock: dockerd and the pod network code take it too.
LOCK_WAIT_SECONDS = 5


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


class LegacyIptables:
    """`Iptables` through the iptables-legacy programs of this machine (or of the current netns)."""

    def __init__(self, *, prefix: str = "iptables-legacy") -> None:
        self._prefix = prefix

    def restore(self, text: str) -> None:
        cmd = [f"{self._prefix}-restore", f"--wait={LOCK_WAIT_SECONDS}", "--noflush"]
        proc = subprocess.run(cmd, input=text.encode(), capture_output=True, check=False)
        if proc.returncode != 0:
            raise IptablesError(f"{' '.join(cmd)}: {proc.stderr.decode(errors='replace').strip()}")

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
