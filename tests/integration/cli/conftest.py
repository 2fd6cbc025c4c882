"""The CLI's tests: `kajitori ARGS...` run in-process against the shared test master, and a
namespace of each test's own (so tables list only what the test made)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from kajitori.api.core import Namespace
from kajitori.client import ApiClient
from tests.support.cli import invoker
from tests.support.master_process import MasterProcess


@pytest.fixture
def kj(master: MasterProcess) -> Callable[..., Any]:
    return invoker(master)


@pytest.fixture
def ns(api: ApiClient) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    api.create(Namespace.model_validate({"metadata": {"name": name}}))
    return name
