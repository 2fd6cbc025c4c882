// A node's page: its conditions (the agent's heartbeat), addresses, pod CIDR, capacity,
// taints, versions, the pods bound to it and its events.

import { cluster, eventsOf, key } from "./cluster.js";
import { EVENT_HEADINGS, age, eventRows, facts, h, podHref, podStatus, replace, section, table } from "./dom.js";

export function mountNode(main, [name]) {
  const details = h("div", {});

  function update() {
    const node = cluster.objects.nodes.get(name);
    const pods = [...cluster.objects.pods.values()].filter((p) => p.spec && p.spec.nodeName === name).sort((a, b) => key(a).localeCompare(key(b)));
    const podTable = section(
      `Pods (${pods.length})`,
      table(
        ["Pod", "Status", "IP", "Age"],
        pods.map((p) => [h("a", { href: podHref(p.metadata.namespace, p.metadata.name) }, key(p)), podStatus(p), (p.status && p.status.podIP) || "", age(p.metadata.creationTimestamp)]),
      ),
    );
    if (!node) {
      replace(details, h("p", { class: "muted" }, `node ${name} is not there, or you may not read it`), podTable);
      return;
    }
    const spec = node.spec || {};
    const status = node.status || {};
    const info = status.nodeInfo || {};
    replace(
      details,
      section(
        "Node",
        facts([
          ["Addresses", (status.addresses || []).map((a) => `${a.type} ${a.address}`).join(", ")],
          ["Pod CIDR", spec.podCIDR],
          ["Unschedulable", spec.unschedulable ? "yes (cordoned)" : ""],
          ["Taints", (spec.taints || []).map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`).join(", ")],
          ["Capacity", Object.entries(status.capacity || {}).map(([k, v]) => `${k} ${v}`).join(", ")],
          ["Allocatable", Object.entries(status.allocatable || {}).map(([k, v]) => `${k} ${v}`).join(", ")],
          ["Agent", [info.kubeletVersion, info.containerRuntimeVersion, info.osImage].filter(Boolean).join(" · ")],
          ["Labels", Object.entries(node.metadata.labels || {}).map(([k, v]) => `${k}=${v}`).join(", ")],
        ]),
      ),
      section(
        "Conditions",
        table(
          ["Type", "Status", "Last heartbeat", "Reason", "Message"],
          (status.conditions || []).map((c) => [c.type, c.status, c.lastHeartbeatTime ? `${age(c.lastHeartbeatTime)} ago` : "", c.reason || "", c.message || ""]),
        ),
      ),
      podTable,
      section("Events", table(EVENT_HEADINGS, eventRows(eventsOf("Node", "", name)))),
    );
  }

  replace(main, h("h1", {}, "Node ", h("span", { class: "name" }, name)), details);
  update();
  return { update, unmount: () => {} };
}
