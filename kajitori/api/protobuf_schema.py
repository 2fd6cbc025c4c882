"""Kubernetes' protobuf field numbers for every kind served, as data, and how to read them.

``MESSAGES`` maps a message (``core/v1.Container``) to its fields, one entry per field in
Go's own notation: ``NUMBER JSONNAME TYPE[,omitempty|,inline]``, where TYPE is ``string``,
``bytes``, ``bool``, ``int32``, ``int64``, ``float64``, a message (bare within its own
package, ``meta/v1.ObjectMeta`` across), one of the types with their own encoding
(``Time``, ``MicroTime``, ``FieldsV1``, ``IntOrString``, ``Quantity``), ``*T`` (a Go
pointer: a zero value on the wire is kept), ``[]T`` (repeated) or ``map[K]V`` (repeated
key=1/value=2 entries). ``,inline`` fields are messages on the wire whose fields JSON
lifts into the parent (``Volume``'s ``VolumeSource``).

Where the facts come from: the field numbers and proto types are those of the
``generated.proto`` files of k8s.io/api v0.33.0 (Kubernetes 1.33: core/v1, apps/v1,
batch/v1, coordination/v1, networking/v1, policy/v1, autoscaling/v1, authentication/v1) and k8s.io/apimachinery v0.33.0
(meta/v1, util/intstr, api/resource); the JSON names, pointers, ``omitempty`` and
``inline`` are those of the same version's Go struct tags (``types.go``). Kubernetes never
renumbers a field, so 1.33's tables read what every kubectl up to 1.33 sends, and a field
newer than the models is decoded to its JSON name and then treated as JSON would be. The
tables hold the closure of the messages the served kinds (plus Binding, Eviction, Scale
and DeleteOptions) reach; tests/unit/api/test_protobuf.py checks that every reference
resolves and round-trips every kind through an encoder driven by the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

SCALARS = frozenset({"string", "bytes", "bool", "int32", "int64", "float64"})
# Types whose wire form is not their JSON form; protobuf.py knows each.
SPECIAL = frozenset({"Time", "MicroTime", "FieldsV1", "IntOrString", "Quantity"})


@dataclass(frozen=True)
class Field:
    number: int
    json: str  # "" for an inline field
    type: str  # a scalar, a special type or a fully qualified message name
    repeated: bool = False
    map_key: str | None = None  # set for map fields; ``type`` is then the value's type
    pointer: bool = False
    omitempty: bool = False
    inline: bool = False

    @property
    def is_message(self) -> bool:
        return self.type not in SCALARS and self.type not in SPECIAL


class SchemaError(LookupError):
    """A message or type the tables do not have."""


def _qualify(type_name: str, package: str) -> str:
    if type_name in SCALARS or type_name in SPECIAL or "." in type_name:
        return type_name
    return f"{package}.{type_name}"


def _parse_field(entry: str, package: str) -> Field:
    number, json_name, spec = entry.split()
    spec, _, flag = spec.partition(",")
    repeated = pointer = False
    map_key = None
    if spec.startswith("[]"):
        repeated, spec = True, spec[2:]
    elif spec.startswith("*"):
        pointer, spec = True, spec[1:]
    elif spec.startswith("map["):
        map_key, _, spec = spec[4:].partition("]")
    return Field(
        number=int(number),
        json="" if json_name == "-" else json_name,
        type=_qualify(spec, package),
        repeated=repeated,
        map_key=map_key,
        pointer=pointer,
        omitempty=flag == "omitempty",
        inline=flag == "inline",
    )


@cache
def message(name: str) -> dict[int, Field]:
    """The fields of a message by number; SchemaError if the tables lack it."""
    try:
        entries = MESSAGES[name]
    except KeyError:
        raise SchemaError(f"no protobuf message {name}") from None
    package = name.rpartition(".")[0]
    fields = (_parse_field(entry.strip(), package) for entry in entries.split(";"))
    return {f.number: f for f in fields}


# (apiVersion, kind) of the envelope's typeMeta -> the message its raw bytes hold.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "core/v1.Namespace",
    ("v1", "Node"): "core/v1.Node",
    ("v1", "Pod"): "core/v1.Pod",
    ("v1", "Service"): "core/v1.Service",
    ("v1", "Endpoints"): "core/v1.Endpoints",
    ("v1", "ConfigMap"): "core/v1.ConfigMap",
    ("v1", "Secret"): "core/v1.Secret",
    ("v1", "ServiceAccount"): "core/v1.ServiceAccount",
    ("authentication.k8s.io/v1", "TokenRequest"): "authentication/v1.TokenRequest",
    ("v1", "Event"): "core/v1.Event",
    ("v1", "ReplicationController"): "core/v1.ReplicationController",
    ("v1", "Binding"): "core/v1.Binding",
    ("coordination.k8s.io/v1", "Lease"): "coordination/v1.Lease",
    ("apps/v1", "Deployment"): "apps/v1.Deployment",
    ("apps/v1", "ReplicaSet"): "apps/v1.ReplicaSet",
    ("apps/v1", "DaemonSet"): "apps/v1.DaemonSet",
    ("batch/v1", "Job"): "batch/v1.Job",
    ("batch/v1", "CronJob"): "batch/v1.CronJob",
    ("networking.k8s.io/v1", "Ingress"): "networking/v1.Ingress",
    ("networking.k8s.io/v1", "IngressClass"): "networking/v1.IngressClass",
    ("v1", "PersistentVolume"): "core/v1.PersistentVolume",
    ("v1", "PersistentVolumeClaim"): "core/v1.PersistentVolumeClaim",
    ("storage.k8s.io/v1", "StorageClass"): "storage/v1.StorageClass",
    ("apps/v1", "StatefulSet"): "apps/v1.StatefulSet",
    ("apps/v1", "ControllerRevision"): "apps/v1.ControllerRevision",
    ("policy/v1", "Eviction"): "policy/v1.Eviction",
    ("autoscaling/v1", "Scale"): "autoscaling/v1.Scale",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "autoscaling/v2.HorizontalPodAutoscaler",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "autoscaling/v1.HorizontalPodAutoscaler",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "authorization/v1.SelfSubjectAccessReview",
    ("authorization.k8s.io/v1", "SubjectAccessReview"): "authorization/v1.SubjectAccessReview",
    ("authorization.k8s.io/v1", "LocalSubjectAccessReview"): "authorization/v1.SubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): "authorization/v1.SelfSubjectRulesReview",
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "authentication/v1.SelfSubjectReview",
    ("authentication.k8s.io/v1beta1", "SelfSubjectReview"): "authentication/v1.SelfSubjectReview",
    ("rbac.authorization.k8s.io/v1", "Role"): "rbac/v1.Role",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "rbac/v1.ClusterRole",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "rbac/v1.RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "rbac/v1.ClusterRoleBinding",
    ("certificates.k8s.io/v1", "CertificateSigningRequest"): "certificates/v1.CertificateSigningRequest",
}
# DeleteOptions is registered in every group version (client-go sends it under the resource's).
ANY_VERSION_KINDS = {"DeleteOptions": "meta/v1.DeleteOptions"}


def message_for(api_version: str, kind: str) -> str | None:
    return KINDS.get((api_version, kind)) or ANY_VERSION_KINDS.get(kind)


MESSAGES: dict[str, str] = {
    "core/v1.Namespace": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec NamespaceSpec,omitempty; "
        "3 status NamespaceStatus,omitempty"
    ),
    "meta/v1.ObjectMeta": (
        "1 name string,omitempty; 2 generateName string,omitempty; 3 namespace string,omitempty; "
        "4 selfLink string,omitempty; 5 uid string,omitempty; 6 resourceVersion string,omitempty; "
        "7 generation int64,omitempty; 8 creationTimestamp Time,omitempty; "
        "9 deletionTimestamp *Time,omitempty; 10 deletionGracePeriodSeconds *int64,omitempty; "
        "11 labels map[string]string,omitempty; 12 annotations map[string]string,omitempty; "
        "13 ownerReferences []OwnerReference,omitempty; 14 finalizers []string,omitempty; "
        "17 managedFields []ManagedFieldsEntry,omitempty"
    ),
    "meta/v1.OwnerReference": (
        "5 apiVersion string; 1 kind string; 3 name string; 4 uid string; 6 controller *bool,omitempty; "
        "7 blockOwnerDeletion *bool,omitempty"
    ),
    "meta/v1.ManagedFieldsEntry": (
        "1 manager string,omitempty; 2 operation string,omitempty; 3 apiVersion string,omitempty; "
        "4 time *Time,omitempty; 6 fieldsType string,omitempty; 7 fieldsV1 *FieldsV1,omitempty; "
        "8 subresource string,omitempty"
    ),
    "core/v1.NamespaceSpec": ("1 finalizers []string,omitempty"),
    "core/v1.NamespaceStatus": ("1 phase string,omitempty; 2 conditions []NamespaceCondition,omitempty"),
    "core/v1.NamespaceCondition": (
        "1 type string; 2 status string; 4 lastTransitionTime Time,omitempty; 5 reason string,omitempty; "
        "6 message string,omitempty"
    ),
    "core/v1.Node": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec NodeSpec,omitempty; 3 status NodeStatus,omitempty"
    ),
    "core/v1.NodeSpec": (
        "1 podCIDR string,omitempty; 7 podCIDRs []string,omitempty; 3 providerID string,omitempty; "
        "4 unschedulable bool,omitempty; 5 taints []Taint,omitempty; "
        "6 configSource *NodeConfigSource,omitempty; 2 externalID string,omitempty"
    ),
    "core/v1.Taint": ("1 key string; 2 value string,omitempty; 3 effect string; 4 timeAdded *Time,omitempty"),
    "core/v1.NodeConfigSource": ("2 configMap *ConfigMapNodeConfigSource,omitempty"),
    "core/v1.ConfigMapNodeConfigSource": (
        "1 namespace string; 2 name string; 3 uid string,omitempty; 4 resourceVersion string,omitempty; "
        "5 kubeletConfigKey string"
    ),
    "core/v1.NodeStatus": (
        "1 capacity map[string]Quantity,omitempty; 2 allocatable map[string]Quantity,omitempty; "
        "3 phase string,omitempty; 4 conditions []NodeCondition,omitempty; "
        "5 addresses []NodeAddress,omitempty; 6 daemonEndpoints NodeDaemonEndpoints,omitempty; "
        "7 nodeInfo NodeSystemInfo,omitempty; 8 images []ContainerImage,omitempty; "
        "9 volumesInUse []string,omitempty; 10 volumesAttached []AttachedVolume,omitempty; "
        "11 config *NodeConfigStatus,omitempty; 12 runtimeHandlers []NodeRuntimeHandler,omitempty; "
        "13 features *NodeFeatures,omitempty"
    ),
    "core/v1.NodeCondition": (
        "1 type string; 2 status string; 3 lastHeartbeatTime Time,omitempty; "
        "4 lastTransitionTime Time,omitempty; 5 reason string,omitempty; 6 message string,omitempty"
    ),
    "core/v1.NodeAddress": ("1 type string; 2 address string"),
    "core/v1.NodeDaemonEndpoints": ("1 kubeletEndpoint DaemonEndpoint,omitempty"),
    "core/v1.DaemonEndpoint": ("1 Port int32"),
    "core/v1.NodeSystemInfo": (
        "1 machineID string; 2 systemUUID string; 3 bootID string; 4 kernelVersion string; "
        "5 osImage string; 6 containerRuntimeVersion string; 7 kubeletVersion string; "
        "8 kubeProxyVersion string; 9 operatingSystem string; 10 architecture string; "
        "11 swap *NodeSwapStatus,omitempty"
    ),
    "core/v1.NodeSwapStatus": ("1 capacity *int64,omitempty"),
    "core/v1.ContainerImage": ("1 names []string; 2 sizeBytes int64,omitempty"),
    "core/v1.AttachedVolume": ("1 name string; 2 devicePath string"),
    "core/v1.NodeConfigStatus": (
        "1 assigned *NodeConfigSource,omitempty; 2 active *NodeConfigSource,omitempty; "
        "3 lastKnownGood *NodeConfigSource,omitempty; 4 error string,omitempty"
    ),
    "core/v1.NodeRuntimeHandler": ("1 name string; 2 features *NodeRuntimeHandlerFeatures,omitempty"),
    "core/v1.NodeRuntimeHandlerFeatures": (
        "1 recursiveReadOnlyMounts *bool,omitempty; 2 userNamespaces *bool,omitempty"
    ),
    "core/v1.NodeFeatures": ("1 supplementalGroupsPolicy *bool,omitempty"),
    "core/v1.Pod": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec PodSpec,omitempty; 3 status PodStatus,omitempty"
    ),
    "core/v1.PodSpec": (
        "1 volumes []Volume,omitempty; 20 initContainers []Container,omitempty; "
        "2 containers []Container; 34 ephemeralContainers []EphemeralContainer,omitempty; "
        "3 restartPolicy string,omitempty; 4 terminationGracePeriodSeconds *int64,omitempty; "
        "5 activeDeadlineSeconds *int64,omitempty; 6 dnsPolicy string,omitempty; "
        "7 nodeSelector map[string]string,omitempty; 8 serviceAccountName string,omitempty; "
        "9 serviceAccount string,omitempty; 21 automountServiceAccountToken *bool,omitempty; "
        "10 nodeName string,omitempty; 11 hostNetwork bool,omitempty; 12 hostPID bool,omitempty; "
        "13 hostIPC bool,omitempty; 27 shareProcessNamespace *bool,omitempty; "
        "14 securityContext *PodSecurityContext,omitempty; "
        "15 imagePullSecrets []LocalObjectReference,omitempty; 16 hostname string,omitempty; "
        "17 subdomain string,omitempty; 18 affinity *Affinity,omitempty; "
        "19 schedulerName string,omitempty; 22 tolerations []Toleration,omitempty; "
        "23 hostAliases []HostAlias,omitempty; 24 priorityClassName string,omitempty; "
        "25 priority *int32,omitempty; 26 dnsConfig *PodDNSConfig,omitempty; "
        "28 readinessGates []PodReadinessGate,omitempty; 29 runtimeClassName *string,omitempty; "
        "30 enableServiceLinks *bool,omitempty; 31 preemptionPolicy *string,omitempty; "
        "32 overhead map[string]Quantity,omitempty; "
        "33 topologySpreadConstraints []TopologySpreadConstraint,omitempty; "
        "35 setHostnameAsFQDN *bool,omitempty; 36 os *PodOS,omitempty; 37 hostUsers *bool,omitempty; "
        "38 schedulingGates []PodSchedulingGate,omitempty; "
        "39 resourceClaims []PodResourceClaim,omitempty; 40 resources *ResourceRequirements,omitempty"
    ),
    "core/v1.Volume": ("1 name string; 2 - VolumeSource,inline"),
    "core/v1.VolumeSource": (
        "1 hostPath *HostPathVolumeSource,omitempty; 2 emptyDir *EmptyDirVolumeSource,omitempty; "
        "3 gcePersistentDisk *GCEPersistentDiskVolumeSource,omitempty; "
        "4 awsElasticBlockStore *AWSElasticBlockStoreVolumeSource,omitempty; "
        "5 gitRepo *GitRepoVolumeSource,omitempty; 6 secret *SecretVolumeSource,omitempty; "
        "7 nfs *NFSVolumeSource,omitempty; 8 iscsi *ISCSIVolumeSource,omitempty; "
        "9 glusterfs *GlusterfsVolumeSource,omitempty; "
        "10 persistentVolumeClaim *PersistentVolumeClaimVolumeSource,omitempty; "
        "11 rbd *RBDVolumeSource,omitempty; 12 flexVolume *FlexVolumeSource,omitempty; "
        "13 cinder *CinderVolumeSource,omitempty; 14 cephfs *CephFSVolumeSource,omitempty; "
        "15 flocker *FlockerVolumeSource,omitempty; 16 downwardAPI *DownwardAPIVolumeSource,omitempty; "
        "17 fc *FCVolumeSource,omitempty; 18 azureFile *AzureFileVolumeSource,omitempty; "
        "19 configMap *ConfigMapVolumeSource,omitempty; "
        "20 vsphereVolume *VsphereVirtualDiskVolumeSource,omitempty; "
        "21 quobyte *QuobyteVolumeSource,omitempty; 22 azureDisk *AzureDiskVolumeSource,omitempty; "
        "23 photonPersistentDisk *PhotonPersistentDiskVolumeSource,omitempty; "
        "26 projected *ProjectedVolumeSource,omitempty; "
        "24 portworxVolume *PortworxVolumeSource,omitempty; 25 scaleIO *ScaleIOVolumeSource,omitempty; "
        "27 storageos *StorageOSVolumeSource,omitempty; 28 csi *CSIVolumeSource,omitempty; "
        "29 ephemeral *EphemeralVolumeSource,omitempty; 30 image *ImageVolumeSource,omitempty"
    ),
    "core/v1.HostPathVolumeSource": ("1 path string; 2 type *string,omitempty"),
    "core/v1.EmptyDirVolumeSource": ("1 medium string,omitempty; 2 sizeLimit *Quantity,omitempty"),
    "core/v1.GCEPersistentDiskVolumeSource": (
        "1 pdName string; 2 fsType string,omitempty; 3 partition int32,omitempty; 4 readOnly bool,omitempty"
    ),
    "core/v1.AWSElasticBlockStoreVolumeSource": (
        "1 volumeID string; 2 fsType string,omitempty; 3 partition int32,omitempty; 4 readOnly bool,omitempty"
    ),
    "core/v1.GitRepoVolumeSource": (
        "1 repository string; 2 revision string,omitempty; 3 directory string,omitempty"
    ),
    "core/v1.SecretVolumeSource": (
        "1 secretName string,omitempty; 2 items []KeyToPath,omitempty; 3 defaultMode *int32,omitempty; "
        "4 optional *bool,omitempty"
    ),
    "core/v1.KeyToPath": ("1 key string; 2 path string; 3 mode *int32,omitempty"),
    "core/v1.NFSVolumeSource": ("1 server string; 2 path string; 3 readOnly bool,omitempty"),
    "core/v1.ISCSIVolumeSource": (
        "1 targetPortal string; 2 iqn string; 3 lun int32; 4 iscsiInterface string,omitempty; "
        "5 fsType string,omitempty; 6 readOnly bool,omitempty; 7 portals []string,omitempty; "
        "8 chapAuthDiscovery bool,omitempty; 11 chapAuthSession bool,omitempty; "
        "10 secretRef *LocalObjectReference,omitempty; 12 initiatorName *string,omitempty"
    ),
    "core/v1.LocalObjectReference": ("1 name string,omitempty"),
    "core/v1.GlusterfsVolumeSource": ("1 endpoints string; 2 path string; 3 readOnly bool,omitempty"),
    "core/v1.PersistentVolumeClaimVolumeSource": ("1 claimName string; 2 readOnly bool,omitempty"),
    "core/v1.RBDVolumeSource": (
        "1 monitors []string; 2 image string; 3 fsType string,omitempty; 4 pool string,omitempty; "
        "5 user string,omitempty; 6 keyring string,omitempty; "
        "7 secretRef *LocalObjectReference,omitempty; 8 readOnly bool,omitempty"
    ),
    "core/v1.FlexVolumeSource": (
        "1 driver string; 2 fsType string,omitempty; 3 secretRef *LocalObjectReference,omitempty; "
        "4 readOnly bool,omitempty; 5 options map[string]string,omitempty"
    ),
    "core/v1.CinderVolumeSource": (
        "1 volumeID string; 2 fsType string,omitempty; 3 readOnly bool,omitempty; "
        "4 secretRef *LocalObjectReference,omitempty"
    ),
    "core/v1.CephFSVolumeSource": (
        "1 monitors []string; 2 path string,omitempty; 3 user string,omitempty; "
        "4 secretFile string,omitempty; 5 secretRef *LocalObjectReference,omitempty; "
        "6 readOnly bool,omitempty"
    ),
    "core/v1.FlockerVolumeSource": ("1 datasetName string,omitempty; 2 datasetUUID string,omitempty"),
    "core/v1.DownwardAPIVolumeSource": (
        "1 items []DownwardAPIVolumeFile,omitempty; 2 defaultMode *int32,omitempty"
    ),
    "core/v1.DownwardAPIVolumeFile": (
        "1 path string; 2 fieldRef *ObjectFieldSelector,omitempty; "
        "3 resourceFieldRef *ResourceFieldSelector,omitempty; 4 mode *int32,omitempty"
    ),
    "core/v1.ObjectFieldSelector": ("1 apiVersion string,omitempty; 2 fieldPath string"),
    "core/v1.ResourceFieldSelector": (
        "1 containerName string,omitempty; 2 resource string; 3 divisor Quantity,omitempty"
    ),
    "core/v1.FCVolumeSource": (
        "1 targetWWNs []string,omitempty; 2 lun *int32,omitempty; 3 fsType string,omitempty; "
        "4 readOnly bool,omitempty; 5 wwids []string,omitempty"
    ),
    "core/v1.AzureFileVolumeSource": ("1 secretName string; 2 shareName string; 3 readOnly bool,omitempty"),
    "core/v1.ConfigMapVolumeSource": (
        "1 - LocalObjectReference,inline; 2 items []KeyToPath,omitempty; 3 defaultMode *int32,omitempty; "
        "4 optional *bool,omitempty"
    ),
    "core/v1.VsphereVirtualDiskVolumeSource": (
        "1 volumePath string; 2 fsType string,omitempty; 3 storagePolicyName string,omitempty; "
        "4 storagePolicyID string,omitempty"
    ),
    "core/v1.QuobyteVolumeSource": (
        "1 registry string; 2 volume string; 3 readOnly bool,omitempty; 4 user string,omitempty; "
        "5 group string,omitempty; 6 tenant string,omitempty"
    ),
    "core/v1.AzureDiskVolumeSource": (
        "1 diskName string; 2 diskURI string; 3 cachingMode *string,omitempty; "
        "4 fsType *string,omitempty; 5 readOnly *bool,omitempty; 6 kind *string,omitempty"
    ),
    "core/v1.PhotonPersistentDiskVolumeSource": ("1 pdID string; 2 fsType string,omitempty"),
    "core/v1.ProjectedVolumeSource": ("1 sources []VolumeProjection; 2 defaultMode *int32,omitempty"),
    "core/v1.VolumeProjection": (
        "1 secret *SecretProjection,omitempty; 2 downwardAPI *DownwardAPIProjection,omitempty; "
        "3 configMap *ConfigMapProjection,omitempty; "
        "4 serviceAccountToken *ServiceAccountTokenProjection,omitempty; "
        "5 clusterTrustBundle *ClusterTrustBundleProjection,omitempty"
    ),
    "core/v1.SecretProjection": (
        "1 - LocalObjectReference,inline; 2 items []KeyToPath,omitempty; 4 optional *bool,omitempty"
    ),
    "core/v1.DownwardAPIProjection": ("1 items []DownwardAPIVolumeFile,omitempty"),
    "core/v1.ConfigMapProjection": (
        "1 - LocalObjectReference,inline; 2 items []KeyToPath,omitempty; 4 optional *bool,omitempty"
    ),
    "core/v1.ServiceAccountTokenProjection": (
        "1 audience string,omitempty; 2 expirationSeconds *int64,omitempty; 3 path string"
    ),
    "core/v1.ClusterTrustBundleProjection": (
        "1 name *string,omitempty; 2 signerName *string,omitempty; "
        "3 labelSelector *meta/v1.LabelSelector,omitempty; 5 optional *bool,omitempty; 4 path string"
    ),
    "meta/v1.LabelSelector": (
        "1 matchLabels map[string]string,omitempty; 2 matchExpressions []LabelSelectorRequirement,omitempty"
    ),
    "meta/v1.LabelSelectorRequirement": ("1 key string; 2 operator string; 3 values []string,omitempty"),
    "core/v1.PortworxVolumeSource": (
        "1 volumeID string; 2 fsType string,omitempty; 3 readOnly bool,omitempty"
    ),
    "core/v1.ScaleIOVolumeSource": (
        "1 gateway string; 2 system string; 3 secretRef *LocalObjectReference; "
        "4 sslEnabled bool,omitempty; 5 protectionDomain string,omitempty; "
        "6 storagePool string,omitempty; 7 storageMode string,omitempty; 8 volumeName string,omitempty; "
        "9 fsType string,omitempty; 10 readOnly bool,omitempty"
    ),
    "core/v1.StorageOSVolumeSource": (
        "1 volumeName string,omitempty; 2 volumeNamespace string,omitempty; 3 fsType string,omitempty; "
        "4 readOnly bool,omitempty; 5 secretRef *LocalObjectReference,omitempty"
    ),
    "core/v1.CSIVolumeSource": (
        "1 driver string; 2 readOnly *bool,omitempty; 3 fsType *string,omitempty; "
        "4 volumeAttributes map[string]string,omitempty; "
        "5 nodePublishSecretRef *LocalObjectReference,omitempty"
    ),
    "core/v1.EphemeralVolumeSource": ("1 volumeClaimTemplate *PersistentVolumeClaimTemplate,omitempty"),
    "core/v1.PersistentVolumeClaimTemplate": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec PersistentVolumeClaimSpec"
    ),
    "core/v1.PersistentVolumeClaimSpec": (
        "1 accessModes []string,omitempty; 4 selector *meta/v1.LabelSelector,omitempty; "
        "2 resources VolumeResourceRequirements,omitempty; 3 volumeName string,omitempty; "
        "5 storageClassName *string,omitempty; 6 volumeMode *string,omitempty; "
        "7 dataSource *TypedLocalObjectReference,omitempty; "
        "8 dataSourceRef *TypedObjectReference,omitempty; 9 volumeAttributesClassName *string,omitempty"
    ),
    "core/v1.VolumeResourceRequirements": (
        "1 limits map[string]Quantity,omitempty; 2 requests map[string]Quantity,omitempty"
    ),
    "core/v1.TypedLocalObjectReference": ("1 apiGroup *string; 2 kind string; 3 name string"),
    "core/v1.TypedObjectReference": (
        "1 apiGroup *string; 2 kind string; 3 name string; 4 namespace *string,omitempty"
    ),
    "core/v1.ImageVolumeSource": ("1 reference string,omitempty; 2 pullPolicy string,omitempty"),
    "core/v1.Container": (
        "1 name string; 2 image string,omitempty; 3 command []string,omitempty; "
        "4 args []string,omitempty; 5 workingDir string,omitempty; 6 ports []ContainerPort,omitempty; "
        "19 envFrom []EnvFromSource,omitempty; 7 env []EnvVar,omitempty; "
        "8 resources ResourceRequirements,omitempty; 23 resizePolicy []ContainerResizePolicy,omitempty; "
        "24 restartPolicy *string,omitempty; 9 volumeMounts []VolumeMount,omitempty; "
        "21 volumeDevices []VolumeDevice,omitempty; 10 livenessProbe *Probe,omitempty; "
        "11 readinessProbe *Probe,omitempty; 22 startupProbe *Probe,omitempty; "
        "12 lifecycle *Lifecycle,omitempty; 13 terminationMessagePath string,omitempty; "
        "20 terminationMessagePolicy string,omitempty; 14 imagePullPolicy string,omitempty; "
        "15 securityContext *SecurityContext,omitempty; 16 stdin bool,omitempty; "
        "17 stdinOnce bool,omitempty; 18 tty bool,omitempty"
    ),
    "core/v1.ContainerPort": (
        "1 name string,omitempty; 2 hostPort int32,omitempty; 3 containerPort int32; "
        "4 protocol string,omitempty; 5 hostIP string,omitempty"
    ),
    "core/v1.EnvFromSource": (
        "1 prefix string,omitempty; 2 configMapRef *ConfigMapEnvSource,omitempty; "
        "3 secretRef *SecretEnvSource,omitempty"
    ),
    "core/v1.ConfigMapEnvSource": ("1 - LocalObjectReference,inline; 2 optional *bool,omitempty"),
    "core/v1.SecretEnvSource": ("1 - LocalObjectReference,inline; 2 optional *bool,omitempty"),
    "core/v1.EnvVar": ("1 name string; 2 value string,omitempty; 3 valueFrom *EnvVarSource,omitempty"),
    "core/v1.EnvVarSource": (
        "1 fieldRef *ObjectFieldSelector,omitempty; 2 resourceFieldRef *ResourceFieldSelector,omitempty; "
        "3 configMapKeyRef *ConfigMapKeySelector,omitempty; 4 secretKeyRef *SecretKeySelector,omitempty"
    ),
    "core/v1.ConfigMapKeySelector": (
        "1 - LocalObjectReference,inline; 2 key string; 3 optional *bool,omitempty"
    ),
    "core/v1.SecretKeySelector": (
        "1 - LocalObjectReference,inline; 2 key string; 3 optional *bool,omitempty"
    ),
    "core/v1.ResourceRequirements": (
        "1 limits map[string]Quantity,omitempty; 2 requests map[string]Quantity,omitempty; "
        "3 claims []ResourceClaim,omitempty"
    ),
    "core/v1.ResourceClaim": ("1 name string; 2 request string,omitempty"),
    "core/v1.ContainerResizePolicy": ("1 resourceName string; 2 restartPolicy string"),
    "core/v1.VolumeMount": (
        "1 name string; 2 readOnly bool,omitempty; 7 recursiveReadOnly *string,omitempty; "
        "3 mountPath string; 4 subPath string,omitempty; 5 mountPropagation *string,omitempty; "
        "6 subPathExpr string,omitempty"
    ),
    "core/v1.VolumeDevice": ("1 name string; 2 devicePath string"),
    "core/v1.Probe": (
        "1 - ProbeHandler,inline; 2 initialDelaySeconds int32,omitempty; "
        "3 timeoutSeconds int32,omitempty; 4 periodSeconds int32,omitempty; "
        "5 successThreshold int32,omitempty; 6 failureThreshold int32,omitempty; "
        "7 terminationGracePeriodSeconds *int64,omitempty"
    ),
    "core/v1.ProbeHandler": (
        "1 exec *ExecAction,omitempty; 2 httpGet *HTTPGetAction,omitempty; "
        "3 tcpSocket *TCPSocketAction,omitempty; 4 grpc *GRPCAction,omitempty"
    ),
    "core/v1.ExecAction": ("1 command []string,omitempty"),
    "core/v1.HTTPGetAction": (
        "1 path string,omitempty; 2 port IntOrString; 3 host string,omitempty; "
        "4 scheme string,omitempty; 5 httpHeaders []HTTPHeader,omitempty"
    ),
    "core/v1.HTTPHeader": ("1 name string; 2 value string"),
    "core/v1.TCPSocketAction": ("1 port IntOrString; 2 host string,omitempty"),
    "core/v1.GRPCAction": ("1 port int32; 2 service *string"),
    "core/v1.Lifecycle": (
        "1 postStart *LifecycleHandler,omitempty; 2 preStop *LifecycleHandler,omitempty; "
        "3 stopSignal *string,omitempty"
    ),
    "core/v1.LifecycleHandler": (
        "1 exec *ExecAction,omitempty; 2 httpGet *HTTPGetAction,omitempty; "
        "3 tcpSocket *TCPSocketAction,omitempty; 4 sleep *SleepAction,omitempty"
    ),
    "core/v1.SleepAction": ("1 seconds int64"),
    "core/v1.SecurityContext": (
        "1 capabilities *Capabilities,omitempty; 2 privileged *bool,omitempty; "
        "3 seLinuxOptions *SELinuxOptions,omitempty; "
        "10 windowsOptions *WindowsSecurityContextOptions,omitempty; 4 runAsUser *int64,omitempty; "
        "8 runAsGroup *int64,omitempty; 5 runAsNonRoot *bool,omitempty; "
        "6 readOnlyRootFilesystem *bool,omitempty; 7 allowPrivilegeEscalation *bool,omitempty; "
        "9 procMount *string,omitempty; 11 seccompProfile *SeccompProfile,omitempty; "
        "12 appArmorProfile *AppArmorProfile,omitempty"
    ),
    "core/v1.Capabilities": ("1 add []string,omitempty; 2 drop []string,omitempty"),
    "core/v1.SELinuxOptions": (
        "1 user string,omitempty; 2 role string,omitempty; 3 type string,omitempty; 4 level string,omitempty"
    ),
    "core/v1.WindowsSecurityContextOptions": (
        "1 gmsaCredentialSpecName *string,omitempty; 2 gmsaCredentialSpec *string,omitempty; "
        "3 runAsUserName *string,omitempty; 4 hostProcess *bool,omitempty"
    ),
    "core/v1.SeccompProfile": ("1 type string; 2 localhostProfile *string,omitempty"),
    "core/v1.AppArmorProfile": ("1 type string; 2 localhostProfile *string,omitempty"),
    "core/v1.EphemeralContainer": (
        "1 - EphemeralContainerCommon,inline; 2 targetContainerName string,omitempty"
    ),
    "core/v1.EphemeralContainerCommon": (
        "1 name string; 2 image string,omitempty; 3 command []string,omitempty; "
        "4 args []string,omitempty; 5 workingDir string,omitempty; 6 ports []ContainerPort,omitempty; "
        "19 envFrom []EnvFromSource,omitempty; 7 env []EnvVar,omitempty; "
        "8 resources ResourceRequirements,omitempty; 23 resizePolicy []ContainerResizePolicy,omitempty; "
        "24 restartPolicy *string,omitempty; 9 volumeMounts []VolumeMount,omitempty; "
        "21 volumeDevices []VolumeDevice,omitempty; 10 livenessProbe *Probe,omitempty; "
        "11 readinessProbe *Probe,omitempty; 22 startupProbe *Probe,omitempty; "
        "12 lifecycle *Lifecycle,omitempty; 13 terminationMessagePath string,omitempty; "
        "20 terminationMessagePolicy string,omitempty; 14 imagePullPolicy string,omitempty; "
        "15 securityContext *SecurityContext,omitempty; 16 stdin bool,omitempty; "
        "17 stdinOnce bool,omitempty; 18 tty bool,omitempty"
    ),
    "core/v1.PodSecurityContext": (
        "1 seLinuxOptions *SELinuxOptions,omitempty; "
        "8 windowsOptions *WindowsSecurityContextOptions,omitempty; 2 runAsUser *int64,omitempty; "
        "6 runAsGroup *int64,omitempty; 3 runAsNonRoot *bool,omitempty; "
        "4 supplementalGroups []int64,omitempty; 12 supplementalGroupsPolicy *string,omitempty; "
        "5 fsGroup *int64,omitempty; 7 sysctls []Sysctl,omitempty; "
        "9 fsGroupChangePolicy *string,omitempty; 10 seccompProfile *SeccompProfile,omitempty; "
        "11 appArmorProfile *AppArmorProfile,omitempty; 13 seLinuxChangePolicy *string,omitempty"
    ),
    "core/v1.Sysctl": ("1 name string; 2 value string"),
    "core/v1.Affinity": (
        "1 nodeAffinity *NodeAffinity,omitempty; 2 podAffinity *PodAffinity,omitempty; "
        "3 podAntiAffinity *PodAntiAffinity,omitempty"
    ),
    "core/v1.NodeAffinity": (
        "1 requiredDuringSchedulingIgnoredDuringExecution *NodeSelector,omitempty; "
        "2 preferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm,omitempty"
    ),
    "core/v1.NodeSelector": ("1 nodeSelectorTerms []NodeSelectorTerm"),
    "core/v1.NodeSelectorTerm": (
        "1 matchExpressions []NodeSelectorRequirement,omitempty; "
        "2 matchFields []NodeSelectorRequirement,omitempty"
    ),
    "core/v1.NodeSelectorRequirement": ("1 key string; 2 operator string; 3 values []string,omitempty"),
    "core/v1.PreferredSchedulingTerm": ("1 weight int32; 2 preference NodeSelectorTerm"),
    "core/v1.PodAffinity": (
        "1 requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm,omitempty; "
        "2 preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm,omitempty"
    ),
    "core/v1.PodAffinityTerm": (
        "1 labelSelector *meta/v1.LabelSelector,omitempty; 2 namespaces []string,omitempty; "
        "3 topologyKey string; 4 namespaceSelector *meta/v1.LabelSelector,omitempty; "
        "5 matchLabelKeys []string,omitempty; 6 mismatchLabelKeys []string,omitempty"
    ),
    "core/v1.WeightedPodAffinityTerm": ("1 weight int32; 2 podAffinityTerm PodAffinityTerm"),
    "core/v1.PodAntiAffinity": (
        "1 requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm,omitempty; "
        "2 preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm,omitempty"
    ),
    "core/v1.Toleration": (
        "1 key string,omitempty; 2 operator string,omitempty; 3 value string,omitempty; "
        "4 effect string,omitempty; 5 tolerationSeconds *int64,omitempty"
    ),
    "core/v1.HostAlias": ("1 ip string; 2 hostnames []string,omitempty"),
    "core/v1.PodDNSConfig": (
        "1 nameservers []string,omitempty; 2 searches []string,omitempty; "
        "3 options []PodDNSConfigOption,omitempty"
    ),
    "core/v1.PodDNSConfigOption": ("1 name string,omitempty; 2 value *string,omitempty"),
    "core/v1.PodReadinessGate": ("1 conditionType string"),
    "core/v1.TopologySpreadConstraint": (
        "1 maxSkew int32; 2 topologyKey string; 3 whenUnsatisfiable string; "
        "4 labelSelector *meta/v1.LabelSelector,omitempty; 5 minDomains *int32,omitempty; "
        "6 nodeAffinityPolicy *string,omitempty; 7 nodeTaintsPolicy *string,omitempty; "
        "8 matchLabelKeys []string,omitempty"
    ),
    "core/v1.PodOS": ("1 name string"),
    "core/v1.PodSchedulingGate": ("1 name string"),
    "core/v1.PodResourceClaim": (
        "1 name string; 3 resourceClaimName *string,omitempty; 4 resourceClaimTemplateName *string,omitempty"
    ),
    "core/v1.PodStatus": (
        "17 observedGeneration int64,omitempty; 1 phase string,omitempty; "
        "2 conditions []PodCondition,omitempty; 3 message string,omitempty; 4 reason string,omitempty; "
        "11 nominatedNodeName string,omitempty; 5 hostIP string,omitempty; "
        "16 hostIPs []HostIP,omitempty; 6 podIP string,omitempty; 12 podIPs []PodIP,omitempty; "
        "7 startTime *Time,omitempty; 10 initContainerStatuses []ContainerStatus,omitempty; "
        "8 containerStatuses []ContainerStatus,omitempty; 9 qosClass string,omitempty; "
        "13 ephemeralContainerStatuses []ContainerStatus,omitempty; 14 resize string,omitempty; "
        "15 resourceClaimStatuses []PodResourceClaimStatus,omitempty"
    ),
    "core/v1.PodCondition": (
        "1 type string; 7 observedGeneration int64,omitempty; 2 status string; "
        "3 lastProbeTime Time,omitempty; 4 lastTransitionTime Time,omitempty; 5 reason string,omitempty; "
        "6 message string,omitempty"
    ),
    "core/v1.HostIP": ("1 ip string"),
    "core/v1.PodIP": ("1 ip string"),
    "core/v1.ContainerStatus": (
        "1 name string; 2 state ContainerState,omitempty; 3 lastState ContainerState,omitempty; "
        "4 ready bool; 5 restartCount int32; 6 image string; 7 imageID string; "
        "8 containerID string,omitempty; 9 started *bool,omitempty; "
        "10 allocatedResources map[string]Quantity,omitempty; "
        "11 resources *ResourceRequirements,omitempty; 12 volumeMounts []VolumeMountStatus,omitempty; "
        "13 user *ContainerUser,omitempty; 14 allocatedResourcesStatus []ResourceStatus,omitempty; "
        "15 stopSignal *string,omitempty"
    ),
    "core/v1.ContainerState": (
        "1 waiting *ContainerStateWaiting,omitempty; 2 running *ContainerStateRunning,omitempty; "
        "3 terminated *ContainerStateTerminated,omitempty"
    ),
    "core/v1.ContainerStateWaiting": ("1 reason string,omitempty; 2 message string,omitempty"),
    "core/v1.ContainerStateRunning": ("1 startedAt Time,omitempty"),
    "core/v1.ContainerStateTerminated": (
        "1 exitCode int32; 2 signal int32,omitempty; 3 reason string,omitempty; "
        "4 message string,omitempty; 5 startedAt Time,omitempty; 6 finishedAt Time,omitempty; "
        "7 containerID string,omitempty"
    ),
    "core/v1.VolumeMountStatus": (
        "1 name string; 2 mountPath string; 3 readOnly bool,omitempty; 4 recursiveReadOnly *string,omitempty"
    ),
    "core/v1.ContainerUser": ("1 linux *LinuxContainerUser,omitempty"),
    "core/v1.LinuxContainerUser": ("1 uid int64; 2 gid int64; 3 supplementalGroups []int64,omitempty"),
    "core/v1.ResourceStatus": ("1 name string; 2 resources []ResourceHealth,omitempty"),
    "core/v1.ResourceHealth": ("1 resourceID string; 2 health string,omitempty"),
    "core/v1.PodResourceClaimStatus": ("1 name string; 2 resourceClaimName *string,omitempty"),
    "core/v1.Service": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec ServiceSpec,omitempty; "
        "3 status ServiceStatus,omitempty"
    ),
    "core/v1.ServiceSpec": (
        "1 ports []ServicePort,omitempty; 2 selector map[string]string,omitempty; "
        "3 clusterIP string,omitempty; 18 clusterIPs []string,omitempty; 4 type string,omitempty; "
        "5 externalIPs []string,omitempty; 7 sessionAffinity string,omitempty; "
        "8 loadBalancerIP string,omitempty; 9 loadBalancerSourceRanges []string,omitempty; "
        "10 externalName string,omitempty; 11 externalTrafficPolicy string,omitempty; "
        "12 healthCheckNodePort int32,omitempty; 13 publishNotReadyAddresses bool,omitempty; "
        "14 sessionAffinityConfig *SessionAffinityConfig,omitempty; 19 ipFamilies []string,omitempty; "
        "17 ipFamilyPolicy *string,omitempty; 20 allocateLoadBalancerNodePorts *bool,omitempty; "
        "21 loadBalancerClass *string,omitempty; 22 internalTrafficPolicy *string,omitempty; "
        "23 trafficDistribution *string,omitempty"
    ),
    "core/v1.ServicePort": (
        "1 name string,omitempty; 2 protocol string,omitempty; 6 appProtocol *string,omitempty; "
        "3 port int32; 4 targetPort IntOrString,omitempty; 5 nodePort int32,omitempty"
    ),
    "core/v1.SessionAffinityConfig": ("1 clientIP *ClientIPConfig,omitempty"),
    "core/v1.ClientIPConfig": ("1 timeoutSeconds *int32,omitempty"),
    "core/v1.ServiceStatus": (
        "1 loadBalancer LoadBalancerStatus,omitempty; 2 conditions []meta/v1.Condition,omitempty"
    ),
    "core/v1.LoadBalancerStatus": ("1 ingress []LoadBalancerIngress,omitempty"),
    "core/v1.LoadBalancerIngress": (
        "1 ip string,omitempty; 2 hostname string,omitempty; 3 ipMode *string,omitempty; "
        "4 ports []PortStatus,omitempty"
    ),
    "core/v1.PortStatus": ("1 port int32; 2 protocol string; 3 error *string,omitempty"),
    "meta/v1.Condition": (
        "1 type string; 2 status string; 3 observedGeneration int64,omitempty; "
        "4 lastTransitionTime Time; 5 reason string; 6 message string"
    ),
    "core/v1.Endpoints": ("1 metadata meta/v1.ObjectMeta,omitempty; 2 subsets []EndpointSubset,omitempty"),
    "core/v1.EndpointSubset": (
        "1 addresses []EndpointAddress,omitempty; 2 notReadyAddresses []EndpointAddress,omitempty; "
        "3 ports []EndpointPort,omitempty"
    ),
    "core/v1.EndpointAddress": (
        "1 ip string; 3 hostname string,omitempty; 4 nodeName *string,omitempty; "
        "2 targetRef *ObjectReference,omitempty"
    ),
    "core/v1.ObjectReference": (
        "1 kind string,omitempty; 2 namespace string,omitempty; 3 name string,omitempty; "
        "4 uid string,omitempty; 5 apiVersion string,omitempty; 6 resourceVersion string,omitempty; "
        "7 fieldPath string,omitempty"
    ),
    "core/v1.EndpointPort": (
        "1 name string,omitempty; 2 port int32; 3 protocol string,omitempty; 4 appProtocol *string,omitempty"
    ),
    "core/v1.ConfigMap": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 4 immutable *bool,omitempty; "
        "2 data map[string]string,omitempty; 3 binaryData map[string]bytes,omitempty"
    ),
    "core/v1.Secret": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 5 immutable *bool,omitempty; "
        "2 data map[string]bytes,omitempty; 4 stringData map[string]string,omitempty; "
        "3 type string,omitempty"
    ),
    "core/v1.ServiceAccount": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 secrets []ObjectReference,omitempty; "
        "3 imagePullSecrets []LocalObjectReference,omitempty; 4 automountServiceAccountToken *bool,omitempty"
    ),
    "authentication/v1.TokenRequest": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec TokenRequestSpec; 3 status TokenRequestStatus,omitempty"
    ),
    "authentication/v1.TokenRequestSpec": (
        "1 audiences []string; 4 expirationSeconds *int64; 3 boundObjectRef *BoundObjectReference"
    ),
    "authentication/v1.TokenRequestStatus": ("1 token string; 2 expirationTimestamp Time"),
    "authentication/v1.BoundObjectReference": (
        "1 kind string,omitempty; 2 apiVersion string,omitempty; 3 name string,omitempty; 4 uid string,omitempty"
    ),
    "core/v1.Event": (
        "1 metadata meta/v1.ObjectMeta; 2 involvedObject ObjectReference; 3 reason string,omitempty; "
        "4 message string,omitempty; 5 source EventSource,omitempty; 6 firstTimestamp Time,omitempty; "
        "7 lastTimestamp Time,omitempty; 8 count int32,omitempty; 9 type string,omitempty; "
        "10 eventTime MicroTime,omitempty; 11 series *EventSeries,omitempty; 12 action string,omitempty; "
        "13 related *ObjectReference,omitempty; 14 reportingComponent string; 15 reportingInstance string"
    ),
    "core/v1.EventSource": ("1 component string,omitempty; 2 host string,omitempty"),
    "core/v1.EventSeries": ("1 count int32,omitempty; 2 lastObservedTime MicroTime,omitempty"),
    "core/v1.Binding": ("1 metadata meta/v1.ObjectMeta,omitempty; 2 target ObjectReference"),
    "authorization/v1.SelfSubjectAccessReview": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec SelfSubjectAccessReviewSpec; "
        "3 status SubjectAccessReviewStatus,omitempty"
    ),
    "authorization/v1.SelfSubjectAccessReviewSpec": (
        "1 resourceAttributes *ResourceAttributes,omitempty; 2 nonResourceAttributes *NonResourceAttributes,omitempty"
    ),
    "authorization/v1.SubjectAccessReview": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec SubjectAccessReviewSpec; "
        "3 status SubjectAccessReviewStatus,omitempty"
    ),
    "authorization/v1.SubjectAccessReviewSpec": (
        "1 resourceAttributes *ResourceAttributes,omitempty; 2 nonResourceAttributes *NonResourceAttributes,omitempty; "
        "3 user string,omitempty; 4 groups []string,omitempty; 6 uid string,omitempty"
    ),
    "authorization/v1.ResourceAttributes": (
        "1 namespace string,omitempty; 2 verb string,omitempty; 3 group string,omitempty; "
        "4 version string,omitempty; 5 resource string,omitempty; 6 subresource string,omitempty; "
        "7 name string,omitempty"
    ),
    "authorization/v1.NonResourceAttributes": "1 path string,omitempty; 2 verb string,omitempty",
    "authorization/v1.SubjectAccessReviewStatus": (
        "1 allowed bool; 4 denied bool,omitempty; 2 reason string,omitempty; 3 evaluationError string,omitempty"
    ),
    "authorization/v1.SelfSubjectRulesReview": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec SelfSubjectRulesReviewSpec; "
        "3 status SubjectRulesReviewStatus,omitempty"
    ),
    "authorization/v1.SelfSubjectRulesReviewSpec": "1 namespace string,omitempty",
    "authorization/v1.SubjectRulesReviewStatus": (
        "1 resourceRules []ResourceRule; 2 nonResourceRules []NonResourceRule; 3 incomplete bool; "
        "4 evaluationError string,omitempty"
    ),
    "authorization/v1.ResourceRule": (
        "1 verbs []string; 2 apiGroups []string,omitempty; 3 resources []string,omitempty; "
        "4 resourceNames []string,omitempty"
    ),
    "authorization/v1.NonResourceRule": "1 verbs []string; 2 nonResourceURLs []string,omitempty",
    # certificates/v1 (extra, map[string]ExtraValue, is left out: its wire form is a message of items, its JSON a list).
    "certificates/v1.CertificateSigningRequest": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec CertificateSigningRequestSpec; "
        "3 status CertificateSigningRequestStatus,omitempty"
    ),
    "certificates/v1.CertificateSigningRequestSpec": (
        "1 request bytes; 7 signerName string; 8 expirationSeconds *int32,omitempty; 5 usages []string,omitempty; "
        "2 username string,omitempty; 3 uid string,omitempty; 4 groups []string,omitempty"
    ),
    "certificates/v1.CertificateSigningRequestStatus": (
        "1 conditions []CertificateSigningRequestCondition,omitempty; 2 certificate bytes,omitempty"
    ),
    "certificates/v1.CertificateSigningRequestCondition": (
        "1 type string; 6 status string; 2 reason string,omitempty; 3 message string,omitempty; "
        "4 lastUpdateTime Time,omitempty; 5 lastTransitionTime Time,omitempty"
    ),
    "authentication/v1.SelfSubjectReview": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 status SelfSubjectReviewStatus,omitempty"
    ),
    "authentication/v1.SelfSubjectReviewStatus": "1 userInfo UserInfo,omitempty",
    "authentication/v1.UserInfo": "1 username string,omitempty; 2 uid string,omitempty; 3 groups []string,omitempty",
    "rbac/v1.Role": "1 metadata meta/v1.ObjectMeta,omitempty; 2 rules []PolicyRule",
    "rbac/v1.ClusterRole": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 rules []PolicyRule; 3 aggregationRule *AggregationRule,omitempty"
    ),
    "rbac/v1.AggregationRule": "1 clusterRoleSelectors []meta/v1.LabelSelector,omitempty",
    "rbac/v1.PolicyRule": (
        "1 verbs []string; 2 apiGroups []string,omitempty; 3 resources []string,omitempty; "
        "4 resourceNames []string,omitempty; 5 nonResourceURLs []string,omitempty"
    ),
    "rbac/v1.RoleBinding": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 subjects []Subject,omitempty; 3 roleRef RoleRef"
    ),
    "rbac/v1.ClusterRoleBinding": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 subjects []Subject,omitempty; 3 roleRef RoleRef"
    ),
    "rbac/v1.Subject": "1 kind string; 2 apiGroup string,omitempty; 3 name string; 4 namespace string,omitempty",
    "rbac/v1.RoleRef": "1 apiGroup string; 2 kind string; 3 name string",
    "coordination/v1.Lease": ("1 metadata meta/v1.ObjectMeta,omitempty; 2 spec LeaseSpec,omitempty"),
    "coordination/v1.LeaseSpec": (
        "1 holderIdentity *string,omitempty; 2 leaseDurationSeconds *int32,omitempty; "
        "3 acquireTime *MicroTime,omitempty; 4 renewTime *MicroTime,omitempty; "
        "5 leaseTransitions *int32,omitempty; 6 strategy *string,omitempty; "
        "7 preferredHolder *string,omitempty"
    ),
    "apps/v1.Deployment": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec DeploymentSpec,omitempty; "
        "3 status DeploymentStatus,omitempty"
    ),
    "apps/v1.DeploymentSpec": (
        "1 replicas *int32,omitempty; 2 selector *meta/v1.LabelSelector; "
        "3 template core/v1.PodTemplateSpec; 4 strategy DeploymentStrategy,omitempty; "
        "5 minReadySeconds int32,omitempty; 6 revisionHistoryLimit *int32,omitempty; "
        "7 paused bool,omitempty; 9 progressDeadlineSeconds *int32,omitempty"
    ),
    "core/v1.ReplicationController": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec ReplicationControllerSpec,omitempty; "
        "3 status ReplicationControllerStatus,omitempty"
    ),
    "core/v1.ReplicationControllerSpec": (
        "1 replicas *int32,omitempty; 4 minReadySeconds int32,omitempty; "
        "2 selector map[string]string,omitempty; 3 template *PodTemplateSpec,omitempty"
    ),
    "core/v1.ReplicationControllerStatus": (
        "1 replicas int32; 2 fullyLabeledReplicas int32,omitempty; 4 readyReplicas int32,omitempty; "
        "5 availableReplicas int32,omitempty; 3 observedGeneration int64,omitempty; "
        "6 conditions []ReplicationControllerCondition,omitempty"
    ),
    "core/v1.ReplicationControllerCondition": (
        "1 type string; 2 status string; 3 lastTransitionTime Time,omitempty; 4 reason string,omitempty; "
        "5 message string,omitempty"
    ),
    "core/v1.PodTemplateSpec": ("1 metadata meta/v1.ObjectMeta,omitempty; 2 spec PodSpec,omitempty"),
    "apps/v1.DeploymentStrategy": (
        "1 type string,omitempty; 2 rollingUpdate *RollingUpdateDeployment,omitempty"
    ),
    "apps/v1.RollingUpdateDeployment": (
        "1 maxUnavailable *IntOrString,omitempty; 2 maxSurge *IntOrString,omitempty"
    ),
    "apps/v1.DeploymentStatus": (
        "1 observedGeneration int64,omitempty; 2 replicas int32,omitempty; "
        "3 updatedReplicas int32,omitempty; 7 readyReplicas int32,omitempty; "
        "4 availableReplicas int32,omitempty; 5 unavailableReplicas int32,omitempty; "
        "9 terminatingReplicas *int32,omitempty; 6 conditions []DeploymentCondition,omitempty; "
        "8 collisionCount *int32,omitempty"
    ),
    "apps/v1.DeploymentCondition": (
        "1 type string; 2 status string; 6 lastUpdateTime Time,omitempty; "
        "7 lastTransitionTime Time,omitempty; 4 reason string,omitempty; 5 message string,omitempty"
    ),
    "apps/v1.ReplicaSet": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec ReplicaSetSpec,omitempty; "
        "3 status ReplicaSetStatus,omitempty"
    ),
    "apps/v1.ReplicaSetSpec": (
        "1 replicas *int32,omitempty; 4 minReadySeconds int32,omitempty; "
        "2 selector *meta/v1.LabelSelector; 3 template core/v1.PodTemplateSpec,omitempty"
    ),
    "apps/v1.ReplicaSetStatus": (
        "1 replicas int32; 2 fullyLabeledReplicas int32,omitempty; 4 readyReplicas int32,omitempty; "
        "5 availableReplicas int32,omitempty; 7 terminatingReplicas *int32,omitempty; "
        "3 observedGeneration int64,omitempty; 6 conditions []ReplicaSetCondition,omitempty"
    ),
    "apps/v1.ReplicaSetCondition": (
        "1 type string; 2 status string; 3 lastTransitionTime Time,omitempty; 4 reason string,omitempty; "
        "5 message string,omitempty"
    ),
    "apps/v1.DaemonSet": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec DaemonSetSpec,omitempty; "
        "3 status DaemonSetStatus,omitempty"
    ),
    "apps/v1.DaemonSetSpec": (
        "1 selector *meta/v1.LabelSelector; 2 template core/v1.PodTemplateSpec; "
        "3 updateStrategy DaemonSetUpdateStrategy,omitempty; 4 minReadySeconds int32,omitempty; "
        "6 revisionHistoryLimit *int32,omitempty"
    ),
    "apps/v1.DaemonSetUpdateStrategy": (
        "1 type string,omitempty; 2 rollingUpdate *RollingUpdateDaemonSet,omitempty"
    ),
    "apps/v1.RollingUpdateDaemonSet": (
        "1 maxUnavailable *IntOrString,omitempty; 2 maxSurge *IntOrString,omitempty"
    ),
    "apps/v1.DaemonSetStatus": (
        "1 currentNumberScheduled int32; 2 numberMisscheduled int32; 3 desiredNumberScheduled int32; "
        "4 numberReady int32; 5 observedGeneration int64,omitempty; "
        "6 updatedNumberScheduled int32,omitempty; 7 numberAvailable int32,omitempty; "
        "8 numberUnavailable int32,omitempty; 9 collisionCount *int32,omitempty; "
        "10 conditions []DaemonSetCondition,omitempty"
    ),
    "apps/v1.DaemonSetCondition": (
        "1 type string; 2 status string; 3 lastTransitionTime Time,omitempty; 4 reason string,omitempty; "
        "5 message string,omitempty"
    ),
    "batch/v1.Job": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec JobSpec,omitempty; 3 status JobStatus,omitempty"
    ),
    "batch/v1.JobSpec": (
        "1 parallelism *int32,omitempty; 2 completions *int32,omitempty; "
        "3 activeDeadlineSeconds *int64,omitempty; 11 podFailurePolicy *PodFailurePolicy,omitempty; "
        "16 successPolicy *SuccessPolicy,omitempty; 7 backoffLimit *int32,omitempty; "
        "12 backoffLimitPerIndex *int32,omitempty; 13 maxFailedIndexes *int32,omitempty; "
        "4 selector *meta/v1.LabelSelector,omitempty; 5 manualSelector *bool,omitempty; "
        "6 template core/v1.PodTemplateSpec; 8 ttlSecondsAfterFinished *int32,omitempty; "
        "9 completionMode *string,omitempty; 10 suspend *bool,omitempty; "
        "14 podReplacementPolicy *string,omitempty; 15 managedBy *string,omitempty"
    ),
    "batch/v1.PodFailurePolicy": ("1 rules []PodFailurePolicyRule"),
    "batch/v1.PodFailurePolicyRule": (
        "1 action string; 2 onExitCodes *PodFailurePolicyOnExitCodesRequirement,omitempty; "
        "3 onPodConditions []PodFailurePolicyOnPodConditionsPattern,omitempty"
    ),
    "batch/v1.PodFailurePolicyOnExitCodesRequirement": (
        "1 containerName *string,omitempty; 2 operator string; 3 values []int32"
    ),
    "batch/v1.PodFailurePolicyOnPodConditionsPattern": ("1 type string; 2 status string"),
    "batch/v1.SuccessPolicy": ("1 rules []SuccessPolicyRule"),
    "batch/v1.SuccessPolicyRule": ("1 succeededIndexes *string,omitempty; 2 succeededCount *int32,omitempty"),
    "batch/v1.JobStatus": (
        "1 conditions []JobCondition,omitempty; 2 startTime *Time,omitempty; "
        "3 completionTime *Time,omitempty; 4 active int32,omitempty; 5 succeeded int32,omitempty; "
        "6 failed int32,omitempty; 11 terminating *int32,omitempty; 7 completedIndexes string,omitempty; "
        "10 failedIndexes *string,omitempty; "
        "8 uncountedTerminatedPods *UncountedTerminatedPods,omitempty; 9 ready *int32,omitempty"
    ),
    "batch/v1.JobCondition": (
        "1 type string; 2 status string; 3 lastProbeTime Time,omitempty; "
        "4 lastTransitionTime Time,omitempty; 5 reason string,omitempty; 6 message string,omitempty"
    ),
    "batch/v1.CronJob": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec CronJobSpec,omitempty; 3 status CronJobStatus,omitempty"
    ),
    "batch/v1.CronJobSpec": (
        "1 schedule string; 8 timeZone *string,omitempty; 2 startingDeadlineSeconds *int64,omitempty; "
        "3 concurrencyPolicy string,omitempty; 4 suspend *bool,omitempty; 5 jobTemplate JobTemplateSpec; "
        "6 successfulJobsHistoryLimit *int32,omitempty; 7 failedJobsHistoryLimit *int32,omitempty"
    ),
    "batch/v1.JobTemplateSpec": ("1 metadata meta/v1.ObjectMeta,omitempty; 2 spec JobSpec,omitempty"),
    "batch/v1.CronJobStatus": (
        "1 active []core/v1.ObjectReference,omitempty; 4 lastScheduleTime *Time,omitempty; "
        "5 lastSuccessfulTime *Time,omitempty"
    ),
    "networking/v1.Ingress": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec IngressSpec,omitempty; 3 status IngressStatus,omitempty"
    ),
    "networking/v1.IngressSpec": (
        "4 ingressClassName *string,omitempty; 1 defaultBackend *IngressBackend,omitempty; "
        "2 tls []IngressTLS,omitempty; 3 rules []IngressRule,omitempty"
    ),
    "networking/v1.IngressBackend": (
        "4 service *IngressServiceBackend,omitempty; 3 resource *core/v1.TypedLocalObjectReference,omitempty"
    ),
    "networking/v1.IngressServiceBackend": ("1 name string; 2 port ServiceBackendPort,omitempty"),
    "networking/v1.ServiceBackendPort": ("1 name string,omitempty; 2 number int32,omitempty"),
    "networking/v1.IngressTLS": ("1 hosts []string,omitempty; 2 secretName string,omitempty"),
    "networking/v1.IngressRule": ("1 host string,omitempty; 2 - IngressRuleValue,inline"),
    "networking/v1.IngressRuleValue": ("1 http *HTTPIngressRuleValue,omitempty"),
    "networking/v1.HTTPIngressRuleValue": ("1 paths []HTTPIngressPath"),
    "networking/v1.HTTPIngressPath": ("1 path string,omitempty; 3 pathType *string; 2 backend IngressBackend"),
    "networking/v1.IngressStatus": ("1 loadBalancer IngressLoadBalancerStatus,omitempty"),
    "networking/v1.IngressLoadBalancerStatus": ("1 ingress []IngressLoadBalancerIngress,omitempty"),
    "networking/v1.IngressLoadBalancerIngress": (
        "1 ip string,omitempty; 2 hostname string,omitempty; 4 ports []IngressPortStatus,omitempty"
    ),
    "networking/v1.IngressPortStatus": ("1 port int32; 2 protocol string; 3 error *string,omitempty"),
    "networking/v1.IngressClass": ("1 metadata meta/v1.ObjectMeta,omitempty; 2 spec IngressClassSpec,omitempty"),
    "networking/v1.IngressClassSpec": (
        "1 controller string,omitempty; 2 parameters *IngressClassParametersReference,omitempty"
    ),
    "networking/v1.IngressClassParametersReference": (
        "1 apiGroup *string,omitempty; 2 kind string; 3 name string; 4 scope *string; 5 namespace *string,omitempty"
    ),
    "batch/v1.UncountedTerminatedPods": ("1 succeeded []string,omitempty; 2 failed []string,omitempty"),
    # Storage and StatefulSets. PersistentVolumeSource lists the sources whose messages the
    # tables already hold (Kajitori mounts hostPath and local); the persistent-only variants
    # (4 glusterfs, 6 rbd, 7 iscsi, 8 cinder, 9 cephfs, 12 flexVolume, 13 azureFile, 19 scaleIO,
    # 21 storageos, 22 csi) are skipped on the wire like any unknown field (JSON keeps them).
    "core/v1.PersistentVolume": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec PersistentVolumeSpec,omitempty; "
        "3 status PersistentVolumeStatus,omitempty"
    ),
    "core/v1.PersistentVolumeSpec": (
        "1 capacity map[string]Quantity,omitempty; 2 - PersistentVolumeSource,inline; 3 accessModes []string,omitempty; "
        "4 claimRef *ObjectReference,omitempty; 5 persistentVolumeReclaimPolicy string,omitempty; "
        "6 storageClassName string,omitempty; 7 mountOptions []string,omitempty; 8 volumeMode *string,omitempty; "
        "9 nodeAffinity *VolumeNodeAffinity,omitempty; 10 volumeAttributesClassName *string,omitempty"
    ),
    "core/v1.PersistentVolumeSource": (
        "1 gcePersistentDisk *GCEPersistentDiskVolumeSource,omitempty; "
        "2 awsElasticBlockStore *AWSElasticBlockStoreVolumeSource,omitempty; 3 hostPath *HostPathVolumeSource,omitempty; "
        "5 nfs *NFSVolumeSource,omitempty; 10 fc *FCVolumeSource,omitempty; 11 flocker *FlockerVolumeSource,omitempty; "
        "14 vsphereVolume *VsphereVirtualDiskVolumeSource,omitempty; 15 quobyte *QuobyteVolumeSource,omitempty; "
        "16 azureDisk *AzureDiskVolumeSource,omitempty; 17 photonPersistentDisk *PhotonPersistentDiskVolumeSource,omitempty; "
        "18 portworxVolume *PortworxVolumeSource,omitempty; 20 local *LocalVolumeSource,omitempty"
    ),
    "core/v1.LocalVolumeSource": ("1 path string; 2 fsType *string,omitempty"),
    "core/v1.VolumeNodeAffinity": ("1 required *NodeSelector,omitempty"),
    "core/v1.PersistentVolumeStatus": (
        "1 phase string,omitempty; 2 message string,omitempty; 3 reason string,omitempty; "
        "4 lastPhaseTransitionTime *Time,omitempty"
    ),
    "core/v1.PersistentVolumeClaim": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec PersistentVolumeClaimSpec,omitempty; "
        "3 status PersistentVolumeClaimStatus,omitempty"
    ),
    "core/v1.PersistentVolumeClaimStatus": (
        "1 phase string,omitempty; 2 accessModes []string,omitempty; 3 capacity map[string]Quantity,omitempty; "
        "4 conditions []PersistentVolumeClaimCondition,omitempty; 5 allocatedResources map[string]Quantity,omitempty; "
        "7 allocatedResourceStatuses map[string]string,omitempty; 8 currentVolumeAttributesClassName *string,omitempty; "
        "9 modifyVolumeStatus *ModifyVolumeStatus,omitempty"
    ),
    "core/v1.PersistentVolumeClaimCondition": (
        "1 type string; 2 status string; 3 lastProbeTime Time,omitempty; 4 lastTransitionTime Time,omitempty; "
        "5 reason string,omitempty; 6 message string,omitempty"
    ),
    "core/v1.ModifyVolumeStatus": ("1 targetVolumeAttributesClassName string,omitempty; 2 status string"),
    "core/v1.TopologySelectorTerm": ("1 matchLabelExpressions []TopologySelectorLabelRequirement,omitempty"),
    "core/v1.TopologySelectorLabelRequirement": ("1 key string; 2 values []string"),
    "storage/v1.StorageClass": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 provisioner string; 3 parameters map[string]string,omitempty; "
        "4 reclaimPolicy *string,omitempty; 5 mountOptions []string,omitempty; 6 allowVolumeExpansion *bool,omitempty; "
        "7 volumeBindingMode *string,omitempty; 8 allowedTopologies []core/v1.TopologySelectorTerm,omitempty"
    ),
    "apps/v1.StatefulSet": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec StatefulSetSpec,omitempty; 3 status StatefulSetStatus,omitempty"
    ),
    "apps/v1.StatefulSetSpec": (
        "1 replicas *int32,omitempty; 2 selector *meta/v1.LabelSelector; 3 template core/v1.PodTemplateSpec; "
        "4 volumeClaimTemplates []core/v1.PersistentVolumeClaim,omitempty; 5 serviceName string; "
        "6 podManagementPolicy string,omitempty; 7 updateStrategy StatefulSetUpdateStrategy,omitempty; "
        "8 revisionHistoryLimit *int32,omitempty; 9 minReadySeconds int32,omitempty; "
        "10 persistentVolumeClaimRetentionPolicy *StatefulSetPersistentVolumeClaimRetentionPolicy,omitempty; "
        "11 ordinals *StatefulSetOrdinals,omitempty"
    ),
    "apps/v1.StatefulSetUpdateStrategy": ("1 type string,omitempty; 2 rollingUpdate *RollingUpdateStatefulSetStrategy,omitempty"),
    "apps/v1.RollingUpdateStatefulSetStrategy": ("1 partition *int32,omitempty; 2 maxUnavailable *IntOrString,omitempty"),
    "apps/v1.StatefulSetPersistentVolumeClaimRetentionPolicy": ("1 whenDeleted string,omitempty; 2 whenScaled string,omitempty"),
    "apps/v1.StatefulSetOrdinals": ("1 start int32"),
    "apps/v1.StatefulSetStatus": (
        "1 observedGeneration int64,omitempty; 2 replicas int32; 3 readyReplicas int32,omitempty; "
        "4 currentReplicas int32,omitempty; 5 updatedReplicas int32,omitempty; 6 currentRevision string,omitempty; "
        "7 updateRevision string,omitempty; 9 collisionCount *int32,omitempty; "
        "10 conditions []StatefulSetCondition,omitempty; 11 availableReplicas int32"
    ),
    "apps/v1.StatefulSetCondition": (
        "1 type string; 2 status string; 3 lastTransitionTime Time,omitempty; 4 reason string,omitempty; "
        "5 message string,omitempty"
    ),
    # data is a runtime.RawExtension: one bytes field 1 holding the JSON, the wire shape of FieldsV1.
    "apps/v1.ControllerRevision": ("1 metadata meta/v1.ObjectMeta,omitempty; 2 data FieldsV1,omitempty; 3 revision int64"),
    "policy/v1.Eviction": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 deleteOptions *meta/v1.DeleteOptions,omitempty"
    ),
    "meta/v1.DeleteOptions": (
        "1 gracePeriodSeconds *int64,omitempty; 2 preconditions *Preconditions,omitempty; "
        "3 orphanDependents *bool,omitempty; 4 propagationPolicy *string,omitempty; "
        "5 dryRun []string,omitempty; 6 ignoreStoreReadErrorWithClusterBreakingPotential *bool,omitempty"
    ),
    "meta/v1.Preconditions": ("1 uid *string,omitempty; 2 resourceVersion *string,omitempty"),
    "autoscaling/v1.Scale": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec ScaleSpec,omitempty; 3 status ScaleStatus,omitempty"
    ),
    "autoscaling/v1.ScaleSpec": ("1 replicas int32,omitempty"),
    "autoscaling/v2.HorizontalPodAutoscaler": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec HorizontalPodAutoscalerSpec,omitempty; "
        "3 status HorizontalPodAutoscalerStatus,omitempty"
    ),
    "autoscaling/v2.HorizontalPodAutoscalerSpec": (
        "1 scaleTargetRef CrossVersionObjectReference; 2 minReplicas *int32,omitempty; 3 maxReplicas int32; "
        "4 metrics []MetricSpec,omitempty; 5 behavior *HorizontalPodAutoscalerBehavior,omitempty"
    ),
    "autoscaling/v2.CrossVersionObjectReference": (
        "1 kind string; 2 name string; 3 apiVersion string,omitempty"
    ),
    "autoscaling/v2.MetricSpec": ("1 type string; 4 resource *ResourceMetricSource,omitempty"),
    "autoscaling/v2.ResourceMetricSource": ("1 name string; 2 target MetricTarget"),
    "autoscaling/v2.MetricTarget": (
        "1 type string; 2 value *Quantity,omitempty; 3 averageValue *Quantity,omitempty; "
        "4 averageUtilization *int32,omitempty"
    ),
    "autoscaling/v2.HorizontalPodAutoscalerBehavior": (
        "1 scaleUp *HPAScalingRules,omitempty; 2 scaleDown *HPAScalingRules,omitempty"
    ),
    "autoscaling/v2.HPAScalingRules": (
        "3 stabilizationWindowSeconds *int32,omitempty; 1 selectPolicy *string,omitempty; "
        "2 policies []HPAScalingPolicy,omitempty"
    ),
    "autoscaling/v2.HPAScalingPolicy": ("1 type string; 2 value int32; 3 periodSeconds int32"),
    "autoscaling/v2.HorizontalPodAutoscalerStatus": (
        "1 observedGeneration *int64,omitempty; 2 lastScaleTime *Time,omitempty; 3 currentReplicas int32,omitempty; "
        "4 desiredReplicas int32; 5 currentMetrics []MetricStatus,omitempty; "
        "6 conditions []HorizontalPodAutoscalerCondition,omitempty"
    ),
    "autoscaling/v2.MetricStatus": ("1 type string; 4 resource *ResourceMetricStatus,omitempty"),
    "autoscaling/v2.ResourceMetricStatus": ("1 name string; 2 current MetricValueStatus"),
    "autoscaling/v2.MetricValueStatus": (
        "1 value *Quantity,omitempty; 2 averageValue *Quantity,omitempty; 3 averageUtilization *int32,omitempty"
    ),
    "autoscaling/v2.HorizontalPodAutoscalerCondition": (
        "1 type string; 2 status string; 3 lastTransitionTime Time,omitempty; 4 reason string,omitempty; "
        "5 message string,omitempty"
    ),
    "autoscaling/v1.ScaleStatus": ("1 replicas int32; 2 selector string,omitempty"),
    # autoscaling/v1's HPA (served by conversion to v2: master.apiserver.hpa_v1).
    "autoscaling/v1.HorizontalPodAutoscaler": (
        "1 metadata meta/v1.ObjectMeta,omitempty; 2 spec HorizontalPodAutoscalerSpec,omitempty; "
        "3 status HorizontalPodAutoscalerStatus,omitempty"
    ),
    "autoscaling/v1.HorizontalPodAutoscalerSpec": (
        "1 scaleTargetRef CrossVersionObjectReference; 2 minReplicas *int32,omitempty; 3 maxReplicas int32; "
        "4 targetCPUUtilizationPercentage *int32,omitempty"
    ),
    "autoscaling/v1.CrossVersionObjectReference": ("1 kind string; 2 name string; 3 apiVersion string,omitempty"),
    "autoscaling/v1.HorizontalPodAutoscalerStatus": (
        "1 observedGeneration *int64,omitempty; 2 lastScaleTime *Time,omitempty; 3 currentReplicas int32; "
        "4 desiredReplicas int32; 5 currentCPUUtilizationPercentage *int32,omitempty"
    ),
}
