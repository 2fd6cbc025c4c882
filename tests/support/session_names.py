"""Names of what one test session makes on the machine's shared dockerd, and finding what
sessions that are gone left behind.

Several engineers and CI run the suite on one machine and one dockerd at once. With fixed
names a session met another's objects: an agent removes every container labelled with its
node's name that its own master does not know, so two sessions' agents for
``agent-test-node`` removed each other's pods; and a fixture that removed "everything
labelled io.kajitori.test=agent" removed the other session's containers and network. So a
session suffixes the names it gives with its pytest process's PID (unique among live
processes) and removes only its own objects, or those of a session whose process is gone.
"""

from __future__ import annotations

import os
import re

SESSION = str(os.getpid())
"""This session's mark: the PID of the pytest process, in names and in the session label."""

SESSION_LABEL = "io.kajitori.test.session"


def session_name(base: str) -> str:
    """``base`` with this session's suffix (still a DNS-1123 label for node names)."""
    return f"{base}-{SESSION}"


def session_of(name: str, base: str) -> str | None:
    """The session suffix of a name ``session_name(base)`` made, or None for other names."""
    found = re.fullmatch(re.escape(base) + r"-(\d+)", name)
    return found.group(1) if found else None


def is_gone(session: str | None) -> bool:
    """True for the mark of a session whose pytest process no longer runs (its leftovers may go)."""
    return session is not None and session != SESSION and not os.path.exists(f"/proc/{session}")
