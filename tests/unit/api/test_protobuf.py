"""Kubernetes' protobuf bodies decode into the JSON form of the same object.

Three checks keep the field tables right: bodies kubectl 1.33 really sent decode to
the JSON it would have sent; every kind served round-trips from its JSON form through
the encoder of these tests (written apart from the decoder, driven by the same
tables) and is then accepted by its model with no unknown field; and every message
of the tables round-trips with every field set. Malformed bodies raise ProtobufError
(the API server's 400), never anything else.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kajitori.api import protobuf_schema as schema
from kajitori.api.protobuf import ProtobufError, decode_message, decode_object
from kajitori.api.registry import RESOURCES
from kajitori.certificate_request import new_key, request_pem
from tests.support.protobuf_encoder import (
    encode_message,
    encode_object,
    envelope,
    key,
    length_delimited,
    varint,
)

# What kubectl 1.33 sent (captured at the API server), and the JSON of the same object.
KUBECTL_1_33 = [
    pytest.param(
        "6b3873000a0f0a02763112094e616d657370616365121b0a130a0370623112001a0022002a0032003800420012001a020a001a002200",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pb1"}, "spec": {}, "status": {}},
        id="create namespace pb1",
    ),
    pytest.param(
        "6b3873000a0f0a0276311209436f6e6669674d617012240a120a02633112001a0022002a0032003800420012060a016112013112060a01621201321a002200",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}, "data": {"a": "1", "b": "2"}},
        id="create configmap c1 --from-literal=a=1 --from-literal=b=2",
    ),
    pytest.param(
        "6b3873000a0c0a0276311206536563726574121e0a120a02733112001a0022002a0032003800420012060a01701201711a001a002200",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"}, "data": {"p": "cQ=="}},
        id="create secret generic s1 --from-literal=p=q",
    ),
    pytest.param(
        (
            "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b9010a1d0a02643112001a0022002a00320038004200"
            "5a090a03617070120264311289010800120b0a090a03617070120264311a700a1b0a0012001a0022002a003200380042005a"
            "090a0361707012026431125112330a056e67696e78120a6e67696e783a312e32322a00320a0a001000185022002a0042006a"
            "007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a00280038"
            "001a0c0800100018002000280038001a002200"
        ),
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d1", "labels": {"app": "d1"}},
         "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "d1"}}, "strategy": {},
                  "template": {"metadata": {"labels": {"app": "d1"}},
                               "spec": {"containers": [{"name": "nginx", "image": "nginx:1.22", "ports": [{"containerPort": 80}], "resources": {}}]}}},
         "status": {}},
        id='create deployment d1 --image=nginx:1.22 --replicas=0 --port=80',
    ),
    pytest.param(
        (
            "6b3873000a0d0a02763112075365727669636512690a1f0a0373763112001a0022002a003200380042005a0a0a0361707012"
            "0373763112420a1b0a0738302d38303830120354435018502207080010903f1a002800120a0a0361707012037376311a0022"
            "09436c757374657249503a00420052005a00600068001a020a001a002200"
        ),
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "sv1", "labels": {"app": "sv1"}},
         "spec": {"type": "ClusterIP", "selector": {"app": "sv1"}, "ports": [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}]},
         "status": {"loadBalancer": {}}},
        id='create service clusterip sv1 --tcp=80:8080',
    ),
    pytest.param(
        (
            "6b3873000a0d0a027631120753657276696365126a0a1f0a0373763212001a0022002a003200380042005a0a0a0361707012"
            "0373763212430a1d0a0738302d38303830120354435018502207080010903f1a00288aeb01120a0a0361707012037376321a"
            "0022084e6f6465506f72743a00420052005a00600068001a020a001a002200"
        ),
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "sv2", "labels": {"app": "sv2"}},
         "spec": {"type": "NodePort", "selector": {"app": "sv2"},
                  "ports": [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080, "nodePort": 30090}]},
         "status": {"loadBalancer": {}}},
        id='create service nodeport sv2 --tcp=80:8080 --node-port=30090',
    ),
    pytest.param(
        (
            "6b3873000a0f0a0862617463682f763112034a6f621284010a120a026a3112001a0022002a00320038004200126432620a10"
            "0a0012001a0022002a00320038004200124e122b0a026a31120762757379626f781a046563686f1a0268692a0042006a0072"
            "00800100880100900100a201001a054e65766572320042004a0052005800600068008201008a01009a0100c201001a082000"
            "280030003a001a002200"
        ),
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j1"},
         "spec": {"template": {"metadata": {}, "spec": {"restartPolicy": "Never",
                  "containers": [{"name": "j1", "image": "busybox", "command": ["echo", "hi"], "resources": {}}]}}},
         "status": {}},
        id='create job j1 --image=busybox -- echo hi',
    ),
]


@pytest.mark.parametrize(("body", "expected"), KUBECTL_1_33)
def test_what_kubectl_sent_decodes_to_its_json(body: str, expected: dict[str, Any]) -> None:
    assert decode_object(bytes.fromhex(body)) == expected


POD_SPEC: dict[str, Any] = {
    "volumes": [
        {"name": "cfg", "configMap": {"name": "app", "defaultMode": 420, "items": [{"key": "a", "path": "a.txt"}]}},
        {"name": "scratch", "emptyDir": {"sizeLimit": "64Mi"}},
    ],
    "containers": [
        {
            "name": "web",
            "image": "nginx:1.22",
            "command": ["nginx", "-g", "daemon off;"],
            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
            "env": [
                {"name": "A", "value": "b"},
                {"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
            ],
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m"}},
            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/app", "readOnly": True}],
            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 2},
            "livenessProbe": {"tcpSocket": {"port": 80}, "initialDelaySeconds": 1, "failureThreshold": 3},
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"runAsUser": 0, "privileged": False},
        }
    ],
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 0,
    "nodeSelector": {"disk": "ssd"},
    "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 30}],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node1"]}]}]
            }
        }
    },
}
TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": POD_SPEC}
META = {
    "name": "web",
    "namespace": "default",
    "uid": "5f0c7d1e-0000-4000-8000-000000000001",
    "resourceVersion": "12",
    "generation": 3,
    "creationTimestamp": "2026-11-30T10:00:00Z",
    "labels": {"app": "web"},
    "annotations": {"note": "ünïcode ✓"},
    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u1", "controller": True}],
    "finalizers": ["example.com/keep"],
    "managedFields": [
        {"manager": "kubectl", "operation": "Update", "apiVersion": "v1", "time": "2026-11-30T10:00:00Z",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}},
    ],
}
SELECTOR = {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}

# One object of every kind served, in the JSON form Go would write, with the kinds' tricky parts.
OBJECTS: dict[str, dict[str, Any]] = {
    "Namespace": {"metadata": {"name": "team"}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}},
    "Node": {
        "metadata": {"name": "node1", "labels": {"kubernetes.io/hostname": "node1"}},
        "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"], "unschedulable": True,
                 "taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2026-11-30T10:00:01Z"}]},
        "status": {
            "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-11-30T10:00:02Z", "reason": "KubeletReady"}],
            "addresses": [{"type": "InternalIP", "address": "192.168.56.11"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b", "kernelVersion": "6.1", "osImage": "Debian",
                         "containerRuntimeVersion": "docker://20.10", "kubeletVersion": "v1.28.0", "kubeProxyVersion": "",
                         "operatingSystem": "linux", "architecture": "amd64"},
        },
    },
    "Pod": {"metadata": META, "spec": {**POD_SPEC, "nodeName": "node1"},
            "status": {"phase": "Running", "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}], "startTime": "2026-11-30T10:00:03Z",
                       "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-30T10:00:04Z"}],
                       "containerStatuses": [{"name": "web", "ready": True, "restartCount": 2, "image": "nginx:1.22", "imageID": "",
                                              "started": True, "state": {"running": {"startedAt": "2026-11-30T10:00:05Z"}},
                                              "lastState": {"terminated": {"exitCode": -1, "reason": "Error", "startedAt": "2026-11-30T09:00:00Z",
                                                                           "finishedAt": "2026-11-30T09:30:00Z", "containerID": "docker://x"}}}]}},
    "Service": {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "NodePort", "selector": {"app": "web"}, "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
                 "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http", "nodePort": 30080},
                           {"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 5353}],
                 "sessionAffinity": "None", "allocateLoadBalancerNodePorts": False},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.168.56.200"}]}},
    },
    "Endpoints": {"metadata": {"name": "web", "namespace": "default"},
                  "subsets": [{"addresses": [{"ip": "10.244.1.5", "nodeName": "node1", "targetRef": {"kind": "Pod", "name": "web-x", "namespace": "default"}}],
                               "notReadyAddresses": [{"ip": "10.244.2.6"}], "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}]},
    "ConfigMap": {"metadata": {"name": "cfg", "namespace": "default"}, "data": {"a": "1", "empty": ""},
                  "binaryData": {"bin": "AAEC/w=="}, "immutable": False},
    "Secret": {"metadata": {"name": "s", "namespace": "default"}, "type": "Opaque", "data": {"p": "cQ==", "zero": ""}},
    "ServiceAccount": {"metadata": {"name": "sa", "namespace": "default"}, "secrets": [{"name": "t"}],
                       "imagePullSecrets": [{"name": "reg"}], "automountServiceAccountToken": False},
    "Event": {"metadata": {"name": "web.1", "namespace": "default"},
              "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web", "uid": "u", "apiVersion": "v1"},
              "reason": "Started", "message": "Started container web", "source": {"component": "kubelet", "host": "node1"},
              "firstTimestamp": "2026-11-30T10:00:00Z", "lastTimestamp": "2026-11-30T10:01:00Z", "count": 2, "type": "Normal",
              "eventTime": "2026-11-30T10:00:00.123456Z", "series": {"count": 2, "lastObservedTime": "2026-11-30T10:01:00.000001Z"},
              "reportingComponent": "kubelet", "reportingInstance": "node1"},
    "Role": {"metadata": {"name": "pod-reader", "namespace": "default"},
             "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "pods/log"], "resourceNames": ["web"]}]},
    "ClusterRole": {"metadata": {"name": "monitoring"},
                    "rules": [{"verbs": ["get"], "nonResourceURLs": ["/metrics"]}],
                    "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate-to-monitoring": "true"}}]}},
    "RoleBinding": {"metadata": {"name": "read-pods", "namespace": "default"},
                    "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
                                 {"kind": "ServiceAccount", "name": "reader", "namespace": "default"}],
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"}},
    "ClusterRoleBinding": {"metadata": {"name": "read-all"},
                           "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "readers"}],
                           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}},
    "CertificateSigningRequest": {
        "metadata": {"name": "node-csr-1"},
        "spec": {"request": base64.b64encode(request_pem(new_key(), "system:node:n1", ("system:nodes",))).decode(),
                 "signerName": "kubernetes.io/kube-apiserver-client-kubelet", "expirationSeconds": 3600,
                 "usages": ["digital signature", "client auth"], "username": "system:bootstrap:abcdef",
                 "groups": ["system:bootstrappers", "system:authenticated"]},
        "status": {"conditions": [{"type": "Approved", "status": "True", "reason": "AutoApproved", "message": "ok",
                                   "lastUpdateTime": "2026-11-30T10:00:00Z", "lastTransitionTime": "2026-11-30T10:00:00Z"}]},
    },
    "Lease": {"metadata": {"name": "node1", "namespace": "kube-node-lease"},
              "spec": {"holderIdentity": "node1", "leaseDurationSeconds": 40, "renewTime": "2026-11-30T10:00:00.500000Z",
                       "acquireTime": "2026-11-30T09:00:00.000000Z", "leaseTransitions": 0}},
    "Deployment": {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}},
        "status": {"observedGeneration": 2, "replicas": 3, "readyReplicas": 3,
                   "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": "2026-11-30T10:00:00Z", "reason": "MinimumReplicasAvailable"}]},
    },
    "ReplicaSet": {"metadata": {"name": "web-1", "namespace": "default"},
                   "spec": {"replicas": 2, "minReadySeconds": 5, "selector": SELECTOR, "template": TEMPLATE},
                   "status": {"replicas": 2, "fullyLabeledReplicas": 2, "availableReplicas": 1}},
    "ReplicationController": {"metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
                              "spec": {"replicas": 2, "selector": {"app": "web"}, "template": TEMPLATE},
                              "status": {"replicas": 2, "readyReplicas": 1, "observedGeneration": 1}},
    "DaemonSet": {"metadata": {"name": "logs", "namespace": "kube-system"},
                  "spec": {"selector": SELECTOR, "template": TEMPLATE, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}}},
                  "status": {"currentNumberScheduled": 2, "numberMisscheduled": 0, "desiredNumberScheduled": 2, "numberReady": 1}},
    "Job": {"metadata": {"name": "pi", "namespace": "default"},
            "spec": {"backoffLimit": 0, "completions": 3, "parallelism": 1, "activeDeadlineSeconds": 60, "suspend": False,
                     "template": {"metadata": {}, "spec": {**POD_SPEC, "restartPolicy": "Never"}}},
            "status": {"succeeded": 1, "startTime": "2026-11-30T10:00:00Z", "uncountedTerminatedPods": {"failed": ["u2"]}}},
    "CronJob": {"metadata": {"name": "hello", "namespace": "default"},
                "spec": {"schedule": "*/5 * * * *", "timeZone": "Europe/Paris", "startingDeadlineSeconds": 30,
                         "concurrencyPolicy": "Forbid", "suspend": False, "successfulJobsHistoryLimit": 2, "failedJobsHistoryLimit": 0,
                         "jobTemplate": {"metadata": {"labels": {"app": "hello"}},
                                         "spec": {"backoffLimit": 1, "template": {"metadata": {}, "spec": {**POD_SPEC, "restartPolicy": "OnFailure"}}}}},
                "status": {"active": [{"kind": "Job", "namespace": "default", "name": "hello-29000000", "uid": "u3", "apiVersion": "batch/v1"}],
                           "lastScheduleTime": "2026-11-30T10:05:00Z", "lastSuccessfulTime": "2026-11-30T10:00:10Z"}},
    "HorizontalPodAutoscaler": {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}, "minReplicas": 1, "maxReplicas": 5,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
                             {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "64Mi"}}}],
                 "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                                            "policies": [{"type": "Percent", "value": 50, "periodSeconds": 15}]}}},
        "status": {"observedGeneration": 1, "lastScaleTime": "2026-11-30T10:00:00Z", "currentReplicas": 2, "desiredReplicas": 3,
                   "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 75, "averageValue": "150m"}}}],
                   "conditions": [{"type": "AbleToScale", "status": "True", "lastTransitionTime": "2026-11-30T10:00:00Z",
                                   "reason": "SucceededRescale", "message": "the HPA controller was able to update the target scale to 3"}]}},
    "Ingress": {"metadata": {"name": "web", "namespace": "default"},
                "spec": {"ingressClassName": "kajitori",
                         "defaultBackend": {"resource": {"apiGroup": "k8s.example", "kind": "Bucket", "name": "b"}},
                         "tls": [{"hosts": ["a.test", "*.b.test"], "secretName": "tls-a"}],
                         "rules": [{"host": "a.test", "http": {"paths": [
                             {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "a", "port": {"number": 80}}}},
                             {"path": "/api", "pathType": "Exact", "backend": {"service": {"name": "b", "port": {"name": "http"}}}}]}},
                                   {"host": "*.b.test"}]},
                "status": {"loadBalancer": {"ingress": [{"ip": "192.168.56.200", "ports": [{"port": 443, "protocol": "TCP", "error": "x"}]}]}}},
    "IngressClass": {"metadata": {"name": "kajitori", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
                     "spec": {"controller": "kajitori.io/ingress-nginx",
                              "parameters": {"apiGroup": "k8s.example", "kind": "Params", "name": "p", "scope": "Namespace", "namespace": "x"}}},
    "PersistentVolume": {"metadata": {"name": "pv1"},
                         "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain",
                                  "storageClassName": "manual", "volumeMode": "Filesystem", "local": {"path": "/mnt/disk1"},
                                  "claimRef": {"namespace": "default", "name": "data", "uid": "u4"},
                                  "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                                      {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node1"]}]}]}}},
                         "status": {"phase": "Bound"}},
    "PersistentVolumeClaim": {"metadata": {"name": "data", "namespace": "default"},
                              "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                                       "storageClassName": "local-path", "volumeMode": "Filesystem", "volumeName": "pv1"},
                              "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "5Gi"}}},
    "StorageClass": {"metadata": {"name": "local-path", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                     "provisioner": "kajitori.io/local-path", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
                     "allowVolumeExpansion": False},
    "StatefulSet": {"metadata": {"name": "web", "namespace": "default"},
                    "spec": {"replicas": 2, "selector": SELECTOR, "template": TEMPLATE, "serviceName": "nginx",
                             "podManagementPolicy": "Parallel", "minReadySeconds": 5,
                             "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1, "maxUnavailable": 2}},
                             "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
                             "ordinals": {"start": 0},
                             "volumeClaimTemplates": [{"metadata": {"name": "www"},
                                                       "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]},
                    "status": {"replicas": 2, "readyReplicas": 1, "currentRevision": "web-7d9f", "updateRevision": "web-7d9f", "availableReplicas": 1}},
    "ControllerRevision": {"metadata": {"name": "web-7d9f", "namespace": "default"},
                           "data": {"spec": {"template": {"$patch": "replace"}}}, "revision": 3},
}
EXTRA_MESSAGES = {
    ("v1", "Binding"): {"metadata": {"name": "web", "namespace": "default"}, "target": {"kind": "Node", "name": "node1"}},
    ("policy/v1", "Eviction"): {"metadata": {"name": "web", "namespace": "default"},
                                "deleteOptions": {"gracePeriodSeconds": 0, "preconditions": {"uid": "u"}, "propagationPolicy": "Foreground"}},
    ("autoscaling/v1", "Scale"): {"metadata": {"name": "web"}, "spec": {"replicas": 4}, "status": {"replicas": 0, "selector": "app=web"}},
    ("authentication.k8s.io/v1", "TokenRequest"): {
        "metadata": {"name": "default", "namespace": "default"},
        "spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": 600,
                 "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web", "uid": "u"}},
        "status": {"token": "t", "expirationTimestamp": "2026-11-30T10:00:00Z"}},
    ("v1", "DeleteOptions"): {"gracePeriodSeconds": 5, "orphanDependents": False, "dryRun": ["All"]},
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): {
        "metadata": {}, "spec": {"resourceAttributes": {"namespace": "ns", "verb": "delete", "resource": "pods", "subresource": "exec", "name": "web"}},
        "status": {"allowed": False, "denied": True, "reason": "no"}},
    ("authorization.k8s.io/v1", "SubjectAccessReview"): {
        "metadata": {}, "spec": {"nonResourceAttributes": {"path": "/api", "verb": "get"}, "user": "alice", "groups": ["g"]},
        "status": {"allowed": True}},
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): {
        "metadata": {}, "spec": {"namespace": "ns"},
        "status": {"resourceRules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}],
                   "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/api"]}], "incomplete": False}},
    ("authentication.k8s.io/v1", "SelfSubjectReview"): {
        "metadata": {}, "status": {"userInfo": {"username": "alice", "groups": ["system:authenticated"]}}},
}


def test_every_kind_served_has_a_message_and_an_example() -> None:
    for r in RESOURCES:
        assert schema.message_for(r.api_version, r.kind), r.kind
        assert r.kind in OBJECTS, r.kind


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
def test_every_kind_round_trips_from_its_json_and_its_model_knows_every_field(resource: Any) -> None:
    obj = {"apiVersion": resource.api_version, "kind": resource.kind, **copy.deepcopy(OBJECTS[resource.kind])}
    assert decode_object(encode_object(obj)) == obj
    model = resource.model.model_validate(obj)
    assert model.unknown_fields() == []


@pytest.mark.parametrize(("kind", "obj"), EXTRA_MESSAGES.items(), ids=lambda k: k[1] if isinstance(k, tuple) else "")
def test_subresource_bodies_round_trip(kind: tuple[str, str], obj: dict[str, Any]) -> None:
    full = {"apiVersion": kind[0], "kind": kind[1], **obj}
    assert decode_object(encode_object(full)) == full


def _filled(name: str, depth: int = 0) -> dict[str, Any]:
    """Every field of a message set to a non-zero value (messages three levels deep)."""
    obj: dict[str, Any] = {}
    for spec in schema.message(name).values():
        if spec.inline:
            obj.update(_filled(spec.type, depth + 1))
            continue
        if spec.is_message and depth >= 3:
            continue
        value: Any = {
            "string": f"s{spec.number}", "bytes": "AQI=", "bool": True, "int32": -spec.number, "int64": 2**40 + spec.number,
            "float64": 1.5, "Time": "2026-11-30T10:00:00Z", "MicroTime": "2026-11-30T10:00:00.000007Z",
            "IntOrString": "name" if spec.number % 2 else 8080, "Quantity": "250m", "FieldsV1": {"f:a": {}},
        }.get(spec.type)
        if value is None:
            value = _filled(spec.type, depth + 1)
        obj[spec.json] = {"k": value} if spec.map_key is not None else [value, value] if spec.repeated else value
    return obj


@pytest.mark.parametrize("name", sorted(schema.MESSAGES))
def test_every_message_of_the_tables_round_trips_with_every_field_set(name: str) -> None:
    for spec in schema.message(name).values():
        if spec.is_message:
            schema.message(spec.type)  # every reference resolves
    obj = _filled(name)
    assert decode_message(name, encode_message(name, obj)) == obj


def test_zero_values_are_kept_where_json_keeps_them() -> None:
    # gogo writes every non-pointer field; JSON drops the omitempty zeros, keeps pointers and structs.
    container = length_delimited(1, b"c") + length_delimited(2, b"") + key(16, 0) + varint(0)  # name, image "", stdin false
    container += length_delimited(8, b"")  # resources {}
    spec = length_delimited(2, container) + key(4, 0) + varint(0) + key(11, 0) + varint(0)  # grace 0 (pointer), hostNetwork false
    pod = length_delimited(1, length_delimited(8, b"")) + length_delimited(2, spec)  # a zero creationTimestamp
    assert decode_message("core/v1.Pod", pod) == {
        "metadata": {},
        "spec": {"containers": [{"name": "c", "resources": {}}], "terminationGracePeriodSeconds": 0},
    }
    port = key(3, 0) + varint(80) + length_delimited(4, b"")  # targetPort IntOrString zero: a struct, kept as 0
    assert decode_message("core/v1.ServicePort", port) == {"port": 80, "targetPort": 0}


def test_unknown_field_numbers_are_skipped() -> None:
    meta = length_delimited(1, b"x") + key(99, 0) + varint(7) + length_delimited(98, b"\xff\x00junk") + key(97, 5) + b"\x00\x00\x00\x00"
    body = envelope("v1", "ConfigMap", length_delimited(1, meta) + key(1000, 1) + bytes(8))
    assert decode_object(body) == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}


def test_packed_repeated_numbers_decode_too() -> None:
    packed = length_delimited(3, varint(1) + varint(2) + varint(300))  # LinuxContainerUser.supplementalGroups
    assert decode_message("core/v1.LinuxContainerUser", packed) == {"supplementalGroups": [1, 2, 300]}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(b'{"kind": "ConfigMap"}', "k8s\\x00", id="JSON sent as protobuf"),
        pytest.param(b"k8s\x00" + b"\x0a\x05\x0a\x02v1", "past the end", id="truncated envelope"),
        pytest.param(envelope("v1", "Gadget", b""), 'no kind "Gadget" is registered for version "v1"', id="unknown kind"),
        pytest.param(envelope("v1", "ConfigMap", key(1, 0) + varint(3)), "metadata: wire type varint, expected length-delimited", id="wrong wire type"),
        pytest.param(envelope("v1", "ConfigMap", length_delimited(1, length_delimited(7, b"x"))), "metadata.generation: wire type length-delimited", id="nested wrong type"),
        pytest.param(envelope("v1", "ConfigMap", b"\x80" * 11), "longer than 10 bytes", id="endless varint"),
        pytest.param(envelope("v1", "ConfigMap", length_delimited(1, length_delimited(11, b"\x0a\x05ab"))), "metadata.labels: field 1 at offset 0 has length 5", id="truncated map entry"),
        pytest.param(envelope("v1", "ConfigMap", key(5, 3)), "unsupported wire type 3", id="group"),
        pytest.param(envelope("v1", "ConfigMap", b"\x00\x01"), "invalid field number 0", id="field zero"),
        pytest.param(b"k8s\x00" + length_delimited(3, b"gzip"), "content encoding 'gzip'", id="encoded"),
    ],
)
def test_malformed_bodies_raise_protobuf_error_naming_the_problem(body: bytes, words: str) -> None:
    with pytest.raises(ProtobufError) as caught:
        decode_object(body)
    assert words in str(caught.value)


def test_every_truncation_of_a_real_body_is_refused_or_decoded_never_crashes() -> None:
    whole = encode_object({"apiVersion": "v1", "kind": "Pod", **copy.deepcopy(OBJECTS["Pod"])})
    for cut in range(len(whole)):
        try:
            decode_object(whole[:cut])
        except ProtobufError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(sorted(schema.KINDS)))
def test_garbage_in_any_kind_is_refused_or_decoded_never_crashes(raw: bytes, kind: tuple[str, str]) -> None:
    try:
        decode_object(envelope(kind[0], kind[1], raw))
    except ProtobufError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_after_the_magic_is_refused_or_decoded_never_crashes(raw: bytes) -> None:
    try:
        decode_object(b"k8s\x00" + raw)
    except ProtobufError:
        pass
