"""Kajitori's ingress controller loop: the Ingresses of our class served by one nginx.

One thread (`IngressController.loop`, started by `run`) owns nginx's configuration. Informers on Ingresses, IngressClasses,
Services, Endpoints and Secrets only set a flag; each pass (`sync`) renders the whole
configuration from their caches (net/ingress/render.py) and, if it changed:

1. writes the certificate files (0600) and the configuration to a side file;
2. asks nginx to check it (``nginx -t -c side-file``); if nginx refuses it, the Ingresses
   are added one at a time, oldest first, to what nginx accepts, so the broken one is
   left out and gets a Warning Event (``RejectedByNginx``) with nginx's own words, and
   every other Ingress is still served;
3. moves the checked file over ``nginx.conf`` and reloads nginx gracefully (new workers,
   the old ones finish what they serve); a failed reload is retried on the next pass. The
   reload returns once the old workers are gone, and only then does each Ingress whose
   generation is now served get a Normal ``Sync`` Event ("generation N served by nginx"):
   what a client (or a test) waits for before it counts on a change.

Missing Services, ports or Secrets are served as 503 pages naming them and recorded once
as Warning Events. Each served Ingress's ``status.loadBalancer.ingress`` is set to the
addresses it is published on: the publish Service's load-balancer addresses once it has
them, else the configured addresses. A pass that fails (nginx or the API unreachable) is
retried after `retry_s`.
"""

from __future__ import annotations

import datetime
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kajitori.api.core import Endpoints, Secret, Service
from kajitori.api.meta import TypedObject
from kajitori.api.networking import KAJITORI_CONTROLLER, Ingress, IngressClass
from kajitori.client import ApiClient, ApiError
from kajitori.events import EventRecorder
from kajitori.informer import Informer
from kajitori.private_files import ensure_private_dir, write_file
from kajitori.seams import ApiWriter, Cache, InformerSource, Recorder
from net.ingress.nginx import Nginx, NginxError
from net.ingress.render import NamespacedName, Problem, Rendered, RenderInputs, RenderSettings, render

log = logging.getLogger(__name__)

LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
T = TypeVar("T", bound=TypedObject)


@dataclass
class IngressSettings:
    config_dir: Path
    """Folder of nginx.conf, the certificates and the fallback certificate (nginx sees it at the same path)."""
    publish_addresses: list[str] = field(default_factory=list)
    """Written into each served Ingress's status.loadBalancer.ingress[].ip."""
    publish_service: str | None = None
    """``namespace/name`` of a LoadBalancer Service in front of the nodes: once it has addresses,
    they are what the Ingresses' status shows instead of `publish_addresses` (ingress-nginx's flag)."""
    controller: str = KAJITORI_CONTROLLER
    """The IngressClass controller name this controller serves."""
    http_port: int = 80
    https_port: int = 443
    retry_s: float = 2.0
    """Seconds before a failed pass is tried again."""

    @property
    def config(self) -> Path:
        return self.config_dir / "nginx.conf"

    def render_settings(self) -> RenderSettings:
        return RenderSettings(
            http_port=self.http_port,
            https_port=self.https_port,
            cert_dir=str(self.config_dir / "certs"),
            pid_file=str(self.config_dir / "nginx.pid"),
            fallback_cert=str(self.config_dir / "fallback.pem"),
        )


def _key(obj: TypedObject) -> NamespacedName:
    return obj.metadata.namespace or "default", obj.metadata.name or ""


def ensure_fallback_certificate(path: Path) -> None:
    """A self-signed certificate+key (0600) served for a host whose TLS Secret is missing."""
    if path.exists():
        return
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kajitori-ingress-fallback")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_file(path, pem)


class OwnInformers:
    """An informer per kind on one client (the controller runs outside the master's shared ones)."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self.made: list[Informer[Any]] = []

    def informer(self, model: type[T]) -> Informer[T]:
        found = next((i for i in self.made if i.model is model), None)
        if found is None:
            found = Informer(self.client, model)
            self.made.append(found)
        return found


class IngressController:
    def __init__(
        self, client: ApiWriter, nginx: Nginx, settings: IngressSettings, *, informers: InformerSource, recorder: Recorder
    ) -> None:
        self.client = client
        self.nginx = nginx
        self.settings = settings
        self.recorder = recorder
        self.ingresses = informers.informer(Ingress)
        self.classes = informers.informer(IngressClass)
        self.services = informers.informer(Service)
        self.endpoints = informers.informer(Endpoints)
        self.secrets = informers.informer(Secret)
        self._caches: list[Cache[Any]] = [self.ingresses, self.classes, self.services, self.endpoints, self.secrets]
        self.changed = threading.Event()
        for cache in self._caches:
            cache.add_handlers(
                lambda _new: self.changed.set(), lambda _old, _new: self.changed.set(), lambda _old: self.changed.set()
            )
        self.rendered: str | None = None  # what was last rendered for nginx (all Ingresses, before any was left out)
        self.reported: set[Problem] = set()
        self.rejected: dict[NamespacedName, str] = {}
        self.synced: dict[str, int] = {}  # uid -> the generation last reported served

    # ---------------------------------------------------------------- the loop

    def loop(self, stop: threading.Event) -> None:
        """Passes until `stop`, each after a change (or every second); a failed pass is retried after retry_s."""
        while not stop.is_set() and not all(c.wait_synced(1.0) for c in self._caches):
            pass
        ensure_private_dir(self.settings.config_dir / "certs")
        ensure_fallback_certificate(self.settings.config_dir / "fallback.pem")
        while not stop.is_set():
            self.changed.clear()
            try:
                self.sync()
            except (NginxError, ApiError, OSError) as exc:
                log.warning("ingress sync failed (retrying in %.1fs): %s", self.settings.retry_s, exc)
                stop.wait(self.settings.retry_s)
                self.changed.set()
                continue
            self.changed.wait(1.0)

    # ---------------------------------------------------------------- one pass

    def our_classes(self) -> set[str]:
        return {c.metadata.name or "" for c in self.classes.list() if c.spec.controller == self.settings.controller}

    def served(self) -> list[Ingress]:
        classes = self.our_classes()
        chosen = []
        for ingress in self.ingresses.list():
            name = ingress.spec.ingressClassName or (ingress.metadata.annotations or {}).get(LEGACY_CLASS_ANNOTATION)
            if name in classes:
                chosen.append(ingress)
        return chosen

    def inputs(self, ingresses: list[Ingress]) -> RenderInputs:
        return RenderInputs(
            ingresses=[i.to_dict() for i in ingresses],
            services={_key(s): s.to_dict() for s in self.services.list()},
            endpoints={_key(e): e.to_dict() for e in self.endpoints.list()},
            secrets={_key(s): s.to_dict() for s in self.secrets.list() if s.type == "kubernetes.io/tls"},
        )

    def sync(self) -> None:
        """Render, check, swap and reload if the configuration changed; then Events and status."""
        ingresses = self.served()
        settings = self.settings.render_settings()
        rendered = render(self.inputs(ingresses), settings)
        if not self.settings.config.exists():
            # nginx starts on a configuration that serves nothing yet (404s, no TLS names).
            write_file(self.settings.config, render(self.inputs([]), settings).config.encode())
        self.nginx.ensure_running(self.settings.config)
        accepted = ingresses
        wanted = rendered.config
        if rendered.config != self.rendered:
            self._write_certificates(rendered.certificates)
            side = self.settings.config_dir / "nginx.conf.next"
            write_file(side, rendered.config.encode())
            error = self.nginx.check(side)
            rejected: dict[NamespacedName, str] = {}
            if error is not None:
                accepted, rejected, rendered = self._isolate(ingresses, settings, side)
            for key, message in rejected.items():
                if self.rejected.get(key) != message:
                    self._warn(key, "RejectedByNginx", f"left out of nginx's configuration: {message}")
            self.rejected = rejected
            os.replace(side, self.settings.config)
            self.nginx.reload(self.settings.config)
            self.rendered = wanted
            self._remove_stale_certificates(rendered.certificates)
            log.info("nginx reloaded: %d ingresses served, %d left out", len(accepted), len(rejected))
        else:
            accepted = [i for i in ingresses if _key(i) not in self.rejected]
        self._record_synced(accepted)
        for problem in rendered.problems:
            if problem not in self.reported:
                self._warn(problem.ingress, problem.reason, problem.message)
        self.reported = set(rendered.problems)
        self._publish(accepted)

    def _isolate(
        self, ingresses: list[Ingress], settings: RenderSettings, side: Path
    ) -> tuple[list[Ingress], dict[NamespacedName, str], Rendered]:
        """The Ingresses nginx accepts together (added oldest first), those it refuses with its words, and their render."""
        ordered = sorted(
            ingresses, key=lambda i: (i.metadata.creationTimestamp or "", i.metadata.namespace or "", i.metadata.name or "")
        )
        accepted: list[Ingress] = []
        rejected: dict[NamespacedName, str] = {}
        good = render(self.inputs([]), settings)
        for ingress in ordered:
            candidate = render(self.inputs([*accepted, ingress]), settings)
            self._write_certificates(candidate.certificates)
            write_file(side, candidate.config.encode())
            error = self.nginx.check(side)
            if error is None:
                accepted.append(ingress)
                good = candidate
            else:
                rejected[_key(ingress)] = error
        write_file(side, good.config.encode())
        return accepted, rejected, good

    def _record_synced(self, served: list[Ingress]) -> None:
        """A Normal `Sync` Event once each generation of an Ingress is what every nginx worker serves."""
        synced: dict[str, int] = {}
        for ingress in served:
            uid, generation = ingress.metadata.uid or "", ingress.metadata.generation or 0
            synced[uid] = generation
            if self.synced.get(uid) != generation:
                self.recorder.normal(ingress, "Sync", f"generation {generation} served by nginx")
        self.synced = synced

    def _write_certificates(self, certificates: dict[str, bytes]) -> None:
        cert_dir = ensure_private_dir(self.settings.config_dir / "certs")
        for name, pem in certificates.items():
            path = cert_dir / name
            if not path.exists():
                write_file(path, pem)

    def _remove_stale_certificates(self, certificates: dict[str, bytes]) -> None:
        for path in (self.settings.config_dir / "certs").glob("*.pem"):
            if path.name not in certificates:
                path.unlink(missing_ok=True)

    def _warn(self, key: NamespacedName, reason: str, message: str) -> None:
        ingress = self.ingresses.get(f"{key[0]}/{key[1]}")
        if ingress is not None:
            self.recorder.warning(ingress, reason, message)

    def published(self) -> list[str]:
        """The addresses the Ingresses are served on: the publish Service's, else the configured ones."""
        if self.settings.publish_service:
            service = self.services.get(self.settings.publish_service)
            points = (service.status.loadBalancer.get("ingress") or []) if service is not None else []
            found = [p["ip"] for p in points if isinstance(p, dict) and p.get("ip")]
            if found:
                return found
        return list(self.settings.publish_addresses)

    def _publish(self, ingresses: list[Ingress]) -> None:
        addresses = self.published()
        if not addresses:
            return
        wanted = [{"ip": address} for address in addresses]
        for ingress in ingresses:
            if ingress.status.loadBalancer.to_dict().get("ingress") == wanted:
                continue
            body = ingress.model_copy(deep=True)
            body.status = type(body.status).model_validate({"loadBalancer": {"ingress": wanted}})
            try:
                self.client.update_status(body)
            except ApiError as exc:
                # A conflict or a deleted Ingress: the informer brings the news and the next pass tries again.
                log.info("status of ingress %s/%s not written: %s", *_key(ingress), exc)
                self.changed.set()


def run(client: ApiClient, nginx: Nginx, settings: IngressSettings, stop: threading.Event, *, host: str | None = None) -> None:
    """`kajitori ingress-controller`: informers on `client`, the loop until `stop`, then the informers stopped."""
    informers = OwnInformers(client)
    recorder = EventRecorder(client, "kajitori-ingress-controller", host=host)
    controller = IngressController(client, nginx, settings, informers=informers, recorder=recorder)
    for informer in informers.made:
        informer.start()
    try:
        controller.loop(stop)
    finally:
        for informer in informers.made:
            informer.stop()
        recorder.flush()
