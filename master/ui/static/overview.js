// The picture of the cluster: each machine (Node) a box holding its pods, coloured by
// phase; pods not yet bound to a node in a box of their own; Services below, each joined
// by a line to the pods its Endpoints name. Re-drawn from the live collections.

import { cluster, endpointPods, key } from "./cluster.js";
import { h, nodeHref, podHref, podStatus, replace, serviceHref } from "./dom.js";

function nodeReady(node) {
  const ready = ((node.status && node.status.conditions) || []).find((c) => c.type === "Ready");
  return ready ? ready.status === "True" : false;
}

function podChip(pod) {
  const id = key(pod);
  if (!cluster.firstSeen.has(id)) cluster.firstSeen.set(id, Date.now());
  const status = podStatus(pod);
  const phase = (pod.status && pod.status.phase) || "Pending";
  return h(
    "a",
    {
      class: `pod phase-${phase}${pod.metadata.deletionTimestamp ? " terminating" : ""}`,
      href: podHref(pod.metadata.namespace, pod.metadata.name),
      "data-pod": id,
      "data-phase": phase,
      title: `${id}\n${status}${pod.status && pod.status.podIP ? `\n${pod.status.podIP}` : ""}`,
    },
    h("span", { class: "pod-name" }, pod.metadata.name),
    h("span", { class: "pod-status" }, status),
  );
}

function nodeBox(name, node, pods) {
  const ready = node ? nodeReady(node) : null;
  const address = node && ((node.status && node.status.addresses) || []).find((a) => a.type === "InternalIP");
  return h(
    "div",
    { class: `machine${ready === false ? " not-ready" : ""}`, "data-node": name },
    h(
      "header",
      {},
      h("a", { href: nodeHref(name) }, name),
      h("span", { class: `badge ${ready ? "ok" : ready === false ? "bad" : ""}` }, ready === null ? "node hidden" : ready ? "Ready" : "NotReady"),
      node && node.spec && node.spec.unschedulable ? h("span", { class: "badge warn" }, "SchedulingDisabled") : null,
    ),
    h("div", { class: "machine-facts" }, [address && address.address, node && node.spec && node.spec.podCIDR].filter(Boolean).join(" · ")),
    h("div", { class: "pods" }, pods.length ? pods.map(podChip) : h("span", { class: "muted" }, "no pods")),
  );
}

function serviceBox(service, endpoints) {
  const spec = service.spec || {};
  const ports = (spec.ports || []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol || "TCP"}`).join(", ");
  const addresses = endpointPods(endpoints);
  const targets = addresses.filter((t) => t.pod); // kubernetes and kube-dns point at the master, not at pods
  return h(
    "a",
    {
      class: "service",
      href: serviceHref(service.metadata.namespace, service.metadata.name),
      "data-service": key(service),
      "data-endpoints": targets.map((t) => t.pod).join(" "),
    },
    h("span", { class: "service-name" }, key(service)),
    h("span", { class: "service-facts" }, `${spec.type || "ClusterIP"} ${spec.clusterIP || ""} ${ports}`),
    h("span", { class: "service-facts" }, `${addresses.filter((t) => t.ready).length} ready endpoint(s)`),
  );
}

// The lines from each Service to its endpoints' pods, drawn over the page once it is laid out.
function drawLinks(picture) {
  const svg = picture.querySelector("svg.links");
  const origin = picture.getBoundingClientRect();
  svg.setAttribute("width", picture.scrollWidth);
  svg.setAttribute("height", picture.scrollHeight);
  svg.replaceChildren();
  for (const service of picture.querySelectorAll(".service[data-endpoints]")) {
    const from = service.getBoundingClientRect();
    for (const podKey of service.dataset.endpoints.split(" ").filter(Boolean)) {
      const chip = picture.querySelector(`.pod[data-pod="${CSS.escape(podKey)}"]`);
      if (!chip) continue;
      const to = chip.getBoundingClientRect();
      const x1 = from.left + from.width / 2 - origin.left;
      const y1 = from.top - origin.top;
      const x2 = to.left + to.width / 2 - origin.left;
      const y2 = to.bottom - origin.top;
      const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      const middle = (y1 + y2) / 2;
      path.setAttribute("d", `M${x1},${y1} C${x1},${middle} ${x2},${middle} ${x2},${y2}`);
      path.setAttribute("data-link", `${service.dataset.service} ${podKey}`);
      svg.append(path);
    }
  }
}

export function renderOverview(main) {
  const byNode = new Map();
  for (const node of cluster.objects.nodes.values()) byNode.set(node.metadata.name, []);
  const unbound = [];
  for (const pod of cluster.objects.pods.values()) {
    const nodeName = pod.spec && pod.spec.nodeName;
    if (!nodeName) unbound.push(pod);
    else {
      if (!byNode.has(nodeName)) byNode.set(nodeName, []); // a node the user may not read: known from its pods
      byNode.get(nodeName).push(pod);
    }
  }
  const byName = (a, b) => key(a).localeCompare(key(b));
  const machines = [...byNode.keys()].sort().map((name) => nodeBox(name, cluster.objects.nodes.get(name), byNode.get(name).sort(byName)));
  if (unbound.length)
    machines.push(
      h("div", { class: "machine unbound", "data-node": "" }, h("header", {}, "not scheduled yet"), h("div", { class: "pods" }, unbound.sort(byName).map(podChip))),
    );
  const services = [...cluster.objects.services.values()].sort(byName).map((s) => serviceBox(s, cluster.objects.endpoints.get(key(s))));
  const links = document.createElementNS("http://www.w3.org/2000/svg", "svg"); // drawn in its namespace, or not at all
  links.setAttribute("class", "links");
  const picture = h(
    "div",
    { class: "picture" },
    links,
    h("h2", {}, "Machines"),
    h("div", { class: "machines" }, machines.length ? machines : h("p", { class: "muted" }, "no nodes")),
    h("h2", {}, "Services"),
    h("div", { class: "services" }, services.length ? services : h("p", { class: "muted" }, "no services")),
    h("p", { class: "legend" }, ["Pending", "Running", "Succeeded", "Failed", "Unknown"].map((p) => h("span", { class: `pod phase-${p}` }, p))),
  );
  replace(main, picture);
  drawLinks(picture);
}
