"""kubectl's imperative commands against a real master: create deployment, run, expose,
label, annotate, version, api-resources, --dry-run=client.

Most tests use the shared master without controllers and assert the objects the server
stored; the last one runs a master with its controllers and hollow nodes, and follows a
`create deployment` + `expose --type=NodePort` Service's endpoints as the pods change.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from kajitori.api import Deployment, Pod, Service
from kajitori.api.registry import by_kind
from kajitori.client import ApiClient, NotFoundError
from master.hollow_nodes import HollowCluster
from tests.support.cli import invoker
from tests.support.cluster import client, cluster_master, hollow, wait_for
from tests.support.master_process import MasterProcess

# The control plane's fixtures, imported by name so pytest finds them here.
__all__ = ["client", "cluster_master", "hollow"]

pytestmark = pytest.mark.integration


def one_line_error(result: Any) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return str(lines[0])


# --------------------------------------------------------------------------- create deployment


def test_create_deployment_makes_kubectls_deployment(kj: Any, api: ApiClient, ns: str) -> None:
    result = kj("create", "deployment", "web", "--image=nginx:1.22", "--replicas=3", "--port=80", "-n", ns)
    assert result.exit_code == 0, result.output
    assert result.stdout == "deployment.apps/web created\n"
    d = api.get(Deployment, "web", ns)
    assert d.metadata.labels == {"app": "web"}
    assert d.spec.replicas == 3
    assert d.spec.selector.matchLabels == {"app": "web"}
    assert d.spec.template.metadata.labels == {"app": "web"}
    (container,) = d.spec.template.spec.containers
    assert (container.name, container.image) == ("nginx", "nginx:1.22")
    assert [p.containerPort for p in container.ports or []] == [80]

    # A command after --, and the namespace given before the sub-command.
    cmd = kj("create", "-n", ns, "deployment", "clock", "--image=busybox", "--", "sh", "-c", "date; sleep 3600")
    assert cmd.stdout == "deployment.apps/clock created\n", cmd.output
    clock = api.get(Deployment, "clock", ns)
    assert clock.spec.replicas == 1
    assert clock.spec.template.spec.containers[0].command == ["sh", "-c", "date; sleep 3600"]

    again = kj("create", "deployment", "web", "--image=nginx", "-n", ns)
    assert one_line_error(again) == 'Error from server (AlreadyExists): deployments.apps "web" already exists'


def test_create_deployment_bad_flags_are_one_line_errors(kj: Any, ns: str) -> None:
    assert '"--replicas"' in one_line_error(kj("create", "deployment", "x", "--image=nginx", "--replicas=two", "-n", ns))
    assert '"--port"' in one_line_error(kj("create", "deployment", "x", "--image=nginx", "--port=99999", "-n", ns))
    assert '"image"' in one_line_error(kj("create", "deployment", "x", "-n", ns))
    assert "--dry-run" in one_line_error(kj("create", "deployment", "x", "--image=nginx", "--dry-run=maybe", "-n", ns))
    assert "validate" in one_line_error(kj("create", "deployment", "x", "--image=nginx", "--validate=loose", "-n", ns))


def test_dry_run_prints_the_manifest_and_sends_nothing(kj: Any, api: ApiClient, ns: str) -> None:
    result = kj("create", "deployment", "gen", "--image=nginx", "--dry-run=client", "-o", "yaml", "-n", ns)
    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(result.stdout)
    assert manifest["kind"] == "Deployment" and manifest["metadata"]["labels"] == {"app": "gen"}
    assert manifest["metadata"]["creationTimestamp"] is None and manifest["status"] == {}
    with pytest.raises(NotFoundError):
        api.get(Deployment, "gen", ns)
    assert kj("create", "deployment", "gen", "--image=nginx", "--dry-run=client", "-n", ns).stdout == \
        "deployment.apps/gen created (dry run)\n"  # fmt: skip
    # What kubectl users do next: the generated manifest applies as is, strict validation and all.
    created = kj("create", "-f", "-", "--validate=strict", "-n", ns, input=result.stdout)
    assert created.stdout == "deployment.apps/gen created\n", created.output
    assert api.get(Deployment, "gen", ns).spec.template.spec.containers[0].image == "nginx"

    pod_yaml = kj("run", "gen", "--image=busybox", "--dry-run=client", "-o", "yaml", "-n", ns, "--", "sleep", "60").stdout
    with pytest.raises(NotFoundError):
        api.get(Pod, "gen", ns)
    assert kj("apply", "-f", "-", "-n", ns, input=pod_yaml).stdout == "pod/gen created\n"

    svc_yaml = kj("expose", "deployment", "gen", "--port=80", "--dry-run=client", "-o", "yaml", "-n", ns).stdout
    assert yaml.safe_load(svc_yaml)["spec"]["selector"] == {"app": "gen"}
    with pytest.raises(NotFoundError):
        api.get(Service, "gen", ns)
    assert kj("apply", "-f", "-", "-n", ns, input=svc_yaml).stdout == "service/gen created\n"


# --------------------------------------------------------------------------- run


def test_run_makes_a_bare_pod_labelled_run_name(kj: Any, api: ApiClient, ns: str) -> None:
    result = kj("run", "box", "--image=busybox", "--restart=Never", "--port=8080", "--env=A=1", "--env", "B=two",
                "-n", ns, "--", "sleep", "3600")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "pod/box created\n"
    pod = api.get(Pod, "box", ns)
    assert pod.metadata.labels == {"run": "box"}
    assert not pod.metadata.ownerReferences
    assert pod.spec.restartPolicy == "Never"
    (container,) = pod.spec.containers
    assert (container.name, container.image, container.args) == ("box", "busybox", ["sleep", "3600"])
    assert [(e.name, e.value) for e in container.env or []] == [("A", "1"), ("B", "two")]
    assert [p.containerPort for p in container.ports or []] == [8080]

    labelled = kj("run", "web", "--image=nginx", "--labels=app=web,tier=front", "-n", ns, "-o", "name")
    assert labelled.stdout == "pod/web\n"
    web = api.get(Pod, "web", ns)
    assert web.metadata.labels == {"app": "web", "tier": "front"}
    assert web.spec.restartPolicy == "Always"

    assert '"--restart"' in one_line_error(kj("run", "x", "--image=nginx", "--restart=Sometimes", "-n", ns))
    assert "--image" in one_line_error(kj("run", "x", "-n", ns))
    assert '"--env"' in one_line_error(kj("run", "x", "--image=nginx", "--env=NOVALUE", "-n", ns))


def test_run_goes_through_the_validate_setting(kj: Any, ns: str) -> None:
    # An image name the server refuses comes back as kubectl's one-line Invalid error.
    result = kj("run", "Bad_Name", "--image=nginx", "-n", ns)
    assert one_line_error(result).startswith('The Pod "Bad_Name" is invalid')


# --------------------------------------------------------------------------- expose


def test_expose_deployment_clusterip_and_nodeport(kj: Any, api: ApiClient, ns: str) -> None:
    assert kj("create", "deployment", "web", "--image=nginx", "--port=80", "-n", ns).exit_code == 0
    result = kj("expose", "deployment", "web", "--port=8080", "--target-port=80", "-n", ns)
    assert result.exit_code == 0, result.output
    assert result.stdout == "service/web exposed\n"
    svc = api.get(Service, "web", ns)
    assert svc.spec.selector == {"app": "web"}
    assert svc.metadata.labels == {"app": "web"}
    assert svc.spec.type == "ClusterIP" and svc.spec.clusterIP
    (port,) = svc.spec.ports or []
    assert (port.port, port.targetPort, port.protocol, port.nodePort) == (8080, 80, "TCP", None)

    node_port = kj("expose", "deploy/web", "--port=80", "--type=NodePort", "--name=web-np", "-n", ns)
    assert node_port.stdout == "service/web-np exposed\n", node_port.output
    np = api.get(Service, "web-np", ns)
    assert np.spec.type == "NodePort"
    (port,) = np.spec.ports or []
    assert port.targetPort == 80 and port.nodePort and 30000 <= port.nodePort <= 32767

    # No --port: the container port the deployment declares.
    default_port = kj("expose", "deployment", "web", "--name=web-default", "-n", ns)
    assert default_port.exit_code == 0, default_port.output
    assert [(p.port, p.targetPort) for p in api.get(Service, "web-default", ns).spec.ports or []] == [(80, 80)]

    # A service of a service: the same selector, another port.
    https = kj("expose", "service", "web", "--port=443", "--target-port=8443", "--name=web-https", "-n", ns)
    assert https.exit_code == 0, https.output
    s2 = api.get(Service, "web-https", ns)
    assert s2.spec.selector == {"app": "web"}
    assert [(p.port, p.targetPort) for p in s2.spec.ports or []] == [(443, 8443)]


def test_expose_pod_replicaset_udp_and_errors(kj: Any, api: ApiClient, ns: str) -> None:
    assert kj("run", "dns", "--image=busybox", "--labels=app=dns,tier=infra", "-n", ns).exit_code == 0
    udp = kj("expose", "pod", "dns", "--port=53", "--protocol=UDP", "-n", ns)
    assert udp.stdout == "service/dns exposed\n", udp.output
    svc = api.get(Service, "dns", ns)
    assert svc.spec.selector == {"app": "dns", "tier": "infra"}
    assert [(p.port, p.protocol) for p in svc.spec.ports or []] == [(53, "UDP")]

    rs = by_kind("apps/v1", "ReplicaSet")
    api.create_raw(rs, {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "cache"},
                        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "cache"}},
                                 "template": {"metadata": {"labels": {"app": "cache"}},
                                              "spec": {"containers": [{"name": "c", "image": "redis"}]}}}}, ns)  # fmt: skip
    assert kj("expose", "rs", "cache", "--port=6379", "-n", ns).stdout == "service/cache exposed\n"
    assert api.get(Service, "cache", ns).spec.selector == {"app": "cache"}

    assert one_line_error(kj("expose", "pod", "dns", "--name=d2", "-n", ns)) == \
        "error: couldn't find port via --port flag or introspection"  # fmt: skip
    assert '"--type"' in one_line_error(kj("expose", "pod", "dns", "--port=80", "--type=Balanced", "-n", ns))
    assert '"--protocol"' in one_line_error(kj("expose", "pod", "dns", "--port=80", "--protocol=ICMP", "-n", ns))
    assert '"--port"' in one_line_error(kj("expose", "pod", "dns", "--port=http", "-n", ns))
    assert one_line_error(kj("expose", "deployment", "nope", "--port=80", "-n", ns)) == \
        'Error from server (NotFound): deployments.apps "nope" not found'  # fmt: skip
    assert one_line_error(kj("expose", "configmap", "x", "--port=80", "-n", ns)) == "error: cannot expose a ConfigMap"


# --------------------------------------------------------------------------- label, annotate


def test_label_set_remove_and_overwrite(kj: Any, api: ApiClient, ns: str) -> None:
    assert kj("create", "deployment", "web", "--image=nginx", "-n", ns).exit_code == 0
    result = kj("label", "deployment", "web", "tier=front", "env=prod", "-n", ns)
    assert result.stdout == "deployment.apps/web labeled\n", result.output
    assert api.get(Deployment, "web", ns).metadata.labels == {"app": "web", "tier": "front", "env": "prod"}

    refused = kj("label", "deployment", "web", "tier=back", "-n", ns)
    assert one_line_error(refused) == "error: 'tier' already has a value (front), and --overwrite is false"
    assert api.get(Deployment, "web", ns).metadata.labels["tier"] == "front"  # type: ignore[index]

    assert kj("label", "deploy/web", "tier=back", "env-", "--overwrite", "-n", ns).stdout == "deployment.apps/web labeled\n"
    d = api.get(Deployment, "web", ns)
    assert d.metadata.labels == {"app": "web", "tier": "back"}
    # The selector and the pod template are the Deployment's own business: untouched.
    assert d.spec.selector.matchLabels == {"app": "web"} and d.spec.template.metadata.labels == {"app": "web"}

    same = kj("label", "deployment", "web", "tier=back", "-n", ns)
    assert same.stdout == "deployment.apps/web not labeled\n"
    missing = kj("label", "deployment", "web", "nothere-", "-n", ns)
    assert missing.stdout == "deployment.apps/web not labeled\n" and 'label "nothere" not found.' in missing.stderr

    assert kj("run", "a", "--image=nginx", "-n", ns).exit_code == 0
    assert kj("run", "b", "--image=nginx", "-n", ns).exit_code == 0
    many = kj("label", "pods", "--all", "team=x", "-n", ns)
    assert many.stdout.splitlines() == ["pod/a labeled", "pod/b labeled"]
    assert kj("get", "pods", "-l", "team=x", "-o", "name", "-n", ns).stdout.split() == ["pod/a", "pod/b"]

    # A cluster-wide kind, as tutorials label nodes for nodeSelector.
    node = f"n-{ns}"
    api.create_raw(by_kind("v1", "Node"), {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}})
    assert kj("label", "node", node, "disktype=ssd").stdout == f"node/{node} labeled\n"
    assert api.get_raw(by_kind("v1", "Node"), node)["metadata"]["labels"] == {"disktype": "ssd"}

    assert "invalid label spec" in one_line_error(kj("label", "pod", "a", "bad key=v", "-n", ns))
    assert "at least one label update" in one_line_error(kj("label", "pod", "a", "-n", ns))
    assert one_line_error(kj("label", "pod", "zzz", "a=b", "-n", ns)) == 'Error from server (NotFound): pods "zzz" not found'


def test_annotate_set_remove_and_overwrite(kj: Any, api: ApiClient, ns: str) -> None:
    assert kj("run", "p", "--image=nginx", "-n", ns).exit_code == 0
    result = kj("annotate", "pod", "p", "owner=team a", "kajitori.io/note=anything: goes", "-n", ns)
    assert result.stdout == "pod/p annotated\n", result.output
    assert api.get(Pod, "p", ns).metadata.annotations == {"owner": "team a", "kajitori.io/note": "anything: goes"}
    refused = kj("annotate", "pod", "p", "owner=team b", "-n", ns)
    assert one_line_error(refused) == \
        "error: --overwrite is false but found the following declared annotation(s): 'owner' already has a value (team a)"  # fmt: skip
    assert kj("annotate", "pod/p", "owner=team b", "--overwrite", "kajitori.io/note-", "-n", ns).stdout == "pod/p annotated\n"
    assert api.get(Pod, "p", ns).metadata.annotations == {"owner": "team b"}


# --------------------------------------------------------------------------- version, api-resources


def test_version_and_api_resources(kj: Any, master: MasterProcess, tmp_path: Path) -> None:
    result = kj("version")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Client Version: v1.") and lines[1].startswith("Server Version: v1.")
    full = yaml.safe_load(kj("version", "-o", "yaml").stdout)
    assert full["serverVersion"]["major"] == "1" and "gitVersion" in full["clientVersion"]

    # An unreachable master: the client's version, then kubectl's one-line error.
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(master.kubeconfig.read_text().replace(f":{master.port}", ":1"))
    offline = CliRunner().invoke(app, ["version", "--kubeconfig", str(dead)])
    assert offline.exit_code == 1
    assert offline.stdout.startswith("Client Version: ")
    assert "refused" in offline.stderr and "Traceback" not in offline.stderr

    table = kj("api-resources")
    assert table.exit_code == 0, table.output
    rows = table.stdout.splitlines()
    assert rows[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    by_name: dict[str, list[str]] = {}
    for line in rows[1:]:  # the core group first, as kubectl lists it: `pods` of v1 before metrics.k8s.io's
        by_name.setdefault(line.split()[0], line.split())
    assert by_name["pods"] == ["pods", "po", "v1", "true", "Pod"]
    assert ["pods", "metrics.k8s.io/v1beta1", "true", "PodMetrics"] in [line.split() for line in rows[1:]]
    assert by_name["nodes"] == ["nodes", "no", "v1", "false", "Node"]
    assert by_name["deployments"] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert by_name["secrets"] == ["secrets", "v1", "true", "Secret"]  # no short name: an empty column
    assert not any("/" in name for name in by_name)  # no subresources
    # Columns line up: every row's KIND starts where the header's does.
    kind_at = rows[0].index("KIND")
    assert all(line[kind_at - 1] == " " and line[kind_at] != " " for line in rows[1:])
    # The core group first, then the groups in order.
    groups = [line.split()[-3] for line in rows[1:]]
    assert groups[0] == "v1" and groups.index("apps/v1") < groups.index("batch/v1")

    cluster_wide = kj("api-resources", "--namespaced=false", "-o", "name").stdout.split()
    assert "nodes" in cluster_wide and "namespaces" in cluster_wide and "pods" not in cluster_wide
    assert kj("api-resources", "--api-group=apps", "-o", "name").stdout.split() == \
        ["controllerrevisions.apps", "daemonsets.apps", "deployments.apps", "replicasets.apps", "statefulsets.apps"]  # fmt: skip
    assert "VERBS" in kj("api-resources", "-o", "wide").stdout.splitlines()[0]
    assert '"--namespaced"' in one_line_error(kj("api-resources", "--namespaced=maybe"))


# --------------------------------------------------------------------------- with controllers


def test_create_deployment_and_expose_nodeport_endpoints_follow_pods(
    cluster_master: MasterProcess, client: ApiClient, hollow: Callable[[list[str]], HollowCluster]
) -> None:
    hollow(["node-a", "node-b"])
    kj = invoker(cluster_master)
    assert kj("create", "deployment", "web", "--image=nginx:1.22", "--replicas=2", "--port=80").stdout == \
        "deployment.apps/web created\n"  # fmt: skip
    assert kj("expose", "deployment", "web", "--port=80", "--type=NodePort").stdout == "service/web exposed\n"
    svc = client.get(Service, "web", "default")
    assert svc.spec.type == "NodePort" and (svc.spec.ports or [])[0].nodePort

    endpoints = by_kind("v1", "Endpoints")

    def endpoint_ips() -> set[str]:
        try:
            ep = client.get_raw(endpoints, "web", "default")
        except NotFoundError:
            return set()
        return {a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []}

    def pod_ips() -> set[str]:
        pods = client.list(Pod, "default", label_selector="app=web").items
        return {p.status.podIP for p in pods if p.status.podIP and not p.metadata.deletionTimestamp}

    def follows(n: int) -> set[str] | None:
        ips, expected = endpoint_ips(), pod_ips()
        return ips if len(ips) == n and ips == expected else None

    first = wait_for(lambda: follows(2), what="2 endpoints = the deployment's pod IPs") or set()
    ports = client.get_raw(endpoints, "web", "default")["subsets"][0]["ports"]
    assert [(p["port"], p.get("protocol", "TCP")) for p in ports] == [(80, "TCP")]

    assert kj("scale", "deployment/web", "--replicas=3").exit_code == 0
    wait_for(lambda: follows(3), what="3 endpoints after scaling up")

    # A pod deleted: its replacement's IP takes its place.
    victim = next(p for p in client.list(Pod, "default", label_selector="app=web").items if p.status.podIP in first)
    client.delete(Pod, str(victim.metadata.name), "default", grace_period_seconds=0)
    after = wait_for(lambda: (ips := follows(3)) and victim.status.podIP not in ips and ips, what="the replacement's endpoint") or set()
    assert victim.status.podIP not in after

    # Relabelling a pod out of the selector takes it out of the Service (the ReplicaSet replaces it).
    stray = client.list(Pod, "default", label_selector="app=web").items[0]
    assert kj("label", "pod", stray.metadata.name, "app=debug", "--overwrite").exit_code == 0
    wait_for(lambda: (ips := follows(3)) and stray.status.podIP not in ips, what="the relabelled pod out of the endpoints")
