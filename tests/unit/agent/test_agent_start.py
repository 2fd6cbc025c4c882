"""The agent refuses to start, with a message saying what to do, when the pause image is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.agent import Agent, AgentError
from agent.fake_runtime import FakeRuntime
from agent.runtime import PAUSE_IMAGE
from agent.settings import AgentSettings
from kajitori.client import ApiClient
from kajitori.config import ClientConfig


def agent_with(runtime: FakeRuntime, tmp_path: Path) -> Agent:
    settings = AgentSettings(kubeconfig="", node_name="n1", node_ip="127.0.0.1", runtime="docker", pods_root=tmp_path)
    # The client is never used before the check; nothing listens at this address.
    client = ApiClient(ClientConfig(server="http://127.0.0.1:9", token="t"))
    return Agent(settings, runtime=runtime, client=client)


def test_missing_pause_image_is_refused_with_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match=r"kajitori/pause:3\.9 is missing.*make images"):
        agent_with(FakeRuntime(), tmp_path)._check_runtime()


def test_present_pause_image_passes(tmp_path: Path) -> None:
    agent_with(FakeRuntime(images=[PAUSE_IMAGE]), tmp_path)._check_runtime()


def test_the_lease_is_renewed_before_the_runtime_and_the_informer_are_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A restarted agent on a busy machine must renew its heartbeat within the master's grace
    # period: building the Docker client, the informer and the rest comes after.
    import agent.agent as agent_module

    seen: list[str] = []
    client = ApiClient(ClientConfig(server="http://127.0.0.1:9", token="t"))
    monkeypatch.setattr(client, "patch", lambda kind, name, *a, **kw: seen.append(f"patch {kind.__name__} {name}"))

    def make_runtime(settings: AgentSettings) -> FakeRuntime:
        seen.append("runtime")
        return FakeRuntime(images=[PAUSE_IMAGE])

    real_informer = agent_module.Informer

    def informer(*args: Any, **kwargs: Any) -> Any:
        seen.append("informer")
        return real_informer(*args, **kwargs)

    monkeypatch.setattr(agent_module, "make_runtime", make_runtime)
    monkeypatch.setattr(agent_module, "Informer", informer)
    settings = AgentSettings(kubeconfig="", node_name="n1", node_ip="127.0.0.1", runtime="fake", pods_root=tmp_path)
    Agent(settings, client=client)
    assert seen == ["patch Lease n1", "runtime", "informer"]
