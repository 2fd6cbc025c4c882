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
import json
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from kajitori.api.meta import (
    Int32,
    KubeModel,
    LabelSelector,
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


def go_quote(value: str) -> str:
    """A value as Kubernetes' errors quote it (Go's %q): double quotes, JSON escapes."""
    return json.dumps(value)


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
    """Where an environment variable's value comes from."""

    configMapKeyRef: KeySelector | None = None
    secretKeyRef: KeySelector | None = None
    fieldRef: ObjectFieldSelector | None = None
    resourceFieldRef: ResourceFieldSelector | None = None


class EnvVar(KubeModel):
    """An environment variable of a container: a value, or where to read it from."""

    name: str
    """Name of the environment variable."""
    value: str | None = None
    """The value; $(VAR) names an earlier variable."""
    valueFrom: EnvVarSource | None = None
    """Where to read the value from: a ConfigMap or Secret key, a field of the pod, a resource."""

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
    """A ConfigMap or Secret whose keys all become environment variables."""

    prefix: str | None = None
    configMapRef: LocalObjectReference | None = None
    secretRef: LocalObjectReference | None = None


class ContainerPort(KubeModel):
    """A port a container listens on."""

    name: str | None = None
    """A name for the port (an IANA_SVC_NAME), unique in the pod; Services may refer to it."""
    containerPort: int
    """The port number on the pod's IP address."""
    hostPort: int | None = None
    """A port on the node's address forwarded to containerPort; most pods need none."""
    hostIP: str | None = None
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    """TCP (the default), UDP or SCTP."""

    @field_validator("containerPort")
    @classmethod
    def _cport(cls, v: int) -> int:
        return _check_port(v, "containerPort")

    @field_validator("hostPort")
    @classmethod
    def _hport(cls, v: int | None) -> int | None:
        return None if v is None else _check_port(v, "hostPort")


class ResourceRequirements(KubeModel):
    """Compute resources of a container: requests (for scheduling) and limits."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"claims"})

    # Quantity bounds each value where it is parsed (the error names limits.cpu, requests.memory, ...).
    limits: dict[str, Quantity] | None = None
    """The most of each resource the container may use."""
    requests: dict[str, Quantity] | None = None
    """The resources the scheduler reserves for the container."""


def _local_descending_path(value: str) -> str:
    """A path that stays inside the volume: relative, no ``..`` element (Kubernetes' validateLocalDescendingPath)."""
    if value.startswith("/") or value.startswith("\\"):
        raise ValueError("must be a relative path")
    if ".." in value.replace("\\", "/").split("/"):
        raise ValueError("must not contain '..'")
    return value


class VolumeMount(KubeModel):
    """A volume of the pod mounted at a path in the container."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"mountPropagation"})

    name: str
    """The name of one of the pod's volumes."""
    mountPath: str
    """Where in the container the volume is mounted."""
    readOnly: bool | None = None
    """Mount read-only. Default false."""
    subPath: str | None = None
    """A path inside the volume to mount instead of its root."""
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
    """An HTTP GET against the pod's IP (or host) at a port and path."""

    path: str = "/"
    """The path to ask for. Default /."""
    port: IntOrString
    """The port, a number or a container port's name."""
    host: str | None = None
    scheme: Literal["HTTP", "HTTPS"] = "HTTP"
    httpHeaders: list[HTTPHeader] | None = None


class TCPSocketAction(KubeModel):
    """A TCP connection to a port of the pod."""

    port: IntOrString
    host: str | None = None


class ExecAction(KubeModel):
    """A command run in the container."""

    command: list[str] = Field(default_factory=list)


class Probe(KubeModel):
    """A check of a container (an HTTP GET, a TCP connection or a command) run periodically."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"grpc", "terminationGracePeriodSeconds"})

    httpGet: HTTPGetAction | None = None
    """An HTTP GET that succeeds with a status from 200 to 399."""
    tcpSocket: TCPSocketAction | None = None
    """A TCP connection that succeeds when it opens."""
    exec: ExecAction | None = None
    """A command run in the container that succeeds when it exits 0."""
    initialDelaySeconds: Int32 = 0
    """Seconds after the container started before the first probe."""
    periodSeconds: Int32 = 10
    """Seconds between probes. Default 10."""
    timeoutSeconds: Int32 = 1
    """Seconds a probe may take. Default 1."""
    successThreshold: Int32 = 1
    """Consecutive successes that count as success after a failure. Default 1."""
    failureThreshold: Int32 = 3
    """Consecutive failures that count as failure. Default 3."""

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
    """A single application container of a pod."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset(
        {"lifecycle", "resizePolicy", "restartPolicy", "securityContext", "stdinOnce", "volumeDevices"}
    )

    name: str
    """Name of the container, a DNS label unique in the pod; cannot be changed."""
    image: str
    """The container image to run (nginx:1.22, registry/name@sha256:...)."""
    command: list[str] | None = None
    """The entrypoint, replacing the image's ENTRYPOINT; not run in a shell."""
    args: list[str] | None = None
    """Arguments to the entrypoint, replacing the image's CMD."""
    workingDir: str | None = None
    """The working directory; default: the image's."""
    ports: list[ContainerPort] | None = None
    """Ports the container listens on; informational, and names for Services' targetPorts."""
    env: list[EnvVar] | None = None
    """Environment variables of the container."""
    envFrom: list[EnvFromSource] | None = None
    """Sources (ConfigMaps, Secrets) whose every key becomes an environment variable."""
    resources: ResourceRequirements | None = None
    """CPU and memory requested (for scheduling) and limited."""
    volumeMounts: list[VolumeMount] | None = None
    """Volumes of the pod mounted into the container."""
    livenessProbe: Probe | None = None
    """Probe whose failure restarts the container."""
    readinessProbe: Probe | None = None
    """Probe whose failure takes the pod out of its Services' endpoints."""
    startupProbe: Probe | None = None
    """Probe that must succeed before the other probes start."""
    imagePullPolicy: Literal["Always", "IfNotPresent", "Never"] | None = None
    """Always, IfNotPresent or Never. Default Always for :latest or no tag, else IfNotPresent."""
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


FileMode = Annotated[int, Field(ge=0, le=0o777)]
"""A volume file's mode: Kubernetes takes 0 to 0777 (octal)."""


class KeyToPath(KubeModel):
    """A key of a ConfigMap or Secret and the file it becomes."""

    key: str
    path: str
    mode: FileMode | None = None


class EmptyDirVolumeSource(KubeModel):
    """An empty directory for the pod's life."""

    medium: str | None = None
    sizeLimit: str | None = None


class HostPathVolumeSource(KubeModel):
    """A path on the node."""

    path: str
    type: str | None = None


class ConfigMapVolumeSource(KubeModel):
    """A ConfigMap's keys as files."""

    name: str | None = None
    items: list[KeyToPath] | None = None
    defaultMode: FileMode = 0o644
    optional: bool | None = None


class SecretVolumeSource(KubeModel):
    """A Secret's keys as files."""

    secretName: str | None = None
    items: list[KeyToPath] | None = None
    defaultMode: FileMode = 0o644
    optional: bool | None = None


class PersistentVolumeClaimVolumeSource(KubeModel):
    claimName: str
    readOnly: bool | None = None


class Volume(KubeModel):
    """A named volume the containers of a pod may mount: an emptyDir, a hostPath, a ConfigMap or a Secret."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset(
        {
            "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "downwardAPI", "ephemeral",
            "fc", "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs", "iscsi", "nfs",
            "photonPersistentDisk", "portworxVolume", "projected", "quobyte", "rbd",
            "scaleIO", "storageos", "vsphereVolume"
        }
    )

    name: str
    """Name of the volume, a DNS label unique in the pod; volumeMounts refer to it."""
    emptyDir: EmptyDirVolumeSource | None = None
    """An empty directory that lives as long as the pod."""
    hostPath: HostPathVolumeSource | None = None
    """A file or directory of the node."""
    configMap: ConfigMapVolumeSource | None = None
    """The keys of a ConfigMap as files."""
    secret: SecretVolumeSource | None = None
    """The keys of a Secret as files."""
    persistentVolumeClaim: PersistentVolumeClaimVolumeSource | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_dns1123_label(v, what="volume name")


class Toleration(KubeModel):
    """Tolerates the taints that match it (key, value, effect)."""

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
    weight: Int32
    preference: NodeSelectorTerm


class NodeAffinity(KubeModel):
    """Rules about the labels of the nodes a pod may run on."""

    requiredDuringSchedulingIgnoredDuringExecution: NodeSelector | None = None
    preferredDuringSchedulingIgnoredDuringExecution: list[PreferredSchedulingTerm] | None = None


class Affinity(KubeModel):
    """Scheduling constraints of a pod."""

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
    """The desired state of a pod: containers, volumes, restart policy and where it may run."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset(
        {
            "automountServiceAccountToken", "enableServiceLinks", "ephemeralContainers", "hostAliases", "hostIPC",
            "hostPID", "hostUsers", "imagePullSecrets", "os", "overhead", "preemptionPolicy", "priorityClassName",
            "readinessGates", "resourceClaims", "runtimeClassName", "schedulingGates", "securityContext",
            "serviceAccount", "setHostnameAsFQDN", "topologySpreadConstraints"
        }
    )

    containers: list[Container]
    """The containers of the pod; at least one. Cannot be changed after creation, except their images."""
    initContainers: list[Container] | None = None
    """Containers run one after another, each to success, before the app containers start."""
    volumes: list[Volume] | None = None
    """Volumes the pod's containers may mount."""
    restartPolicy: Literal["Always", "OnFailure", "Never"] = "Always"
    """Restart policy of the containers: Always, OnFailure or Never. Default Always."""
    terminationGracePeriodSeconds: int = 30  # int64, as in Kubernetes
    """Seconds the containers get to stop after the stop signal before they are killed. Default 30."""
    # int64 in Kubernetes' types, but validated to 1..2^31-1 there too.
    activeDeadlineSeconds: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    """Seconds the pod may be active before the system fails it."""
    dnsPolicy: Literal["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"] = "ClusterFirst"
    """How the pod's DNS is set up: ClusterFirst (the default), ClusterFirstWithHostNet, Default or None."""
    dnsConfig: PodDNSConfig | None = None
    nodeSelector: dict[str, str] | None = None
    """Labels a node must carry for the pod to be scheduled onto it."""
    nodeName: str | None = None
    """The node the pod runs on; set by the scheduler's binding, or by hand to skip scheduling."""
    serviceAccountName: str | None = None
    """The service account the pod runs as."""
    hostNetwork: bool | None = None
    """Run in the node's network namespace instead of the pod's own."""
    hostname: str | None = None
    """The pod's host name; default: the pod's name."""
    subdomain: str | None = None
    shareProcessNamespace: bool | None = None
    affinity: Affinity | None = None
    """Scheduling constraints (node affinity)."""
    tolerations: list[Toleration] | None = None
    """Taints of nodes this pod tolerates."""
    schedulerName: str = "default-scheduler"
    """The scheduler that places this pod. Default default-scheduler."""
    priority: Int32 | None = None

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
        # Kubernetes' words and paths (relative to the spec; the API server prefixes where it sits):
        # `containers[1].name: Duplicate value: "c"`, `containers[0].volumeMounts[0].name: Not found: "v"`.
        lists = [("initContainers", self.initContainers or []), ("containers", self.containers)]
        seen: set[str] = set()
        for field, containers in lists:
            for i, container in enumerate(containers):
                if container.name in seen:
                    raise ValueError(f"{field}[{i}].name: Duplicate value: {go_quote(container.name)}")
                seen.add(container.name)
        volumes = self.volumes or []
        known: set[str] = set()
        for i, volume in enumerate(volumes):
            if volume.name in known:
                raise ValueError(f"volumes[{i}].name: Duplicate value: {go_quote(volume.name)}")
            known.add(volume.name)
        for field, containers in lists:
            for i, container in enumerate(containers):
                for j, mount in enumerate(container.volumeMounts or []):
                    if mount.name not in known:
                        raise ValueError(f"{field}[{i}].volumeMounts[{j}].name: Not found: {go_quote(mount.name)}")
        return self


class PodTemplateSpec(KubeModel):
    """The pods a controller makes: their metadata and spec."""

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
    """The state of one container of a pod, as its node reports it."""

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
    """One condition of a pod (PodScheduled, Initialized, ContainersReady, Ready)."""

    type: str
    status: Literal["True", "False", "Unknown"]
    lastProbeTime: str | None = None
    lastTransitionTime: str | None = None
    reason: str | None = None
    message: str | None = None


class PodIP(KubeModel):
    ip: str


class PodStatus(KubeModel):
    """The observed state of a pod: its phase, conditions, addresses and containers' states."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset(
        {"ephemeralContainerStatuses", "hostIPs", "resize", "resourceClaimStatuses"}
    )

    phase: Literal["Pending", "Running", "Succeeded", "Failed", "Unknown"] = "Pending"
    """Where the pod is in its life: Pending, Running, Succeeded, Failed or Unknown."""
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
    """A Pod is a group of containers that share a network namespace and volumes, scheduled together onto one node."""

    apiVersion: str | None = "v1"
    kind: str | None = "Pod"
    spec: PodSpec
    """Specification of the desired behavior of the pod: its containers, volumes and scheduling."""
    status: PodStatus = Field(default_factory=PodStatus)
    """Most recently observed status of the pod, written by the node agent; read-only."""


# --------------------------------------------------------------------------- Service


class ServicePort(KubeModel):
    """A port a Service exposes, and where its traffic goes."""

    name: str | None = None
    """Name of the port, required when the service has more than one."""
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    """TCP (the default), UDP or SCTP."""
    port: int
    """The port the service answers on."""
    targetPort: IntOrString | None = None
    """The pods' port (a number or a container port's name). Default: port."""
    nodePort: int | None = None
    """The port on every node for NodePort and LoadBalancer services; allocated unless given."""
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
    """The desired behavior of a Service."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset(
        {
            "allocateLoadBalancerNodePorts", "healthCheckNodePort", "loadBalancerClass", "loadBalancerIP",
            "loadBalancerSourceRanges"
        }
    )

    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] = "ClusterIP"
    """ClusterIP (the default), NodePort, LoadBalancer or ExternalName."""
    selector: dict[str, str] | None = None
    """Labels of the pods that receive the service's traffic."""
    ports: list[ServicePort] | None = None
    """The ports the service exposes."""
    clusterIP: str | None = None
    """The virtual IP of the service, allocated by the server unless given; None makes a headless service."""
    clusterIPs: list[str] | None = None
    externalIPs: list[str] | None = None
    externalName: str | None = None
    """The DNS name an ExternalName service stands for."""
    sessionAffinity: Literal["None", "ClientIP"] = "None"
    """None (the default) or ClientIP: keep a client on one endpoint."""
    sessionAffinityConfig: SessionAffinityConfig | None = None
    externalTrafficPolicy: Literal["Cluster", "Local"] | None = None
    """For NodePort and LoadBalancer: Cluster (any endpoint, source address masqueraded) or Local (this node's endpoints only, source address kept)."""
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
            names: set[str] = set()
            for i, port in enumerate(ports):
                if not port.name:
                    raise ValueError(f"ports[{i}].name: Required value: every port needs a name when a service has more than one")
                if port.name in names:
                    raise ValueError(f"ports[{i}].name: Duplicate value: {go_quote(port.name)}")
                names.add(port.name)
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
    """A Service is a stable virtual address (ClusterIP, NodePort, LoadBalancer) and DNS name in front of the pods its selector matches."""

    NAME_RULE: ClassVar[Literal["subdomain", "label"]] = "label"
    apiVersion: str | None = "v1"
    kind: str | None = "Service"
    spec: ServiceSpec = Field(default_factory=ServiceSpec)
    """The desired behavior of the service: type, selector and ports."""
    status: ServiceStatus = Field(default_factory=ServiceStatus)
    """Most recently observed status of the service (a load balancer's address); read-only."""


class ObjectReference(KubeModel):
    """A reference to an object: kind, namespace, name, uid."""

    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    apiVersion: str | None = None
    resourceVersion: str | None = None
    fieldPath: str | None = None


class EndpointAddress(KubeModel):
    """One endpoint's IP and the pod it belongs to."""

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
    """Addresses and the ports they all answer on."""

    addresses: list[EndpointAddress] | None = None
    notReadyAddresses: list[EndpointAddress] | None = None
    ports: list[EndpointPort] | None = None


class Endpoints(TypedObject):
    """The addresses and ports that answer for a Service, kept by the endpoints controller."""

    apiVersion: str | None = "v1"
    kind: str | None = "Endpoints"
    subsets: list[EndpointSubset] | None = None


# --------------------------------------------------------------------------- Node


class Taint(KubeModel):
    """A taint keeps pods that do not tolerate it off a node (NoSchedule) or evicts them (NoExecute)."""

    key: str
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
    timeAdded: str | None = None


class NodeSpec(KubeModel):
    """The desired state of a node."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"configSource", "externalID"})

    podCIDR: str | None = None
    podCIDRs: list[str] | None = None
    providerID: str | None = None
    unschedulable: bool | None = None
    taints: list[Taint] | None = None


class NodeCondition(KubeModel):
    """One condition of a node (Ready, MemoryPressure, ...)."""

    type: str
    status: Literal["True", "False", "Unknown"]
    lastHeartbeatTime: str | None = None
    lastTransitionTime: str | None = None
    reason: str | None = None
    message: str | None = None


class NodeAddress(KubeModel):
    """An address of a node (InternalIP, Hostname)."""

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
    """The observed state of a node: conditions, addresses, capacity."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"config", "images", "volumesAttached", "volumesInUse"})

    capacity: dict[str, Quantity] | None = None
    allocatable: dict[str, Quantity] | None = None
    phase: str | None = None
    conditions: list[NodeCondition] | None = None
    addresses: list[NodeAddress] | None = None
    daemonEndpoints: NodeDaemonEndpoints | None = None
    nodeInfo: NodeSystemInfo | None = None


class Node(TypedObject):
    """A Node is a machine that runs pods; its agent registers it and reports its status."""

    apiVersion: str | None = "v1"
    kind: str | None = "Node"
    spec: NodeSpec = Field(default_factory=NodeSpec)
    """The desired state of the node: pod CIDR, taints, whether it takes new pods."""
    status: NodeStatus = Field(default_factory=NodeStatus)
    """Most recently observed status of the node, reported by its agent; read-only."""


# --------------------------------------------------------------------------- config, namespaces, events


def _check_data_keys(data: dict[str, str] | None) -> None:
    for key in data or {}:
        if not key or len(key) > 253 or not all(c.isalnum() or c in "-._" for c in key):
            raise ValueError(f"data key {key!r} must consist of alphanumeric characters, '-', '_' or '.'")


class ConfigMap(TypedObject):
    """A ConfigMap holds configuration data as key/value pairs for pods to read."""

    apiVersion: str | None = "v1"
    kind: str | None = "ConfigMap"
    data: dict[str, str] | None = None
    """The configuration data (UTF-8 strings)."""
    binaryData: dict[str, str] | None = None
    """Binary configuration data, base64-encoded."""
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
    """A Secret holds a small amount of sensitive data (passwords, tokens, keys) for pods."""

    apiVersion: str | None = "v1"
    kind: str | None = "Secret"
    type: str = "Opaque"
    """How the data is used. Default Opaque."""
    data: dict[str, str] | None = None
    """The secret data, base64-encoded."""
    stringData: dict[str, str] | None = None
    """Write-only plain-text data, merged into data by the server."""
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
    """A Namespace is a scope for names; deleting it deletes everything in it."""

    NAME_RULE: ClassVar[Literal["subdomain", "label"]] = "label"
    apiVersion: str | None = "v1"
    kind: str | None = "Namespace"
    spec: NamespaceSpec = Field(default_factory=NamespaceSpec)
    """The desired state of the namespace (its finalizers)."""
    status: NamespaceStatus = Field(default_factory=NamespaceStatus)
    """Whether the namespace is Active or Terminating; read-only."""


class EventSource(KubeModel):
    component: str | None = None
    host: str | None = None


class Event(TypedObject):
    """An Event reports something that happened to an object (scheduled, pulled, killed, failed)."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"action", "related", "series"})

    apiVersion: str | None = "v1"
    kind: str | None = "Event"
    involvedObject: ObjectReference
    """The object the event is about."""
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
    """Binds a pod to a node: what the scheduler posts."""

    apiVersion: str | None = "v1"
    kind: str | None = "Binding"
    target: ObjectReference


def validate_label_keys(labels: dict[str, str] | None) -> None:
    for key in labels or {}:
        check_qualified_name(key)


# --------------------------------------------------------------------------- ReplicationController


class ReplicationControllerSpec(KubeModel):
    """The desired state of a ReplicationController: a ReplicaSet's, with an equality selector."""

    replicas: Annotated[int, Field(ge=0, le=2**31 - 1)] = 1
    """Number of desired pods. Default 1."""
    selector: dict[str, str] | None = None
    """Labels the pods must all carry (equality only); defaults to the template's labels."""
    template: PodTemplateSpec
    """The pods the ReplicationController makes."""
    minReadySeconds: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    """Seconds a new pod must be ready before it counts as available. Default 0."""

    @model_validator(mode="after")
    def _selector(self) -> ReplicationControllerSpec:
        labels = self.template.metadata.labels or {}
        if not self.selector:
            # Kubernetes' defaulting: an empty selector is the template's labels.
            self.selector = dict(labels) or None
        if not self.selector:
            raise ValueError("selector: Required value")
        validate_label_keys(self.selector)
        if any(labels.get(k) != v for k, v in self.selector.items()):
            shown = "map[string]string{" + ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(labels.items())) + "}"
            raise ValueError(f"template.metadata.labels: Invalid value: {shown}: `selector` does not match template `labels`")
        return self


class ReplicationControllerCondition(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastTransitionTime: str | None = None
    reason: str | None = None
    message: str | None = None


class ReplicationControllerStatus(KubeModel):
    """The observed state of a ReplicationController."""

    replicas: int = 0
    fullyLabeledReplicas: int | None = None
    readyReplicas: int | None = None
    availableReplicas: int | None = None
    observedGeneration: int | None = None
    conditions: list[ReplicationControllerCondition] | None = None


class ReplicationController(TypedObject):
    """A ReplicationController keeps a number of pods carrying its selector's labels running (the ReplicaSet's predecessor)."""

    apiVersion: str | None = "v1"
    kind: str | None = "ReplicationController"
    spec: ReplicationControllerSpec
    """Specification of the desired behavior of the ReplicationController."""
    status: ReplicationControllerStatus = Field(default_factory=ReplicationControllerStatus)
    """Most recently observed status of the ReplicationController; read-only."""

    @model_validator(mode="after")
    def _labels(self) -> ReplicationController:
        # Kubernetes' defaulting: a ReplicationController without labels takes its template's.
        if not self.metadata.labels and self.spec.template.metadata.labels:
            self.metadata.labels = dict(self.spec.template.metadata.labels)
        return self

    def label_selector(self) -> LabelSelector:
        """The equality selector as a LabelSelector, for the code the ReplicaSet shares."""
        return LabelSelector(matchLabels=dict(self.spec.selector or {}))
