"""`kajitori apply/create --validate` against a real master: strict by default, as kubectl.

strict (or true) makes the server refuse a manifest with fields Kubernetes does not have,
naming each; warn applies it and prints the server's ``Warning: unknown field "..."``
lines on stderr; ignore (or false) applies it silently. Standard Kubernetes YAML with
fields Kajitori does not model applies under strict unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kajitori.api import Deployment
from kajitori.client import ApiClient, NotFoundError

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

TYPO = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replica: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
      - name: web
        image: nginx:1.22
        imagePullPolcy: Always
        lifecycle: {preStop: {exec: {command: [sleep, "1"]}}}
"""
STRICT_ERROR = (
    'Error from server (BadRequest): Deployment in version "v1" cannot be handled as a Deployment: strict decoding '
    'error: unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagePullPolcy"'
)
WARNINGS = [
    'Warning: unknown field "spec.replica"',
    'Warning: unknown field "spec.template.spec.containers[0].imagePullPolcy"',
]


def missing(api: ApiClient, name: str, ns: str) -> bool:
    try:
        api.get(Deployment, name, ns)
    except NotFoundError:
        return True
    return False


@pytest.mark.parametrize("command", ["apply", "create"])
def test_strict_by_default_refuses_and_names_each_field(kj: Any, api: ApiClient, ns: str, command: str) -> None:
    result = kj(command, "-f", "-", "-n", ns, input=TYPO)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == STRICT_ERROR
    assert missing(api, "web", ns)


@pytest.mark.parametrize("value", ["strict", "true", "STRICT"])
def test_validate_strict_spellings(kj: Any, api: ApiClient, ns: str, value: str) -> None:
    result = kj("apply", "-f", "-", "-n", ns, f"--validate={value}", input=TYPO)
    assert result.exit_code == 1 and result.stderr.strip() == STRICT_ERROR
    assert missing(api, "web", ns)


def test_validate_warn_applies_and_prints_the_servers_warnings(kj: Any, api: ApiClient, ns: str) -> None:
    result = kj("apply", "-f", "-", "-n", ns, "--validate=warn", input=TYPO)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "deployment.apps/web created"
    assert result.stderr.splitlines() == WARNINGS
    assert not missing(api, "web", ns)

    # Applying the same file again changes nothing, so the server has nothing to warn about.
    again = kj("apply", "-f", "-", "-n", ns, "--validate=warn", input=TYPO)
    assert again.exit_code == 0 and again.stdout.strip() == "deployment.apps/web unchanged" and again.stderr == ""

    # A changed manifest is patched; only the field it adds is new to the server.
    changed = TYPO.replace("replica: 3", "replica: 3\n  minReadySecond: 5")
    patched = kj("apply", "-f", "-", "-n", ns, "--validate", "warn", input=changed)
    assert patched.exit_code == 0 and patched.stdout.strip() == "deployment.apps/web configured"
    assert patched.stderr.splitlines() == ['Warning: unknown field "spec.minReadySecond"']

    # Under strict a patch adding a new unknown field is refused; the stored object stays as it was.
    before = api.get(Deployment, "web", ns).metadata.resourceVersion
    refused = kj("apply", "-f", "-", "-n", ns, input=changed.replace("minReadySecond", "minReadySecs"))
    assert refused.exit_code == 1
    assert 'strict decoding error: unknown field "spec.minReadySecs"' in refused.stderr
    assert api.get(Deployment, "web", ns).metadata.resourceVersion == before


@pytest.mark.parametrize("value", ["ignore", "false"])
def test_validate_ignore_applies_silently(kj: Any, api: ApiClient, ns: str, value: str) -> None:
    result = kj("create", "-f", "-", "-n", ns, "--validate", value, input=TYPO)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "deployment.apps/web created" and result.stderr == ""


def test_an_unknown_validate_value_is_refused_before_anything_is_sent(kj: Any, api: ApiClient, ns: str) -> None:
    result = kj("apply", "-f", "-", "-n", ns, "--validate=loose", input=TYPO)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        'error: invalid - validate option "loose"; must be one of: strict (or true), warn, ignore (or false)'
    )
    assert missing(api, "web", ns)


def test_the_examples_apply_under_strict(kj: Any, ns: str) -> None:
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert files
    for file in files:
        # Objects that name a namespace (default, or kube-system for the ingress Service) go into the test's.
        text = re.sub(r"(?m)^(\s+)namespace: \S+$", rf"\1namespace: {ns}", file.read_text())
        result = kj("apply", "-f", "-", "-n", ns, input=text)
        assert result.exit_code == 0, (file, result.output)
        assert result.stderr == "", file
