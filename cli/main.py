"""Entry point of the `kajitori` command: the app of cli/app.py with every command module registered.

Each `*_cmd.py` module adds its commands to `app` when imported; this module only imports
them (heavy imports such as docker or iptables stay inside the commands' bodies).
"""

from __future__ import annotations

# The order of these imports is the order of the commands in `kajitori --help`
# (command groups such as `create`, `node`, `rollout` are listed after the commands).
# isort: off
from cli import apply_cmd  # noqa: F401
from cli import daemons_cmd  # noqa: F401
from cli import discovery_cmd  # noqa: F401
from cli import objects_cmd  # noqa: F401
from cli import object_changes_cmd  # noqa: F401
from cli import imperative_cmd  # noqa: F401
from cli import labels_cmd  # noqa: F401
from cli import node_cmd  # noqa: F401
from cli import node_maintenance_cmd  # noqa: F401
from cli import pods_cmd  # noqa: F401
from cli import exec_cmd  # noqa: F401
from cli import port_forward_cmd  # noqa: F401
from cli import cp_cmd  # noqa: F401
from cli import rollout_cmd  # noqa: F401
from cli import explain_cmd  # noqa: F401
from cli import store_cmd  # noqa: F401
from cli import certs_cmd  # noqa: F401
from cli import token_cmd  # noqa: F401
# isort: on
from cli.app import app

__all__ = ["app"]
