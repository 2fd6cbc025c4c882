"""The Node authorizer: what a node's own identity (``system:node:<name>`` in ``system:nodes``) may do.

As Kubernetes' Node authorizer, it keeps a graph of which Secrets, ConfigMaps and
PersistentVolumeClaims the pods bound to each node use (volumes, env, envFrom,
imagePullSecrets), updated from a store watch of pods one pod at a time, and allows a
node to get only those. It allows the ServiceAccount of each of its pods to be read and tokens of it to be
requested (`serviceaccounts/token`, for the agent's token volume), PersistentVolumes to be
read and those pinned to it (local-path, node affinity naming it) to be deleted (the agent
reclaims Released local-path volumes: Kajitori's node-local provisioner, which Kubernetes
leaves to a provisioner pod), its own Node and its own Lease (``kube-node-lease/<name>``)
to be written, pods' status and deletion only for pods bound to it, and reads of pods,
nodes, services and endpoints; everything else is judged by the ``system:node`` rules.
A request it does not allow is left to the next authorizer (RBAC), as in Kubernetes.
What a node may set in an object it is allowed to write is checked at admission
(``master.apiserver.authz.admission``: NodeRestriction).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any

from master.apiserver.authn import NODE_PREFIX, NODES, UserInfo
from master.apiserver.authz.attributes import Attributes
from master.apiserver.authz.defaults import NODE_RULES
from master.apiserver.authz.rules import rules_allow
from master.store import Store, StoreEvent

PODS = "/core/pods"
VOLUMES = "/core/persistentvolumes"
HOSTNAME_LABEL = "kubernetes.io/hostname"
LEASE_NAMESPACE = "kube-node-lease"
_GRAPH_KINDS = {"secrets": "secret", "configmaps": "configmap", "persistentvolumeclaims": "pvc"}

Ref = tuple[str, str, str]  # (kind, namespace, name)


def node_name(user: UserInfo) -> str | None:
    if NODES in user.groups and user.name.startswith(NODE_PREFIX):
        return user.name[len(NODE_PREFIX) :] or None
    return None


def pod_references(pod: dict[str, Any]) -> set[Ref]:
    ns = (pod.get("metadata") or {}).get("namespace", "")
    spec = pod.get("spec") or {}
    refs: set[Ref] = set()

    def add(kind: str, name: Any) -> None:
        if isinstance(name, str) and name:
            refs.add((kind, ns, name))

    add("serviceaccount", spec.get("serviceAccountName") or "default")
    for secret in spec.get("imagePullSecrets") or []:
        add("secret", (secret or {}).get("name"))
    for volume in spec.get("volumes") or []:
        add("secret", (volume.get("secret") or {}).get("secretName"))
        add("configmap", (volume.get("configMap") or {}).get("name"))
        add("pvc", (volume.get("persistentVolumeClaim") or {}).get("claimName"))
        for source in (volume.get("projected") or {}).get("sources") or []:
            add("secret", (source.get("secret") or {}).get("name"))
            add("configmap", (source.get("configMap") or {}).get("name"))
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        for env in container.get("env") or []:
            source = env.get("valueFrom") or {}
            add("secret", (source.get("secretKeyRef") or {}).get("name"))
            add("configmap", (source.get("configMapKeyRef") or {}).get("name"))
        for env_from in container.get("envFrom") or []:
            add("secret", (env_from.get("secretRef") or {}).get("name"))
            add("configmap", (env_from.get("configMapRef") or {}).get("name"))
    return refs


class NodeGraph:
    """Pods bound to each node and what they reference, kept current by a watch of pods."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._pods: dict[str, tuple[str, frozenset[Ref]]] = {}
        self._refs: dict[str, Counter[Ref]] = defaultdict(Counter)
        with self._lock:
            items, revision = store.list(PODS)
            for stored in items:
                self._set(stored.key, stored.obj)
        self._sub = store.watch(PODS, revision, self._changed)

    def _set(self, key: str, pod: dict[str, Any] | None) -> None:
        old = self._pods.pop(key, None)
        if old is not None:
            self._refs[old[0]].subtract(old[1])
        node = ((pod or {}).get("spec") or {}).get("nodeName")
        if pod is not None and node:
            refs = frozenset(pod_references(pod))
            self._pods[key] = (node, refs)
            self._refs[node].update(refs)

    def _changed(self, event: StoreEvent) -> None:
        with self._lock:
            self._set(event.current.key, None if event.type == "DELETED" else event.current.obj)

    def references(self, node: str, ref: Ref) -> bool:
        return self._refs.get(node, Counter())[ref] > 0

    def pod_node(self, namespace: str, name: str) -> str | None:
        entry = self._pods.get(f"{PODS}/{namespace}/{name}")
        return entry[0] if entry else None

    def volume_pinned_to(self, name: str, node: str) -> bool:
        """The PersistentVolume's required node affinity names exactly this node by hostname."""
        stored = self.store.get(f"{VOLUMES}//{name}")
        required = (((stored.obj if stored else {}).get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}
        names = {
            value
            for term in required.get("nodeSelectorTerms") or []
            for req in term.get("matchExpressions") or []
            if req.get("key") == HOSTNAME_LABEL and req.get("operator") == "In"
            for value in req.get("values") or []
        }
        return names == {node}

    def exists(self, namespace: str, name: str) -> bool:
        return self.store.get(f"{PODS}/{namespace}/{name}") is not None

    def close(self) -> None:
        self._sub.cancel()


class NodeAuthorizer:
    def __init__(self, graph: NodeGraph) -> None:
        self.graph = graph

    def decide(self, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, why not) for a node's request; (False, "") when the user is no node."""
        node = node_name(attrs.user)
        if node is None or not attrs.resource_request:
            return False, ""
        group, resource, sub, verb = attrs.api_group, attrs.resource, attrs.subresource, attrs.verb
        if group == "" and resource in _GRAPH_KINDS and not sub:
            if verb == "get" and self.graph.references(
                node, (_GRAPH_KINDS[resource], attrs.namespace, attrs.name)
            ):
                return True, ""
            return False, f'no relationship found between node "{node}" and this object'
        if group == "" and resource == "serviceaccounts":
            if ((verb == "get" and not sub) or (verb == "create" and sub == "token")) and self.graph.references(
                node, ("serviceaccount", attrs.namespace, attrs.name)
            ):
                return True, ""
            return False, f'no relationship found between node "{node}" and this object'
        if group == "" and resource == "persistentvolumes" and not sub:
            if verb in ("get", "list", "watch"):
                return True, ""
            if verb == "delete" and attrs.name and self.graph.volume_pinned_to(attrs.name, node):
                return True, ""
            return False, f'node "{node}" can only delete persistentvolumes pinned to it'
        if group == "coordination.k8s.io" and resource == "leases":
            if attrs.namespace == LEASE_NAMESPACE and (
                attrs.name == node or (verb == "create" and not attrs.name)
            ):
                return rules_allow(NODE_RULES, attrs), ""
            return False, f'can only access node lease with the same name as the requesting node "{node}"'
        if group == "" and resource == "nodes" and verb not in ("get", "list", "watch", "create") and attrs.name != node:
            return False, f'node "{node}" is not allowed to modify node "{attrs.name}"'
        writes_pod = group == "" and resource == "pods" and (sub in ("status", "eviction") or verb == "delete")
        if writes_pod and self.graph.pod_node(attrs.namespace, attrs.name) != node and self.graph.exists(attrs.namespace, attrs.name):
            # A pod that is gone is left to the handler's 404, as Kubernetes' NodeRestriction does:
            # an agent finishing a deletion someone else completed must not read it as a refusal.
            return False, f'node "{node}" can only modify pods bound to it'
        return rules_allow(NODE_RULES, attrs), ""
