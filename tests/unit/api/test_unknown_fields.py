"""The unknown-field walk of the API models: typos are named by path, Kubernetes fields are not.

A field is unknown when its model neither models it nor names it in ``UNMODELLED``; the
insides of unmodelled fields (securityContext, lifecycle, ...) are opaque.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kajitori.api.meta import KubeModel
from kajitori.api.registry import RESOURCES, by_kind

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

# A Deployment as people write it for Kubernetes, with many fields Kajitori does not model.
STANDARD_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
  annotations: {team: a}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      automountServiceAccountToken: false
      dnsPolicy: ClusterFirst
      enableServiceLinks: false
      priorityClassName: high
      imagePullSecrets: [{name: regcred}]
      securityContext: {runAsNonRoot: true, fsGroup: 2000, seccompProfile: {type: RuntimeDefault}}
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
         labelSelector: {matchLabels: {app: web}}}
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: web}}}
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms: [{matchExpressions: [{key: disk, operator: In, values: [ssd]}]}]
      tolerations:
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 30}
      initContainers:
      - {name: init, image: "busybox:1", command: [sh, -c, "true"], restartPolicy: Always}
      containers:
      - name: web
        image: nginx:1.22
        imagePullPolicy: IfNotPresent
        ports: [{containerPort: 80, name: http}]
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
        lifecycle: {preStop: {exec: {command: [sleep, "5"]}}}
        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
        readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 5, terminationGracePeriodSeconds: 10}
        volumeMounts: [{name: cache, mountPath: /cache, mountPropagation: None}]
        stdinOnce: false
      volumes:
      - {name: cache, emptyDir: {}}
      - {name: data, persistentVolumeClaim: {claimName: data}}
      - {name: info, downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}}
"""

STANDARD_SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
  loadBalancerSourceRanges: [192.168.56.0/24]
  allocateLoadBalancerNodePorts: true
  externalTrafficPolicy: Local
  healthCheckNodePort: 30999
"""


def model_of(doc: dict[str, Any]) -> KubeModel:
    return by_kind(doc["apiVersion"], doc["kind"]).model.model_validate(doc)


def with_change(text: str, change: Any) -> dict[str, Any]:
    doc = yaml.safe_load(text)
    change(doc)
    return doc  # type: ignore[no-any-return]


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("doc", "unknown"),
    [
        pytest.param(yaml.safe_load(STANDARD_DEPLOYMENT), [], id="standard-deployment"),
        pytest.param(yaml.safe_load(STANDARD_SERVICE), [], id="standard-service"),
        pytest.param(
            with_change(STANDARD_DEPLOYMENT, lambda d: d["spec"].update(replica=3)), ["spec.replica"], id="deployment-spec-typo"
        ),
        pytest.param(
            with_change(STANDARD_DEPLOYMENT, lambda d: _pod_spec(d)["containers"][0].update(imagePullPolcy="Always")),
            ["spec.template.spec.containers[0].imagePullPolcy"],
            id="container-typo-by-index",
        ),
        pytest.param(
            with_change(STANDARD_DEPLOYMENT, lambda d: _pod_spec(d)["initContainers"][0].update(imagePullPolcy="Always")),
            ["spec.template.spec.initContainers[0].imagePullPolcy"],
            id="init-container-typo",
        ),
        pytest.param(
            with_change(STANDARD_DEPLOYMENT, lambda d: d["metadata"].update(lables={"a": "b"})),
            ["metadata.lables"],
            id="metadata-typo",
        ),
        pytest.param(
            with_change(STANDARD_DEPLOYMENT, lambda d: d["spec"].update(templates={"spec": {"x": 1}})),
            ["spec.templates"],
            id="insides-of-an-unknown-field-reported-once",
        ),
        pytest.param(
            with_change(STANDARD_DEPLOYMENT, lambda d: _pod_spec(d)["securityContext"].update(notAField=True)),
            [],
            id="unmodelled-field-is-opaque",
        ),
        pytest.param(
            with_change(STANDARD_DEPLOYMENT, lambda d: _pod_spec(d)["tolerations"][0].update(tolerationSecond=5)),
            ["spec.template.spec.tolerations[0].tolerationSecond"],
            id="toleration-typo",
        ),
        pytest.param(
            with_change(
                STANDARD_DEPLOYMENT,
                lambda d: (d["spec"].update(replica=3), _pod_spec(d)["containers"][0]["ports"][0].update(contanerPort=8)),
            ),
            ["spec.replica", "spec.template.spec.containers[0].ports[0].contanerPort"],
            id="several-in-tree-order",
        ),
        pytest.param(
            with_change(STANDARD_SERVICE, lambda d: d["spec"].update(prots=[{"port": 1}])), ["spec.prots"], id="service-typo"
        ),
        pytest.param(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "date": {"a": "b"}},
            ["date"],
            id="top-level-typo",
        ),
        pytest.param(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "selfLink": "/x", "managedFields": []}},
            [],
            id="server-written-metadata",
        ),
    ],
)
def test_unknown_fields(doc: dict[str, Any], unknown: list[str]) -> None:
    assert model_of(doc).unknown_fields() == unknown


def test_the_example_manifests_have_no_unknown_fields() -> None:
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert files
    for file in files:
        for doc in yaml.safe_load_all(file.read_text()):
            assert model_of(doc).unknown_fields() == [], file


def _models(model: type[KubeModel], seen: set[type[KubeModel]]) -> None:
    if model in seen:
        return
    seen.add(model)
    for info in model.model_fields.values():
        for arg in _types_in(info.annotation):
            if isinstance(arg, type) and issubclass(arg, KubeModel):
                _models(arg, seen)


def _types_in(annotation: Any) -> list[Any]:
    args = getattr(annotation, "__args__", None)
    if not args:
        return [annotation]
    return [t for arg in args for t in _types_in(arg)]


def test_no_field_is_both_modelled_and_unmodelled() -> None:
    seen: set[type[KubeModel]] = set()
    for resource in RESOURCES:
        _models(resource.model, seen)
    assert len(seen) > 30
    for model in seen:
        both = model.UNMODELLED & set(model.model_fields)
        assert not both, (model.__name__, both)
