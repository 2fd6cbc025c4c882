"""Jobs against a real master with controllers and hollow nodes whose pods finish on cue.

A pod annotated ``kajitori.io/hollow-exit-code`` ends after ``kajitori.io/hollow-run-seconds``
with that exit code (master/hollow_nodes.py); the master runs with a 0.2 s Job backoff.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from kajitori.api.batch import Job
from kajitori.api.core import Event, Pod
from kajitori.api.registry import by_model
from kajitori.client import ApiClient, ApiError
from kajitori.informer import Informer
from master.controllers.pod_state import is_active
from master.hollow_nodes import EXIT_CODE_ANNOTATION, RUN_SECONDS_ANNOTATION, HollowCluster
from tests.integration.controllers.conftest import wait_for
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster_master(tmp_path: Path) -> Iterator[MasterProcess]:
    # Overrides conftest's: recreations after failures wait 0.2 s, 0.4 s, ... instead of 10 s, 20 s, ...
    proc = MasterProcess(tmp_path / "master", extra_args=["--job-backoff", "0.2"]).start()
    yield proc
    proc.stop()


def job(name: str, *, exit_code: int | None = 0, run_s: float = 0.5, restart: str = "Never", **spec: Any) -> Job:
    annotations = {} if exit_code is None else {EXIT_CODE_ANNOTATION: str(exit_code), RUN_SECONDS_ANNOTATION: str(run_s)}
    template = {
        "metadata": {"labels": {"app": name}, "annotations": annotations},
        "spec": {"restartPolicy": restart, "containers": [{"name": "work", "image": "kajitori/busybox:1"}]},
    }
    meta = {"name": name, "namespace": "default", "labels": {"app": name}}
    return Job.model_validate({"metadata": meta, "spec": {**spec, "template": template}})


def job_pods(client: ApiClient, name: str) -> list[Pod]:
    return client.list(Pod, "default", label_selector=f"job-name={name}").items


def condition(client: ApiClient, name: str, kind: str) -> Any:
    cond = client.get(Job, name, "default").status.condition(kind)
    return cond if cond is not None and cond.status == "True" else None


def reasons(client: ApiClient, name: str) -> list[str]:
    events = client.list(Event, "default").items
    return [e.reason or "" for e in events if e.involvedObject.kind == "Job" and e.involvedObject.name == name]


def test_completions_3_parallelism_2_never_runs_more_than_2(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a", "node-b"])
    informer = Informer(client, Pod, namespace="default", label_selector="job-name=calc")
    most = [0]
    lock = threading.Lock()

    def check(*_args: object) -> None:
        with lock:
            most[0] = max(most[0], sum(1 for p in informer.list() if is_active(p)))

    informer.add_handlers(check, check, check)
    informer.start()
    try:
        assert informer.wait_synced(60)  # it sees every pod from the first
        # Each pod runs 2 s, so the second starts well before the first ends even on a loaded machine.
        client.create(job("calc", completions=3, parallelism=2, run_s=2.0))
        done = wait_for(lambda: condition(client, "calc", "Complete"), what="Complete")
    finally:
        informer.stop()
    assert done.reason is None
    status = client.get(Job, "calc", "default").status
    assert (status.succeeded, status.failed, status.active) == (3, None, None)
    assert status.startTime and status.completionTime
    assert most[0] == 2, "two pods at a time, never more"
    pods = job_pods(client, "calc")
    assert [p.status.phase for p in pods] == ["Succeeded"] * 3, "finished pods stay for their logs"
    ref = pods[0].metadata.ownerReferences[0]  # type: ignore[index]
    assert (ref.kind, ref.name, ref.controller) == ("Job", "calc", True)
    assert {"SuccessfulCreate", "Completed"} <= set(reasons(client, "calc"))


def test_server_generates_the_selector_and_labels_and_refuses_restart_always(client: ApiClient) -> None:
    created = client.create(job("gen", exit_code=None, suspend=True))
    uid = created.metadata.uid
    assert created.spec.selector is not None and created.spec.selector.matchLabels == {"controller-uid": uid}
    labels = created.spec.template.metadata.labels or {}
    assert {k: labels[k] for k in ("controller-uid", "job-name", "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name")} == {
        "controller-uid": uid, "job-name": "gen", "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "gen"
    }  # fmt: skip
    assert created.metadata.labels == {"app": "gen"}, "a Job with labels keeps its own"
    unlabelled = job("bare", exit_code=None, suspend=True)
    unlabelled.metadata.labels = None
    assert (client.create(unlabelled).metadata.labels or {}).get("job-name") == "bare", "one without takes its template's"
    assert created.spec.completions == 1 and created.spec.backoffLimit == 6
    body = job("always").to_dict()
    body["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    with pytest.raises(ApiError) as refused:
        client.create_raw(by_model(Job), body)
    assert refused.value.code == 422
    assert [c.get("field") for c in refused.value.causes] == ["spec.template.spec.restartPolicy"]
    with pytest.raises(ApiError) as immutable:
        client.patch(Job, "gen", {"spec": {"completions": 5}}, "default")
    assert immutable.value.code == 422


def test_failures_past_backoff_limit_fail_the_job(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a"])
    client.create(job("flaky", exit_code=1, run_s=0.2, backoffLimit=2))
    failed = wait_for(lambda: condition(client, "flaky", "Failed"), what="Failed")
    assert failed.reason == "BackoffLimitExceeded"
    status = client.get(Job, "flaky", "default").status
    assert (status.failed, status.succeeded, status.active) == (3, None, None)
    assert status.completionTime is None
    assert [p.status.phase for p in job_pods(client, "flaky")] == ["Failed"] * 3, "one try, then two retries"
    assert "BackoffLimitExceeded" in reasons(client, "flaky")


def test_restarts_in_place_count_against_backoff_limit(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a"])
    client.create(job("restarts", exit_code=1, run_s=0.2, restart="OnFailure", backoffLimit=2))
    failed = wait_for(lambda: condition(client, "restarts", "Failed"), what="Failed")
    assert failed.reason == "BackoffLimitExceeded"
    wait_for(lambda: not [p for p in job_pods(client, "restarts") if is_active(p)], what="the restarting pod deleted")
    assert client.get(Job, "restarts", "default").status.failed == 1, "the deleted active pod counts as failed"


def test_active_deadline_fails_the_job_and_deletes_its_pods(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a"])
    client.create(job("slow", exit_code=None, activeDeadlineSeconds=1, parallelism=2, completions=2))
    failed = wait_for(lambda: condition(client, "slow", "Failed"), what="Failed")
    assert failed.reason == "DeadlineExceeded"
    wait_for(lambda: not job_pods(client, "slow"), what="its running pods deleted")
    status = client.get(Job, "slow", "default").status
    assert (status.active, status.failed) == (None, 2)
    assert "DeadlineExceeded" in reasons(client, "slow")


def test_suspend_scales_to_zero_and_resume_finishes(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a"])
    client.create(job("later", exit_code=None, parallelism=2, completions=2))
    wait_for(lambda: client.get(Job, "later", "default").status.active == 2, what="2 active")
    client.patch(Job, "later", {"spec": {"suspend": True}}, "default")
    wait_for(lambda: condition(client, "later", "Suspended"), what="Suspended")
    wait_for(lambda: not job_pods(client, "later"), what="pods deleted while suspended")
    assert client.get(Job, "later", "default").status.failed is None, "suspension is not failure"
    # Resume with pods that finish: the template is immutable, so a new Job shows the resume.
    client.create(job("resumed", suspend=True, completions=2, parallelism=2))
    wait_for(lambda: condition(client, "resumed", "Suspended"), what="Suspended from the start")
    assert job_pods(client, "resumed") == []
    client.patch(Job, "resumed", {"spec": {"suspend": False}}, "default")
    wait_for(lambda: condition(client, "resumed", "Complete"), what="Complete after resume")
    suspended = client.get(Job, "resumed", "default").status.condition("Suspended")
    assert suspended is not None and (suspended.status, suspended.reason) == ("False", "JobResumed")
    assert {"Suspended", "Resumed"} <= set(reasons(client, "resumed"))


def test_work_queue_job_completes_when_its_pods_succeed(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a"])
    created = client.create(job("queue", parallelism=2, run_s=0.3))
    assert created.spec.completions is None
    wait_for(lambda: condition(client, "queue", "Complete"), what="Complete")
    assert client.get(Job, "queue", "default").status.succeeded == 2


def test_deleting_a_job_deletes_its_pods_and_ttl_deletes_a_finished_job(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a"])
    client.create(job("gone", completions=2, run_s=0.2))
    wait_for(lambda: condition(client, "gone", "Complete"), what="Complete")
    assert len(job_pods(client, "gone")) == 2
    client.delete(Job, "gone", "default", propagation_policy="Background")
    wait_for(lambda: not job_pods(client, "gone"), what="its pods collected")

    # TTL 0: deleted the moment it finishes, so a poll would (almost) never see it Complete. A watch
    # from a version taken before the create replays every change, so it sees both, in order.
    since = client.list(Job, "default").resource_version
    client.create(job("shortlived", run_s=0.2, ttlSecondsAfterFinished=0))
    changes = job_changes(client, "shortlived", since)
    assert changes[-1][0] == "DELETED", f"the TTL deleted it: {changes}"
    assert ("MODIFIED", True, False) in changes, f"it was Complete before anyone deleted it: {changes}"
    wait_for(lambda: not job_pods(client, "shortlived"), what="its pods collected")


def job_changes(client: ApiClient, name: str, since: str) -> list[tuple[str, bool, bool]]:
    """(event type, Complete?, being deleted?) per change of Job ``name`` after version ``since``, up to its deletion."""
    changes: list[tuple[str, bool, bool]] = []
    for event in client.watch(Job, "default", resource_version=since, field_selector=f"metadata.name={name}", timeout_seconds=120):
        if event.object is None:
            continue  # a bookmark
        cond = event.object.status.condition("Complete")
        deleting = event.object.metadata.deletionTimestamp is not None
        changes.append((event.type, cond is not None and cond.status == "True", deleting))
        if event.type == "DELETED":
            break
    return changes


def test_get_and_describe_jobs_as_kubectl_prints_them(client: ApiClient, hollow: Callable[..., HollowCluster],
                                                      cluster_master: MasterProcess) -> None:  # fmt: skip
    hollow(["node-a"])
    client.create(job("pi", completions=2, parallelism=2, run_s=0.2))
    wait_for(lambda: condition(client, "pi", "Complete"), what="Complete")
    kube = ["--kubeconfig", str(cluster_master.kubeconfig)]
    runner = CliRunner()
    got = runner.invoke(app, ["get", "jobs", *kube])
    assert got.exit_code == 0, got.output
    header, row = got.output.splitlines()
    assert header.split() == ["NAME", "COMPLETIONS", "DURATION", "AGE"]
    assert row.split()[:2] == ["pi", "2/2"]
    described = runner.invoke(app, ["describe", "job", "pi", *kube])
    assert described.exit_code == 0, described.output
    text = described.output
    assert "Pods Statuses:" in text and "0 Active (0 Ready) / 2 Succeeded / 0 Failed" in text
    assert "Completions:" in text and "Completed At:" in text
    assert "Completed" in text.split("Events:")[1]
