"""The long-running processes: `kajitori master`, `kajitori agent`, `kajitori proxy`, `kajitori ingress-controller`.

Each command only turns flags into settings and hands them to its component; the
components never read flags or the environment themselves.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from cli.app import app
from net.lb_pool import DEFAULT_LAB_NETWORK, DEFAULT_POOL, AddressPool, PoolError


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise typer.BadParameter(f"{listen!r} must be HOST:PORT", param_hint="--listen")
    return host or "0.0.0.0", int(port)


@app.command()
def master(
    data_dir: Path = typer.Option(Path("./kajitori-data"), "--data-dir", help="Store, tokens and kubeconfigs."),
    listen: str = typer.Option("0.0.0.0:6443", "--listen", help="HOST:PORT of the API server."),
    advertise_address: str = typer.Option(None, "--advertise-address", help="This master's address (its Endpoints, and the kubeconfigs unless --control-plane-endpoint)."),
    control_plane_endpoint: str = typer.Option(None, "--control-plane-endpoint", help="HOST[:PORT] shared by all masters (a virtual IP or load balancer): covered by the serving certificate and written into the kubeconfigs it hands out (kubeadm's --control-plane-endpoint)."),
    no_controllers: bool = typer.Option(False, "--no-controllers", help="Run only the API server."),
    dns_listen: str = typer.Option(None, "--dns-listen", help="HOST:PORT to serve cluster DNS on (the kube-dns Service points there)."),
    disable: list[str] = typer.Option([], "--disable", help="Switch one loop off (scheduler, replicaset, deployment, daemonset, endpoints, load-balancer, node-lifecycle, garbage-collector)."),
    node_monitor_grace: float = typer.Option(6.0, "--node-monitor-grace-period", help="Seconds without heartbeat before a node is NotReady (Kubernetes: 40)."),
    pod_eviction_timeout: float = typer.Option(2.0, "--pod-eviction-timeout", help="Seconds pods stay on a NotReady node before deletion (Kubernetes: 300)."),
    load_balancer_pool: str = typer.Option(DEFAULT_POOL, "--load-balancer-pool", help="Addresses for LoadBalancer Services: A-B or a CIDR, inside --lab-network."),
    lab_network: str = typer.Option(DEFAULT_LAB_NETWORK, "--lab-network", help="The lab network; a --load-balancer-pool outside it is refused."),
    job_backoff: float = typer.Option(10.0, "--job-backoff", help="Seconds before a failed Job pod is recreated, doubling per failure up to 6 min (Kubernetes: 10)."),
    cronjob_clock_speed: float = typer.Option(1.0, "--cronjob-clock-speed", hidden=True, help="Tests only: the CronJob controller's clock runs this many times faster than real time."),
    store: str = typer.Option("sqlite", "--store", help="sqlite (embedded, one master) or etcd (shared by masters)."),
    etcd_servers: str = typer.Option("", "--etcd-servers", help="etcd client URLs, comma-separated (with --store etcd)."),
    etcd_cafile: str = typer.Option(None, "--etcd-cafile", help="CA of the etcd servers' certificates."),
    etcd_certfile: str = typer.Option(None, "--etcd-certfile", help="Client certificate for etcd."),
    etcd_keyfile: str = typer.Option(None, "--etcd-keyfile", help="Key of the etcd client certificate."),
    etcd_compaction_interval: float = typer.Option(300.0, "--etcd-compaction-interval", help="Seconds between etcd compactions (0: never; Kubernetes: 300)."),
    etcd_request_timeout: float = typer.Option(5.0, "--etcd-request-timeout", help="Seconds an etcd request may go unanswered before the next member is asked."),
    leader_elect: bool = typer.Option(None, "--leader-elect/--no-leader-elect", help="Run the loops only while holding their Lease (default: on with --store etcd)."),
    lease_duration: float = typer.Option(4.0, "--leader-elect-lease-duration", help="Seconds others wait after the last renewal before taking over (Kubernetes: 15)."),
    renew_deadline: float = typer.Option(3.0, "--leader-elect-renew-deadline", help="Seconds a leader acts without renewing; below the lease duration (Kubernetes: 10)."),
    retry_period: float = typer.Option(1.0, "--leader-elect-retry-period", help="Seconds between tries and renewals (Kubernetes: 2)."),
    hpa_sync_period: float = typer.Option(15.0, "--horizontal-pod-autoscaler-sync-period", help="Seconds between two looks at one HorizontalPodAutoscaler (Kubernetes: 15)."),
    metric_resolution: float = typer.Option(15.0, "--metric-resolution", help="Seconds between scrapes of the agents' resource metrics for kubectl top and autoscaling (metrics-server: 15)."),
    authorization_mode: str = typer.Option("Node,RBAC", "--authorization-mode", help="Node,RBAC (default) or AlwaysAllow (every authenticated request, as before RBAC)."),
    verbose: bool = typer.Option(False, "-v", "--verbose"),
) -> None:
    """Run the master: API server, state store, scheduler and controllers."""
    configure_logging(verbose)
    from master import server
    from master.settings import ControllerSettings, LeaderElectionSettings, MasterSettings, StoreSettings

    host, port = _split_listen(listen)
    loops = ControllerSettings(node_monitor_grace_s=node_monitor_grace, pod_eviction_timeout_s=pod_eviction_timeout)
    loops.job_backoff_base_s = job_backoff
    try:
        AddressPool.parse(load_balancer_pool, network=lab_network)
    except PoolError as exc:
        raise typer.BadParameter(str(exc), param_hint="--load-balancer-pool") from None
    loops.load_balancer_pool, loops.lab_network = load_balancer_pool, lab_network
    loops.cronjob_clock_speed = cronjob_clock_speed
    loops.hpa_sync_period_s = max(0.5, hpa_sync_period)
    for name in disable:
        attr = name.replace("-", "_")
        if not hasattr(loops, attr) or not isinstance(getattr(loops, attr), bool):
            raise typer.BadParameter(f"unknown loop {name!r}", param_hint="--disable")
        setattr(loops, attr, False)
    try:
        stores = StoreSettings.from_flags(store, etcd_servers, etcd_cafile, etcd_certfile, etcd_keyfile, etcd_compaction_interval)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--store") from None
    if etcd_request_timeout <= 0:
        raise typer.BadParameter("must be more than 0", param_hint="--etcd-request-timeout")
    stores.etcd_request_timeout_s = etcd_request_timeout
    settings = MasterSettings(
        data_dir=data_dir,
        host=host,
        port=port,
        advertise_address=advertise_address,
        control_plane_endpoint=control_plane_endpoint or None,
        controllers=loops,
        dns_listen=_split_listen(dns_listen) if dns_listen else None,
        store=stores,
        metric_resolution_s=max(1.0, metric_resolution),
        leader_election=LeaderElectionSettings(
            store == "etcd" if leader_elect is None else leader_elect, lease_duration, renew_deadline, retry_period
        ),
    )
    if authorization_mode not in ("Node,RBAC", "RBAC,Node", "RBAC", "AlwaysAllow"):
        raise typer.BadParameter("must be Node,RBAC or AlwaysAllow", param_hint="--authorization-mode")
    settings.authorization = authorization_mode != "AlwaysAllow"
    starter = None
    if not no_controllers:
        from master.loops import start_all

        starter = start_all
    server.run(settings, controllers=starter)


@app.command()
def proxy(
    kubeconfig: str = typer.Option(None, "--kubeconfig", help="Kubeconfig of the node (server and token)."),
    node_name: str = typer.Option(None, "--node-name", help="This node's name (its own pod CIDR needs no route)."),
    cleanup: bool = typer.Option(False, "--cleanup", help="Remove exactly the proxy's chains and routes, then exit."),
    check_period: float = typer.Option(10.0, "--check-period", help="Seconds between checks that our chains are in place."),
    load_balancer_pool: str = typer.Option(DEFAULT_POOL, "--load-balancer-pool", help="The only addresses this node may announce (as the master's flag)."),
    lab_network: str = typer.Option(DEFAULT_LAB_NETWORK, "--lab-network", help="The lab network; a pool outside it is refused."),
    verbose: bool = typer.Option(False, "-v", "--verbose"),
) -> None:
    """Run the service proxy (iptables), pod routes and load-balancer address announcement of this node."""
    configure_logging(verbose)
    # One line per API request is noise at INFO; the agent logs what it does itself.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose else logging.WARNING)
    import signal
    import socket
    import threading

    from net.iptables_proxy import Proxier
    from net.routes import PodRouteSync

    name = node_name or socket.gethostname()
    try:
        pool = AddressPool.parse(load_balancer_pool, network=lab_network)
    except PoolError as exc:
        raise typer.BadParameter(str(exc), param_hint="--load-balancer-pool") from None
    if cleanup:
        from net.l2_addresses import remove_all

        Proxier().cleanup()
        PodRouteSync(name).cleanup()
        removed = remove_all(pool)
        typer.echo("removed the proxy's chains and routes" + (f" and load-balancer addresses {', '.join(removed)}" if removed else ""))
        return
    from kajitori.client import ApiClient
    from net.proxy_daemon import ProxyDaemon

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    daemon = ProxyDaemon(ApiClient.from_kubeconfig(kubeconfig, user_agent="kajitori-proxy"), name, pool=pool)
    daemon.run(stop, check_period=check_period)


@app.command("ingress-controller")
def ingress_controller(
    kubeconfig: str = typer.Option(None, "--kubeconfig", help="Kubeconfig (server and token)."),
    config_dir: Path = typer.Option(Path("/var/lib/kajitori/ingress"), "--config-dir", help="nginx.conf and certificates (0700); nginx sees it at the same path."),
    publish_address: list[str] = typer.Option([], "--publish-address", help="An address the Ingresses are served on (status.loadBalancer); repeatable."),
    publish_service: str = typer.Option(None, "--publish-service", help="NAMESPACE/NAME of a LoadBalancer Service in front of the nodes: its addresses, once it has them, are the Ingresses' status."),
    nginx_container: str = typer.Option("kajitori-ingress-nginx", "--nginx-container", help="Name of the nginx container this controller runs (labelled io.kajitori.ingress)."),
    nginx_image: str = typer.Option("nginx:1.22", "--nginx-image", help="Image of nginx (Debian's, built by make images)."),
    network: str = typer.Option("host", "--network", help="Docker network of the nginx container (host: the node's own ports)."),
    http_port: int = typer.Option(80, "--http-port"),
    https_port: int = typer.Option(443, "--https-port"),
    remove: bool = typer.Option(False, "--cleanup", help="Remove the nginx container this controller runs, then exit."),
    verbose: bool = typer.Option(False, "-v", "--verbose"),
) -> None:
    """Run the ingress controller: nginx serving the Ingresses of class kajitori (kajitori.io/ingress-nginx)."""
    configure_logging(verbose)
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose else logging.WARNING)
    import signal
    import socket
    import threading

    from net.ingress.nginx import DockerNginx

    nginx = DockerNginx(nginx_container, config_dir=config_dir.resolve(), image=nginx_image, network=network)
    if remove:
        nginx.remove()
        typer.echo(f"removed nginx container {nginx_container}")
        return
    from kajitori.client import ApiClient
    from net.ingress.controller import IngressSettings, run

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    settings = IngressSettings(
        config_dir=config_dir.resolve(), publish_addresses=publish_address, publish_service=publish_service,
        http_port=http_port, https_port=https_port,
    )
    client = ApiClient.from_kubeconfig(kubeconfig, user_agent="kajitori-ingress-controller")
    run(client, nginx, settings, stop, host=socket.gethostname())


@app.command()
def agent(
    kubeconfig: str = typer.Option(..., "--kubeconfig", help="The node's own kubeconfig, system:node:NAME (what `kajitori node join` writes)."),
    node_name: str = typer.Option(..., "--node-name", help="Name of this node in the API."),
    node_ip: str = typer.Option(None, "--node-ip", help="Address on the cluster network (default: what the host name resolves to)."),
    runtime: str = typer.Option("docker", "--runtime", help="docker, or fake for a hollow node."),
    capacity_cpu: int = typer.Option(None, "--capacity-cpu", help="CPUs to report (default: the runtime's)."),
    capacity_memory: str = typer.Option(None, "--capacity-memory", help="Memory to report, e.g. 8Gi (default: the runtime's)."),
    pods_root: Path = typer.Option(Path("/var/lib/kajitori/pods"), "--pods-root", help="Where pod volumes live."),
    volumes_root: Path = typer.Option(Path("/var/lib/kajitori/volumes"), "--volumes-root", help="Where this node's local-path PersistentVolumes live."),
    network: str = typer.Option("kajitori-pods", "--network", help="Docker network of the pods (kajitori-pods: the node's podCIDR bridge)."),
    port: int = typer.Option(10250, "--port", help="Port of the logs/exec server (HTTPS)."),
    cert_dir: Path = typer.Option(Path("/var/lib/kajitori/pki"), "--cert-dir", help="Where the serving certificate of --port is kept."),
    verbose: bool = typer.Option(False, "-v", "--verbose"),
) -> None:
    """Run the node agent: register the node, heartbeat, run the pods bound to it."""
    configure_logging(verbose)
    # One line per API request is noise at INFO; the agent logs what it does itself.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose else logging.WARNING)
    import signal
    from datetime import UTC, datetime

    # Only what the first Lease renewal needs is imported before it: agent.agent (the Docker
    # SDK, the logs/exec server, every loop) takes seconds on a loaded machine, and the master
    # marks a node NotReady after its grace period (6 s in the lab) without a renewal.
    from agent.node_status import detect_node_ip, renew_node_lease
    from agent.settings import AgentSettings
    from kajitori.api.quantity import memory_bytes
    from kajitori.client import ApiClient

    if runtime not in ("docker", "fake"):
        raise typer.BadParameter("must be docker or fake", param_hint="--runtime")
    try:
        memory = memory_bytes(capacity_memory) if capacity_memory else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--capacity-memory") from None
    settings = AgentSettings(
        kubeconfig=kubeconfig,
        node_name=node_name,
        node_ip=node_ip or detect_node_ip(),
        runtime=runtime,
        capacity_cpu=capacity_cpu,
        capacity_memory_bytes=memory,
        pods_root=pods_root,
        volumes_root=volumes_root,
        network=network,
        port=port,
        cert_dir=cert_dir,
        probe_network=runtime != "fake",
        pod_workers=32 if runtime == "docker" else 4,
    )
    client = ApiClient.from_kubeconfig(kubeconfig)
    try:
        renew_node_lease(client, node_name, duration_s=settings.heartbeat.lease_duration_s, now=datetime.now(UTC))
    except Exception as exc:  # the master may be down; the agent's own renewals retry
        logging.getLogger("agent").info("lease not renewed at start-up: %s", exc)
    from agent.agent import Agent, AgentError

    try:
        node_agent = Agent(settings, client=client)
        # SIGTERM stops the agent alone; its pods' containers keep running and are adopted later.
        signal.signal(signal.SIGTERM, lambda *_: node_agent.stop())
        node_agent.run_forever()
    except AgentError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        node_agent.stop()
