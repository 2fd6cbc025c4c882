"""The Job model's defaults and rules, and its `get` columns, as Kubernetes and kubectl have them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from kajitori.api.batch import Job
from kajitori.tables import job_cells, job_completions, job_duration

PI = """
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    spec:
      containers:
      - name: pi
        image: perl:5.34.0
        command: ["perl",  "-Mbignum=bpi", "-wle", "print bpi(2000)"]
      restartPolicy: Never
  backoffLimit: 4
"""


def job_body(restart: str = "Never", **spec: Any) -> dict[str, Any]:
    template = {"spec": {"restartPolicy": restart, "containers": [{"name": "c", "image": "img"}]}}
    return {"metadata": {"name": "j"}, "spec": {"template": template, **spec}}


def test_the_tutorial_pi_job_has_kubernetes_defaults_and_no_unknown_fields() -> None:
    import yaml

    job = Job.model_validate(yaml.safe_load(PI))
    spec = job.spec
    assert (spec.parallelism, spec.completions, spec.backoffLimit, spec.completionMode, spec.suspend) == (1, 1, 4, "NonIndexed", False)
    assert job.unknown_fields() == []


@pytest.mark.parametrize(
    ("given", "completions", "parallelism"),
    [
        pytest.param({}, 1, 1, id="neither: one pod once"),
        pytest.param({"parallelism": 3}, None, 3, id="parallelism alone: a work queue"),
        pytest.param({"completions": 5}, 5, 1, id="completions alone"),
    ],
)
def test_completions_default_as_kubernetes(given: dict[str, Any], completions: int | None, parallelism: int) -> None:
    spec = Job.model_validate(job_body(**given)).spec
    assert (spec.completions, spec.parallelism) == (completions, parallelism)


def test_a_work_queue_job_round_trips_without_gaining_completions() -> None:
    stored = Job.model_validate(job_body(parallelism=2)).to_dict()
    assert "completions" not in stored["spec"]
    assert Job.model_validate(stored).spec.completions is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(job_body("Always"), "spec.template.spec.restartPolicy", id="restartPolicy Always"),
        pytest.param(job_body(completionMode="Indexed"), "spec.completionMode", id="Indexed not implemented"),
        pytest.param(job_body(selector={"matchLabels": {"a": "b"}}, manualSelector=True),
                     "spec.template.metadata.labels", id="manual selector must match"),
    ],
)
def test_refused_jobs_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Job.model_validate(body)
    assert f"{field}: " in str(refused.value)


def test_negative_backoff_limit_is_refused() -> None:
    with pytest.raises(ValidationError):
        Job.model_validate(job_body(backoffLimit=-1))


@pytest.mark.parametrize(
    ("spec", "status", "text"),
    [
        pytest.param({"completions": 3}, {"succeeded": 2}, "2/3", id="fixed completions"),
        pytest.param({"parallelism": 3}, {}, "0/1 of 3", id="work queue"),
        pytest.param({"parallelism": 1}, {"succeeded": 1}, "1/1", id="work queue of one"),
    ],
)
def test_completions_column(spec: dict[str, Any], status: dict[str, Any], text: str) -> None:
    assert job_completions(spec, status) == text


def test_duration_runs_until_completion() -> None:
    assert job_duration({}, 100.0) == ""
    assert job_duration({"startTime": "1970-01-01T00:00:10Z"}, 100.0) == "90s"
    assert job_duration({"startTime": "1970-01-01T00:00:10Z", "completionTime": "1970-01-01T00:00:15Z"}, 100.0) == "5s"


def test_job_row_as_kubectl_wide() -> None:
    obj = Job.model_validate(job_body(completions=2)).to_dict()
    obj["metadata"]["creationTimestamp"] = "1970-01-01T00:00:00Z"
    obj["spec"]["selector"] = {"matchLabels": {"controller-uid": "u"}}
    assert job_cells(obj, 65.0) == ["j", "0/2", "", "65s", "c", "img", "controller-uid=u"]
