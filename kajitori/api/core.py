"""The core/v1 kinds: Namespace, Node, Pod, Service, Endpoints, ConfigMap, Secret, Event, Binding.

Models whose Kubernetes type has more fields than Kajitori uses name the rest in
``UNMODELLED`` (Kubernetes v1.28 API reference, core/v1): they are kept as written and
never reported as unknown fields.

Defaults are Kubernetes' own (restartPolicy Always, imagePullPolicy from the tag,
Service type ClusterIP with targetPort = port, probe timings, ...), applied when a
body is validated, so what is stored is what Kubernetes would store. Validation
that spans fields (unique container names, mounts naming a volume) lives in
model validators here, never in the HTTP handlers.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from kajitori.api.meta import (
    KubeModel,
    ObjectMeta,
    TypedObject,
    check_dns1123_label,
    check_qualified_name,
)
from kajitori.api.quantity import Quantity, parse_quantity

IntOrString = int | str


def _check_port(value: int, what: str) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{what} {value} must be between 1 and 65535, inclusive")
    return value


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"Duplicate value: {name!r}: {what} must be unique")
        seen.add(name)


# --------------------------------------------------------------------------- Pod


class KeySelector(KubeModel):
    name: str | None = None
    key: str
    optional: bool | None = None


class ObjectFieldSelector(KubeModel):
    apiVersion: str | None = "v1"
    fieldPath: str


class ResourceFieldSelector(KubeModel):
    containerName: str | None = None
    resource: str
    divisor: Quantity | None = None

    @field_validator("divisor")
    @classmethod
    def _divisor(cls, v: str | None) -> str | None:
        # The agent divides by it.
        if v is not None and parse_quantity(v) <= 0:
            raise ValueError(f"divisor {v!r} must be greater than 0")
        return v


class EnvVarSource(KubeModel):
    configMapKeyRef: KeySelector | None = None
    secretKeyRef: KeySelector | None = None
    fieldRef: ObjectFieldSelector | None = None
    resourceFieldRef: ResourceFieldSelector | None = None


class EnvVar(KubeModel):
    name: str
    value: str | None = None
    valueFrom: EnvVarSource | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v or "=" in v:
            raise ValueError(f"environment variable name {v!r} must not be empty nor contain '='")
        return v


class LocalObjectReference(KubeModel):
    name: str | None = None
    optional: bool | None = None


class EnvFromSource(KubeModel):
    prefix: str | None = None
    configMapRef: LocalObjectReference | None = None
    secretRef: LocalObjectReference | None = None


class ContainerPort(KubeModel):
    name: str | None = None
    containerPort: int
    hostPort: int | None = None
    hostIP: str | None = None
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"

    @field_validator("containerPort")
    @classmethod
    def _cport(cls, v: int) -> int:
        return _check_port(v, "containerPort")

    @field_validator("hostPort")
    @classmethod
    def _hport(cls, v: int | None) -> int | None:
        return None if v is None else _check_port(v, "hostPort")


class ResourceRequirements(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"claims"})

    # Quantity bounds each value where it is parsed (the error names limits.cpu, requests.memory, ...).
    limits: dict[str, Quantity] | None = None
    requests: dict[str, Quantity] | None = None


def _local_descending_path(value: str) -> str:
    """A path that stays inside the volume: relative, no ``..`` element (Kubernetes' validateLocalDescendingPath)."""
    if value.startswith("/") or value.startswith("\\"):
        raise ValueError("must be a relative path")
    if ".." in value.replace("\\", "/").split("/"):
        raise ValueError("must not contain '..'")
    return value


class VolumeMount(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"mountPropagation"})

    name: str
    mountPath: str
    readOnly: bool | None = None
    subPath: str | None = None
    subPathExpr: str | None = None

    @field_validator("subPath", "subPathExpr")
    @classmethod
    def _sub_path(cls, v: str | None) -> str | None:
        # The agent joins it to the volume's directory: an absolute path or '..' would leave it.
        return None if v is None else _local_descending_path(v)


class HTTPHeader(KubeModel):
    name: str
    value: str


class HTTPGetAction(KubeModel):
    path: str = "/"
    port: IntOrString
    host: str | None = None
    scheme: Literal["HTTP", "HTTPS"] = "HTTP"
    httpHeaders: list[HTTPHeader] | None = None


class TCPSocketAction(KubeModel):
    port: IntOrString
    host: str | None = None


class ExecAction(KubeModel):
    command: list[str] = Field(default_factory=list)


class Probe(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"grpc", "terminationGracePeriodSeconds"})

    httpGet: HTTPGetAction | None = None
    tcpSocket: TCPSocketAction | None = None
    exec: ExecAction | None = None
    initialDelaySeconds: int = 0
    periodSeconds: int = 10
    timeoutSeconds: int = 1
    successThreshold: int = 1
    failureThreshold: int = 3

    @model_validator(mode="after")
    def _one_handler(self) -> Probe:
        handlers = [h for h in (self.httpGet, self.tcpSocket, self.exec) if h is not None]
        if len(handlers) != 1:
            raise ValueError("a probe must specify exactly one of httpGet, tcpSocket, exec")
        for name in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold"):
            if getattr(self, name) < (0 if name == "initialDelaySeconds" else 1):
                raise ValueError(f"{name} must be {'>= 0' if name == 'initialDelaySeconds' else '>= 1'}")
        return self


class Container(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset(
        {"lifecycle", "resizePolicy", "restartPolicy", "securityContext", "stdinOnce", "volumeDevices"}
    )

    name: str
    image: str
    command: list[str] | None = None
    args: list[str] | None = None
    workingDir: str | None = None
    ports: list[ContainerPort] | None = None
    env: list[EnvVar] | None = None
    envFrom: list[EnvFromSource] | None = None
    resources: ResourceRequirements | None = None
    volumeMounts: list[VolumeMount] | None = None
    livenessProbe: Probe | None = None
    readinessProbe: Probe | None = None
    startupProbe: Probe | None = None
    imagePullPolicy: Literal["Always", "IfNotPresent", "Never"] | None = None
    terminationMessagePath: str = "/dev/termination-log"
    terminationMessagePolicy: Literal["File", "FallbackToLogsOnError"] = "File"
    stdin: bool | None = None
    tty: bool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_dns1123_label(v, what="container name")

    @field_validator("image")
    @classmethod
    def _image(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("image must not be empty")
        return v

    @model_validator(mode="after")
    def _pull_policy(self) -> Container:
        # Kubernetes: ":latest" or no tag -> Always, any other tag or a digest -> IfNotPresent.
        if self.imagePullPolicy is None:
            last = self.image.rsplit("/", 1)[-1]
            tag = last.split(":", 1)[1] if ":" in last else ""
            self.imagePullPolicy = "Always" if (tag in ("", "latest") and "@" not in last) else "IfNotPresent"
        return self


class KeyToPath(KubeModel):
    key: str
    path: str
    mode: int | None = None


class EmptyDirVolumeSource(KubeModel):
    medium: str | None = None
    sizeLimit: str | None = None


class HostPathVolumeSource(KubeModel):
    path: str
    type: str | None = None


class ConfigMapVolumeSource(KubeModel):
    name: str | None = None
    items: list[KeyToPath] | None = None
    defaultMode: int = 0o644
    optional: bool | None = None


class SecretVolumeSource(KubeModel):
    secretName: str | None = None
    items: list[KeyToPath] | None = None
    defaultMode: int = 0o644
    optional: bool | None = None


class Volume(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset(
        {
            "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "downwardAPI", "ephemeral",
            "fc", "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs", "iscsi", "nfs",
            "persistentVolumeClaim", "photonPersistentDisk", "portworxVolume", "projected", "quobyte", "rbd",
            "scaleIO", "storageos", "vsphereVolume"
        }
    )

    name: str
    emptyDir: EmptyDirVolumeSource | None = None
    hostPath: HostPathVolumeSource | None = None
    configMap: ConfigMapVolumeSource | None = None
    secret: SecretVolumeSource | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_dns1123_label(v, what="volume name")


class Toleration(KubeModel):
    key: str | None = None
    operator: Literal["Exists", "Equal"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute", ""] | None = None
    tolerationSeconds: int | None = None


class NodeSelectorRequirement(KubeModel):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    values: list[str] | None = None


class NodeSelectorTerm(KubeModel):
    matchExpressions: list[NodeSelectorRequirement] | None = None
    matchFields: list[NodeSelectorRequirement] | None = None


class NodeSelector(KubeModel):
    nodeSelectorTerms: list[NodeSelectorTerm]


class PreferredSchedulingTerm(KubeModel):
    weight: int
    preference: NodeSelectorTerm


class NodeAffinity(KubeModel):
    requiredDuringSchedulingIgnoredDuringExecution: NodeSelector | None = None
    preferredDuringSchedulingIgnoredDuringExecution: list[PreferredSchedulingTerm] | None = None


class Affinity(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"podAffinity", "podAntiAffinity"})

    nodeAffinity: NodeAffinity | None = None


class PodDNSConfigOption(KubeModel):
    name: str
    value: str | None = None


class PodDNSConfig(KubeModel):
    nameservers: list[str] | None = None
    searches: list[str] | None = None
    options: list[PodDNSConfigOption] | None = None


class PodSpec(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset(
        {
            "automountServiceAccountToken", "enableServiceLinks", "ephemeralContainers", "hostAliases", "hostIPC",
            "hostPID", "hostUsers", "imagePullSecrets", "os", "overhead", "preemptionPolicy", "priorityClassName",
            "readinessGates", "resourceClaims", "runtimeClassName", "schedulingGates", "securityContext",
            "serviceAccount", "setHostnameAsFQDN", "topologySpreadConstraints"
        }
    )

    containers: list[Container]
    initContainers: list[Container] | None = None
    volumes: list[Volume] | None = None
    restartPolicy: Literal["Always", "OnFailure", "Never"] = "Always"
    terminationGracePeriodSeconds: int = 30
    activeDeadlineSeconds: int | None = None
    dnsPolicy: Literal["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"] = "ClusterFirst"
    dnsConfig: PodDNSConfig | None = None
    nodeSelector: dict[str, str] | None = None
    nodeName: str | None = None
    serviceAccountName: str | None = None
    hostNetwork: bool | None = None
    hostname: str | None = None
    subdomain: str | None = None
    shareProcessNamespace: bool | None = None
    affinity: Affinity | None = None
    tolerations: list[Toleration] | None = None
    schedulerName: str = "default-scheduler"
    priority: int | None = None

    @field_validator("containers")
    @classmethod
    def _containers(cls, v: list[Container]) -> list[Container]:
        if not v:
            raise ValueError("a pod needs at least one container")
        return v

    @field_validator("terminationGracePeriodSeconds")
    @classmethod
    def _grace(cls, v: int) -> int:
        if v < 0:
            raise ValueError("must be greater than or equal to 0")
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> PodSpec:
        containers = [*(self.initContainers or []), *self.containers]
        _unique([c.name for c in containers], "container names (init and app containers together)")
        volumes = self.volumes or []
        _unique([v.name for v in volumes], "volume names")
        known = {v.name for v in volumes}
        for container in containers:
            for mount in container.volumeMounts or []:
                if mount.name not in known:
                    raise ValueError(
                        f"container {container.name!r}: volumeMount {mount.name!r} names no volume of this pod"
                    )
        return self


class PodTemplateSpec(KubeModel):
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PodSpec


class ContainerStateWaiting(KubeModel):
    reason: str | None = None
    message: str | None = None


class ContainerStateRunning(KubeModel):
    startedAt: str | None = None


class ContainerStateTerminated(KubeModel):
    exitCode: int
    signal: int | None = None
    reason: str | None = None
    message: str | None = None
    startedAt: str | None = None
    finishedAt: str | None = None
    containerID: str | None = None


class ContainerState(KubeModel):
    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"allocatedResources", "resources"})

    name: str
    state: ContainerState = Field(default_factory=ContainerState)
    lastState: ContainerState = Field(default_factory=ContainerState)
    ready: bool = False
    started: bool | None = None
    restartCount: int = 0
    image: str = ""
    imageID: str = ""
    containerID: str | None = None


class PodCondition(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastProbeTime: str | None = None
    lastTransitionTime: str | None = None
    reason: str | None = None
    message: str | None = None


class PodIP(KubeModel):
    ip: str


class PodStatus(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset(
        {"ephemeralContainerStatuses", "hostIPs", "resize", "resourceClaimStatuses"}
    )

    phase: Literal["Pending", "Running", "Succeeded", "Failed", "Unknown"] = "Pending"
    conditions: list[PodCondition] | None = None
    message: str | None = None
    reason: str | None = None
    nominatedNodeName: str | None = None
    hostIP: str | None = None
    podIP: str | None = None
    podIPs: list[PodIP] | None = None
    startTime: str | None = None
    initContainerStatuses: list[ContainerStatus] | None = None
    containerStatuses: list[ContainerStatus] | None = None
    qosClass: str | None = None


class Pod(TypedObject):
    apiVersion: str | None = "v1"
    kind: str | None = "Pod"
    spec: PodSpec
    status: PodStatus = Field(default_factory=PodStatus)


# --------------------------------------------------------------------------- Service


class ServicePort(KubeModel):
    name: str | None = None
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    port: int
    targetPort: IntOrString | None = None
    nodePort: int | None = None
    appProtocol: str | None = None

    @field_validator("port")
    @classmethod
    def _port(cls, v: int) -> int:
        return _check_port(v, "port")

    @field_validator("nodePort")
    @classmethod
    def _node_port(cls, v: int | None) -> int | None:
        return None if v is None else _check_port(v, "nodePort")

    @model_validator(mode="after")
    def _default_target(self) -> ServicePort:
        if self.targetPort is None:
            self.targetPort = self.port
        elif isinstance(self.targetPort, int):
            _check_port(self.targetPort, "targetPort")
        else:
            check_dns1123_label(self.targetPort, what="targetPort (a port name)")
        return self


class SessionAffinityConfig(KubeModel):
    clientIP: dict[str, Any] | None = None


class ServiceSpec(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset(
        {
            "allocateLoadBalancerNodePorts", "healthCheckNodePort", "loadBalancerClass", "loadBalancerIP",
            "loadBalancerSourceRanges"
        }
    )

    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] = "ClusterIP"
    selector: dict[str, str] | None = None
    ports: list[ServicePort] | None = None
    clusterIP: str | None = None
    clusterIPs: list[str] | None = None
    externalIPs: list[str] | None = None
    externalName: str | None = None
    sessionAffinity: Literal["None", "ClientIP"] = "None"
    sessionAffinityConfig: SessionAffinityConfig | None = None
    externalTrafficPolicy: Literal["Cluster", "Local"] | None = None
    internalTrafficPolicy: Literal["Cluster", "Local"] = "Cluster"
    ipFamilies: list[str] | None = None
    ipFamilyPolicy: str | None = None
    publishNotReadyAddresses: bool | None = None

    @model_validator(mode="after")
    def _checks(self) -> ServiceSpec:
        ports = self.ports or []
        if self.type != "ExternalName" and self.clusterIP != "None" and not ports:
            raise ValueError("ports: Required value: a service needs at least one port")
        if len(ports) > 1:
            for port in ports:
                if not port.name:
                    raise ValueError("ports: every port must have a name when a service has more than one")
            _unique([p.name or "" for p in ports], "port names")
        if self.type in ("NodePort", "LoadBalancer") and self.externalTrafficPolicy is None:
            self.externalTrafficPolicy = "Cluster"
        if self.type in ("ClusterIP", "ExternalName"):
            for port in ports:
                if port.nodePort is not None:
                    raise ValueError(f"nodePort may not be set when type is {self.type}")
        if self.sessionAffinity == "ClientIP" and self.sessionAffinityConfig is None:
            self.sessionAffinityConfig = SessionAffinityConfig(clientIP={"timeoutSeconds": 10800})
        return self


class ServiceStatus(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"conditions"})

    loadBalancer: dict[str, Any] = Field(default_factory=dict)


class Service(TypedObject):
    NAME_RULE: ClassVar[Literal["subdomain", "label"]] = "label"
    apiVersion: str | None = "v1"
    kind: str | None = "Service"
    spec: ServiceSpec = Field(default_factory=ServiceSpec)
    status: ServiceStatus = Field(default_factory=ServiceStatus)


class ObjectReference(KubeModel):
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    apiVersion: str | None = None
    resourceVersion: str | None = None
    fieldPath: str | None = None


class EndpointAddress(KubeModel):
    ip: str
    hostname: str | None = None
    nodeName: str | None = None
    targetRef: ObjectReference | None = None


class EndpointPort(KubeModel):
    name: str | None = None
    port: int
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    appProtocol: str | None = None


class EndpointSubset(KubeModel):
    addresses: list[EndpointAddress] | None = None
    notReadyAddresses: list[EndpointAddress] | None = None
    ports: list[EndpointPort] | None = None


class Endpoints(TypedObject):
    apiVersion: str | None = "v1"
    kind: str | None = "Endpoints"
    subsets: list[EndpointSubset] | None = None


# --------------------------------------------------------------------------- Node


class Taint(KubeModel):
    key: str
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
    timeAdded: str | None = None


class NodeSpec(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"configSource", "externalID"})

    podCIDR: str | None = None
    podCIDRs: list[str] | None = None
    providerID: str | None = None
    unschedulable: bool | None = None
    taints: list[Taint] | None = None


class NodeCondition(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastHeartbeatTime: str | None = None
    lastTransitionTime: str | None = None
    reason: str | None = None
    message: str | None = None


class NodeAddress(KubeModel):
    type: str
    address: str


class NodeSystemInfo(KubeModel):
    machineID: str = ""
    systemUUID: str = ""
    bootID: str = ""
    kernelVersion: str = ""
    osImage: str = ""
    containerRuntimeVersion: str = ""
    kubeletVersion: str = ""
    kubeProxyVersion: str = ""
    operatingSystem: str = "linux"
    architecture: str = "amd64"


class DaemonEndpoint(KubeModel):
    Port: int


class NodeDaemonEndpoints(KubeModel):
    kubeletEndpoint: DaemonEndpoint | None = None


class NodeStatus(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"config", "images", "volumesAttached", "volumesInUse"})

    capacity: dict[str, Quantity] | None = None
    allocatable: dict[str, Quantity] | None = None
    phase: str | None = None
    conditions: list[NodeCondition] | None = None
    addresses: list[NodeAddress] | None = None
    daemonEndpoints: NodeDaemonEndpoints | None = None
    nodeInfo: NodeSystemInfo | None = None


class Node(TypedObject):
    apiVersion: str | None = "v1"
    kind: str | None = "Node"
    spec: NodeSpec = Field(default_factory=NodeSpec)
    status: NodeStatus = Field(default_factory=NodeStatus)


# --------------------------------------------------------------------------- config, namespaces, events


def _check_data_keys(data: dict[str, str] | None) -> None:
    for key in data or {}:
        if not key or len(key) > 253 or not all(c.isalnum() or c in "-._" for c in key):
            raise ValueError(f"data key {key!r} must consist of alphanumeric characters, '-', '_' or '.'")


class ConfigMap(TypedObject):
    apiVersion: str | None = "v1"
    kind: str | None = "ConfigMap"
    data: dict[str, str] | None = None
    binaryData: dict[str, str] | None = None
    immutable: bool | None = None

    @model_validator(mode="after")
    def _keys(self) -> ConfigMap:
        _check_data_keys(self.data)
        _check_data_keys(self.binaryData)
        return self


class ServiceAccount(TypedObject):
    """An identity for pods: ``system:serviceaccount:<namespace>:<name>``, with tokens from TokenRequest."""

    apiVersion: str | None = "v1"
    kind: str | None = "ServiceAccount"
    secrets: list[ObjectReference] | None = None
    imagePullSecrets: list[LocalObjectReference] | None = None
    automountServiceAccountToken: bool | None = None


class Secret(TypedObject):
    apiVersion: str | None = "v1"
    kind: str | None = "Secret"
    type: str = "Opaque"
    data: dict[str, str] | None = None
    stringData: dict[str, str] | None = None
    immutable: bool | None = None

    @model_validator(mode="after")
    def _fold_string_data(self) -> Secret:
        # Kubernetes merges write-only stringData into data (base64) and never stores it.
        _check_data_keys(self.data)
        _check_data_keys(self.stringData)
        for key, value in (self.data or {}).items():
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"data[{key}]: must be base64-encoded") from None
        if self.stringData:
            data = dict(self.data or {})
            for key, value in self.stringData.items():
                data[key] = base64.b64encode(value.encode()).decode()
            self.data = data
            self.stringData = None
        return self


class NamespaceSpec(KubeModel):
    finalizers: list[str] | None = None


class NamespaceStatus(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"conditions"})

    phase: Literal["Active", "Terminating"] = "Active"


class Namespace(TypedObject):
    NAME_RULE: ClassVar[Literal["subdomain", "label"]] = "label"
    apiVersion: str | None = "v1"
    kind: str | None = "Namespace"
    spec: NamespaceSpec = Field(default_factory=NamespaceSpec)
    status: NamespaceStatus = Field(default_factory=NamespaceStatus)


class EventSource(KubeModel):
    component: str | None = None
    host: str | None = None


class Event(TypedObject):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"action", "related", "series"})

    apiVersion: str | None = "v1"
    kind: str | None = "Event"
    involvedObject: ObjectReference
    reason: str | None = None
    message: str | None = None
    source: EventSource | None = None
    firstTimestamp: str | None = None
    lastTimestamp: str | None = None
    eventTime: str | None = None
    count: int | None = None
    type: Literal["Normal", "Warning"] | None = "Normal"
    reportingComponent: str | None = None
    reportingInstance: str | None = None


class Binding(TypedObject):
    apiVersion: str | None = "v1"
    kind: str | None = "Binding"
    target: ObjectReference


def validate_label_keys(labels: dict[str, str] | None) -> None:
    for key in labels or {}:
        check_qualified_name(key)
