"""net: the node's network — pod network, service proxy and cluster DNS (kube-proxy, host-gw CNI, CoreDNS).

- `service_model`: the proxy's own ServicePort/Endpoint types and the translation from v1 objects
- `iptables_rules`: pure generation of the proxy's iptables-restore text (kube-proxy's layout)
- `iptables_proxy`: `Proxier`, the engine that keeps those rules in the kernel (one thread)
- `iptables_runner`: the only code that runs iptables-legacy programs; jump rules
- `routes`: one route per other node to its podCIDR (pyroute2, proto 44)
- `pod_network`: the Docker bridge network for pods and its forwarding/masquerade rules
- `dns`: the cluster DNS server (dnslib), answering only for cluster.local
"""
