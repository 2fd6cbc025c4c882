"""Real nginx (Debian's, the nginx:1.22 image) accepts every configuration of the render tables.

Each case of tests/unit/net/test_ingress_render.py is rendered with real certificate files and
checked with `nginx -t -c` in one short-lived, labelled container without a network (nginx -t
opens the pid file, so the folder is mounted writable); nothing listens or is sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker
import pytest

from net.ingress.controller import ensure_fallback_certificate
from net.ingress.render import RenderInputs, RenderSettings, render
from tests.support.ingress_rig import LABELS
from tests.support.session_names import session_name
from tests.unit.net.test_ingress_render import CASES, ENDPOINTS, SERVICES, TLS

pytestmark = pytest.mark.integration


def test_nginx_accepts_every_rendered_case(tmp_path: Path) -> None:
    ensure_fallback_certificate(tmp_path / "fallback.pem")
    # The table's Secret holds placeholder bytes; nginx -t reads certificates, so give it a real pair.
    pem = (tmp_path / "fallback.pem").read_text()
    cert, key = pem.split("-----BEGIN PRIVATE KEY-----")
    secret: dict[str, Any] = {**TLS, "data": {"tls.crt": _b64(cert), "tls.key": _b64("-----BEGIN PRIVATE KEY-----" + key)}}
    settings = RenderSettings(cert_dir=str(tmp_path / "certs"), pid_file=str(tmp_path / "nginx.pid"),
                              fallback_cert=str(tmp_path / "fallback.pem"))  # fmt: skip
    (tmp_path / "certs").mkdir()
    names = []
    for number, case in enumerate(CASES):
        ingresses = case.values[0]
        assert isinstance(ingresses, list)  # pytest.param keeps its values as objects
        rendered = render(RenderInputs(ingresses, SERVICES, ENDPOINTS, {("default", "tls-a"): secret}), settings)
        for name, data in rendered.certificates.items():
            (tmp_path / "certs" / name).write_bytes(data)
        path = tmp_path / f"case-{number}.conf"
        path.write_text(rendered.config)
        names.append((case.id, path))
    script = "; ".join(f'nginx -t -q -c {path} || echo "FAILED {case_id}"' for case_id, path in names)
    output = docker.from_env(timeout=120).containers.run(
        "nginx:1.22", ["sh", "-c", script], remove=True, stderr=True, network_mode="none", labels=LABELS,
        name=session_name("kt-ingress-render"), volumes={str(tmp_path): {"bind": str(tmp_path), "mode": "rw"}},
    ).decode()  # fmt: skip
    assert "FAILED" not in output and "emerg" not in output, output


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()
