"""The networking.k8s.io/v1 kinds: Ingress (hosts and paths routed to Services) and IngressClass.

The rules are Kubernetes' own (``pkg/apis/networking/validation``), each raised where
pydantic reports the field it belongs to, so a 422 names it
(``spec.rules[0].http.paths[0].pathType``): a path starts with '/', and for Exact and
Prefix has no ``//``, ``/./``, ``/../`` or trailing ``/.``/``/..``; pathType is required
(Exact, Prefix or ImplementationSpecific); a host is a DNS-1123 subdomain with at most a
leading ``*.``, never an IP address; a backend is a service (a name and a port by number
xor by name) or a resource, exactly one; an Ingress has rules or a defaultBackend.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from kajitori.api.meta import (
    DNS1123_SUBDOMAIN,
    KubeModel,
    TypedObject,
    check_dns1123_label,
    check_dns1123_subdomain,
)

DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
"""An IngressClass with this annotation "true" is given to Ingresses created without a class."""

KAJITORI_CLASS = "kajitori"
KAJITORI_CONTROLLER = "kajitori.io/ingress-nginx"
"""The default IngressClass the master creates and the controller name Kajitori's ingress controller serves (net/ingress/)."""

PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")
_BAD_PATH_PARTS = ("//", "/./", "/../", "%2f", "%2F")
_CONTROLLER = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[-A-Za-z0-9_./]+$")

Port = Annotated[int, Field(ge=1, le=65535)]


def check_host(host: str) -> str:
    """A rule's or TLS entry's host: a DNS-1123 subdomain, optionally starting with ``*.``; no IP address."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise ValueError(f"Invalid value: {host!r}: must be a DNS name, not an IP address")
    name = host[2:] if host.startswith("*.") else host
    if "*" in name or len(host) > 253 or not DNS1123_SUBDOMAIN.match(name):
        raise ValueError(
            f"Invalid value: {host!r}: a wildcard DNS-1123 subdomain must start with '*.', followed by a valid "
            "DNS subdomain (lower-case alphanumeric characters, '-' or '.')"
        )
    return host


class ServiceBackendPort(KubeModel):
    name: str | None = None
    number: Port | None = None

    @model_validator(mode="after")
    def _one(self) -> ServiceBackendPort:
        if (self.name is None) == (self.number is None):
            raise ValueError("Invalid value: a port name or a port number is required, and only one of them")
        if self.name is not None:
            check_dns1123_label(self.name, what="port name")
        return self


class IngressServiceBackend(KubeModel):
    name: str
    port: ServiceBackendPort

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_dns1123_label(v, what="service name")


class TypedLocalObjectReference(KubeModel):
    apiGroup: str | None = None
    kind: str
    name: str


class IngressBackend(KubeModel):
    service: IngressServiceBackend | None = None
    resource: TypedLocalObjectReference | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> IngressBackend:
        if (self.service is None) == (self.resource is None):
            raise ValueError("Invalid value: exactly one of `service` or `resource` must be specified")
        return self


class HTTPIngressPath(KubeModel):
    # pathType before path: the path's rules depend on it (pydantic validates in this order).
    pathType: Literal["Exact", "Prefix", "ImplementationSpecific"]
    path: str | None = Field(default=None, validate_default=True)
    backend: IngressBackend

    @field_validator("path")
    @classmethod
    def _absolute(cls, v: str | None, info: ValidationInfo) -> str | None:
        strict = info.data.get("pathType") in ("Exact", "Prefix")
        if v is None:
            if strict:
                raise ValueError("Invalid value: '': must be an absolute path")
            return v
        if not v.startswith("/"):
            raise ValueError(f"Invalid value: {v!r}: must be an absolute path")
        if strict and (
            any(part in v for part in _BAD_PATH_PARTS) or v.endswith(("/..", "/."))
        ):
            raise ValueError(f"Invalid value: {v!r}: must not contain '//', '/./', '/../', '%2f' or end in '/.' or '/..'")
        return v


class HTTPIngressRuleValue(KubeModel):
    paths: list[HTTPIngressPath] = Field(min_length=1)


class IngressRule(KubeModel):
    host: str | None = None
    http: HTTPIngressRuleValue | None = None

    @field_validator("host")
    @classmethod
    def _host(cls, v: str | None) -> str | None:
        return None if v is None or v == "" else check_host(v)


class IngressTLS(KubeModel):
    hosts: list[str] | None = None
    secretName: str | None = None

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, v: list[str] | None) -> list[str] | None:
        for host in v or []:
            check_host(host)
        return v

    @field_validator("secretName")
    @classmethod
    def _secret(cls, v: str | None) -> str | None:
        return None if v is None or v == "" else check_dns1123_subdomain(v, what="secret name")


class IngressSpec(KubeModel):
    ingressClassName: str | None = None
    defaultBackend: IngressBackend | None = None
    tls: list[IngressTLS] | None = None
    rules: list[IngressRule] | None = None

    @field_validator("ingressClassName")
    @classmethod
    def _class(cls, v: str | None) -> str | None:
        return None if v is None else check_dns1123_subdomain(v, what="ingressClassName")

    @model_validator(mode="after")
    def _something_to_route(self) -> IngressSpec:
        if self.defaultBackend is None and not self.rules:
            raise ValueError("Invalid value: either `defaultBackend` or `rules` must be specified")
        return self


class IngressPortStatus(KubeModel):
    port: int
    protocol: str
    error: str | None = None


class IngressLoadBalancerIngress(KubeModel):
    ip: str | None = None
    hostname: str | None = None
    ports: list[IngressPortStatus] | None = None


class IngressLoadBalancerStatus(KubeModel):
    ingress: list[IngressLoadBalancerIngress] | None = None


class IngressStatus(KubeModel):
    loadBalancer: IngressLoadBalancerStatus = Field(default_factory=IngressLoadBalancerStatus)


class Ingress(TypedObject):
    """Rules that route outside HTTP(S) traffic by host and path to Services, served by an ingress controller."""

    apiVersion: str | None = "networking.k8s.io/v1"
    kind: str | None = "Ingress"
    spec: IngressSpec = Field(default_factory=IngressSpec)
    status: IngressStatus = Field(default_factory=IngressStatus)


# --------------------------------------------------------------------------- IngressClass


class IngressClassParametersReference(KubeModel):
    apiGroup: str | None = None
    kind: str
    name: str
    scope: Literal["Cluster", "Namespace"] | None = None
    namespace: str | None = None


class IngressClassSpec(KubeModel):
    controller: str
    parameters: IngressClassParametersReference | None = None

    @field_validator("controller")
    @classmethod
    def _controller(cls, v: str) -> str:
        if len(v) > 250 or not _CONTROLLER.match(v):
            raise ValueError(f"Invalid value: {v!r}: must be a domain-prefixed path (such as 'acme.io/foo')")
        return v


class IngressClass(TypedObject):
    """A kind of ingress controller; Ingresses name the one that serves them (the default one when they name none)."""

    apiVersion: str | None = "networking.k8s.io/v1"
    kind: str | None = "IngressClass"
    spec: IngressClassSpec
