"""kubectl 1.33's own port-forward frames, recorded against a small fake endpoint (tests.support.spdy_capture).

The unit tests decode the recording kept in tests/unit/streaming/fixtures/ and replay it
into the master's SPDY session. This test makes a new recording with the kubectl binary
here and checks it still reads as the kept one (frame by frame; the bytes may differ
where kubectl's compressor or timing does); with KAJITORI_RECORD_FIXTURES=1 it writes
the kept one anew.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import orjson
import pytest

from kajitori.streaming import spdy
from tests.integration.streams.conftest import kubectl_binary
from tests.support.spdy_capture import capture_port_forward_open

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[2] / "unit" / "streaming" / "fixtures" / "kubectl-1.33-port-forward-open.json"


def test_kubectl_1_33_opens_a_forwarded_connection_as_recorded(tmp_path: Path) -> None:
    kubectl = kubectl_binary("1.33")
    messages = capture_port_forward_open(kubectl, tmp_path)
    if os.environ.get("KAJITORI_RECORD_FIXTURES") == "1":
        version = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, check=True).stdout
        recording = {
            "kubectl": orjson.loads(version)["clientVersion"]["gitVersion"],
            "what": "the WebSocket messages kubectl port-forward pod/capture LOCAL:8080 sent for one local connection "
            "that wrote 'hello from the capture\\n' (tests/support/spdy_capture.py)",
            "messages": [m.hex() for m in messages],
        }
        FIXTURE.write_bytes(orjson.dumps(recording, option=orjson.OPT_INDENT_2) + b"\n")
    kept = [bytes.fromhex(m) for m in orjson.loads(FIXTURE.read_bytes())["messages"]]
    assert frames(messages) == frames(kept)


def frames(messages: list[bytes]) -> list[spdy.Frame]:
    """The frames, but kubectl's keep-alive PINGs (every 5 s: whether one falls in a recording is timing)."""
    return [f for f in spdy.Decoder().feed(b"".join(messages)) if not (isinstance(f, spdy.ControlFrame) and f.type == spdy.PING)]
