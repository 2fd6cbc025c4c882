"""`kajitori agent` and `kajitori proxy` import only what they need before the agent's first Lease renewal.

Checked in a fresh interpreter, without timing: after the console script has picked the
app for `agent` and the agent has imported what its first renewal needs, none of the other
command modules, the API server or the agent's heavy parts (Docker SDK, loops) is loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

NOT_BEFORE_THE_FIRST_RENEWAL = [
    "cli.main", "cli.objects_cmd", "cli.apply_cmd", "cli.describers", "cli.printers",
    "master", "fastapi", "uvicorn", "docker", "agent.agent",
]  # fmt: skip

PROBE = """
import json, sys
from cli.daemon_entry import app_for
app = app_for(sys.argv[1:])
names = sorted(c.name or c.callback.__name__ for c in app.registered_commands)
# What `kajitori agent` imports before its first renewal (cli/daemons_cmd.py's agent()):
from agent.node_status import renew_node_lease, detect_node_ip
from agent.settings import AgentSettings
from kajitori.client import ApiClient
print(json.dumps({"commands": names, "modules": sorted(sys.modules)}))
"""


def probe(*args: str) -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("command", [pytest.param("agent", id="agent"), pytest.param("proxy", id="proxy")])
def test_the_node_daemons_start_without_the_other_commands(command: str) -> None:
    seen = probe(command, "--help")
    assert command in seen["commands"]
    loaded = [name for name in seen["modules"] if any(name == m or name.startswith(m + ".") for m in NOT_BEFORE_THE_FIRST_RENEWAL)]
    assert loaded == []


def test_every_other_command_line_gets_every_command() -> None:
    assert {"agent", "apply", "get"} <= set(probe("get", "pods")["commands"])
