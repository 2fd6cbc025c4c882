"""The client reads the server's ``Warning: 299 - "..."`` headers back into their texts."""

from __future__ import annotations

import pytest

from kajitori.client import parse_warnings
from master.apiserver.app import warning_header


@pytest.mark.parametrize(
    ("values", "texts"),
    [
        pytest.param(['299 - "unknown field \\"spec.replica\\""'], ['unknown field "spec.replica"'], id="kube-apiserver"),
        pytest.param(['299 - "a", 299 - "b"'], ["a", "b"], id="folded-into-one-header"),
        pytest.param(['299 - "back \\\\ slash"'], ["back \\ slash"], id="escaped-backslash"),
        pytest.param(['199 proxy "stale"', '299 - "kept"'], ["kept"], id="only-299"),
        pytest.param([], [], id="none"),
    ],
)
def test_parse_warnings(values: list[str], texts: list[str]) -> None:
    assert parse_warnings(values) == texts


@pytest.mark.parametrize(
    "text", ['unknown field "spec.template.spec.containers[0].imagePullPolcy"', 'a \\ "b"', "plain"]
)
def test_what_the_server_writes_the_client_reads(text: str) -> None:
    assert parse_warnings([warning_header(text)]) == [text]
