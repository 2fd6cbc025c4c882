"""Kubernetes' StatefulSet Basics tutorial on the real lab: a headless Service `nginx` and a
StatefulSet `web` of 2 nginx replicas with a `www` claim template (local-path volumes).

web-0 is Running and Ready before web-1 starts; each pod writes its hostname into its volume and
serves it; from a pod, `web-0.nginx` resolves to web-0's IP; deleting both pods brings back the
same names, the same claims and the same data; scaling to 5 and back to 2 keeps www-web-0 and
www-web-1. (The volume is mounted at /var/www/html/data: Kajitori's nginx image serves
/var/www/html, not the official image's /usr/share/nginx/html, and writes its own index page at
start.) Everything runs in a namespace of its own (the lab's default namespace has the nginx
demo's Service `nginx`); deleting the namespace at the end takes the claims, and with them the
local-path volumes, whose directories the nodes' agents remove.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kajitori.api.apps import StatefulSet
from kajitori.api.core import Namespace, Pod
from kajitori.api.storage import PersistentVolume, PersistentVolumeClaim
from kajitori.client import ApiClient, NotFoundError
from kajitori.clock import parse_time
from lab.failover import wait_until
from master.controllers.pod_state import is_ready
from tests.e2e.conftest import ADMIN_KUBECONFIG, ROOT
from tests.e2e.lab_access import ensure_tools_pod, machine_sh, pod_exec

pytestmark = pytest.mark.e2e

KAJITORI = str(ROOT / ".venv/bin/kajitori")
NS = "e2e-sts"
MANIFEST = f"""\
apiVersion: v1
kind: Service
metadata:
  name: nginx
  namespace: {NS}
  labels:
    app: nginx
spec:
  ports:
  - port: 80
    name: web
  clusterIP: None
  selector:
    app: nginx
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  namespace: {NS}
spec:
  serviceName: "nginx"
  replicas: 2
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: nginx
        image: nginx:1.22
        ports:
        - containerPort: 80
          name: web
        volumeMounts:
        - name: www
          mountPath: /var/www/html/data
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ "ReadWriteOnce" ]
      resources:
        requests:
          storage: 1Gi
"""


def kajitori(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KAJITORI, *args, "--kubeconfig", str(ADMIN_KUBECONFIG)], capture_output=True, text=True,
                          input=stdin, cwd=ROOT, timeout=120)  # fmt: skip


def pod(api: ApiClient, name: str) -> Pod | None:
    try:
        return api.get(Pod, name, NS)
    except NotFoundError:
        return None


def ready(api: ApiClient, name: str) -> bool:
    found = pod(api, name)
    return found is not None and found.metadata.deletionTimestamp is None and found.status.phase == "Running" and is_ready(found)


def ready_since(found: Pod) -> float:
    return next(parse_time(c.lastTransitionTime) or 0.0 for c in found.status.conditions or [] if c.type == "Ready")


def namespace_gone(api: ApiClient) -> bool:
    try:
        api.get(Namespace, NS)
    except NotFoundError:
        return True
    return False


@pytest.fixture
def tutorial(lab_api: ApiClient, lab: Path) -> Iterator[ApiClient]:
    if not namespace_gone(lab_api):  # left over from an interrupted run
        lab_api.delete(Namespace, NS)
        wait_until("the earlier e2e-sts namespace gone", lambda: namespace_gone(lab_api), timeout_s=180)
    lab_api.create(Namespace.model_validate({"metadata": {"name": NS}}))
    yield lab_api
    lab_api.delete(Namespace, NS)
    wait_until("the e2e-sts namespace gone", lambda: namespace_gone(lab_api), timeout_s=180)


def test_statefulset_basics(tutorial: ApiClient) -> None:
    api = tutorial
    applied = kajitori("apply", "-f", "-", stdin=MANIFEST)
    assert applied.returncode == 0, applied.stderr
    started = time.monotonic()
    wait_until("web-0 and web-1 Running and Ready", lambda: ready(api, "web-0") and ready(api, "web-1"), timeout_s=240)
    print(f"\nStatefulSet web: 2 pods Running and Ready {time.monotonic() - started:.1f}s after apply")

    # Ordered: web-1 was made only once web-0 was Ready.
    web0, web1 = api.get(Pod, "web-0", NS), api.get(Pod, "web-1", NS)
    assert (parse_time(web1.metadata.creationTimestamp) or 0.0) >= ready_since(web0) - 1.0  # timestamps are whole seconds
    table = kajitori("get", "sts", "web", "-n", NS)
    assert table.stdout.splitlines()[1].split()[:2] == ["web", "2/2"], table.stdout
    claims = kajitori("get", "pvc", "-n", NS).stdout
    assert "www-web-0" in claims and "www-web-1" in claims and "Bound" in claims

    # Each pod writes its hostname into its own volume and serves it.
    for name in ("web-0", "web-1"):
        code, out = pod_exec(api, NS, name, ["sh", "-c", 'echo "$(hostname)" > /var/www/html/data/index.html'])
        assert code == 0, out
    tools = ensure_tools_pod(api, "node1", namespace=NS)
    for name in ("web-0", "web-1"):
        ip = api.get(Pod, name, NS).status.podIP
        code, out = pod_exec(api, NS, tools, ["sh", "-c", f"dig +short {name}.nginx.{NS}.svc.cluster.local"])
        assert code == 0 and out.split() == [ip], out
        code, out = pod_exec(api, NS, tools, ["curl", "-s", f"http://{name}.nginx/data/"])
        assert code == 0 and out.strip() == name, out

    # The data is on the node of the pod's volume, in the local-path directory.
    for name in ("web-0", "web-1"):
        claim = api.get(PersistentVolumeClaim, f"www-{name}", NS)
        volume = api.get(PersistentVolume, claim.spec.volumeName or "")
        node = api.get(Pod, name, NS).spec.nodeName or ""
        code, out = machine_sh(node, f"cat /var/lib/kajitori/volumes/{volume.metadata.name}/index.html")
        assert code == 0 and out.strip() == name, out

    # Both pods deleted: the same names come back, with the same claims and the same data.
    uids = {name: api.get(Pod, name, NS).metadata.uid for name in ("web-0", "web-1")}
    claim_uids = {name: api.get(PersistentVolumeClaim, f"www-{name}", NS).metadata.uid for name in ("web-0", "web-1")}
    for name in ("web-0", "web-1"):
        api.delete(Pod, name, NS)

    def back() -> bool:
        return all(ready(api, n) and api.get(Pod, n, NS).metadata.uid != uids[n] for n in ("web-0", "web-1"))

    wait_until("web-0 and web-1 back", back, timeout_s=240)
    for name in ("web-0", "web-1"):
        assert api.get(PersistentVolumeClaim, f"www-{name}", NS).metadata.uid == claim_uids[name]
        code, out = pod_exec(api, NS, tools, ["curl", "-s", f"http://{name}.nginx/data/"])
        assert code == 0 and out.strip() == name, out

    # Scale to 5 and back to 2: the claims of web-0 and web-1 stay.
    assert kajitori("scale", "sts/web", "--replicas", "5", "-n", NS).returncode == 0
    wait_until("5 ready", lambda: api.get(StatefulSet, "web", NS).status.readyReplicas == 5, timeout_s=300)
    assert kajitori("scale", "sts/web", "--replicas", "2", "-n", NS).returncode == 0
    wait_until("back to 2", lambda: pod(api, "web-2") is None and api.get(StatefulSet, "web", NS).status.replicas == 2, timeout_s=300)
    names = {c.metadata.name for c in api.list(PersistentVolumeClaim, NS).items}
    assert {"www-web-0", "www-web-1"} <= names
    code, out = pod_exec(api, NS, tools, ["curl", "-s", "http://web-0.nginx/data/"])
    assert code == 0 and out.strip() == "web-0", out
