// A Service's page: its addresses and ports, its endpoints (linked to their pods), and on
// every node the iptables chains that implement it with their live packet and byte
// counters, read from the node's explain endpoint
// (GET /api/v1/nodes/{node}/proxy/explain/service/{namespace}/{name}) every two seconds
// while the page is open; a master without that endpoint gets a note instead.

import { get } from "./api.js";
import { cluster, endpointPods, eventsOf } from "./cluster.js";
import { EVENT_HEADINGS, eventRows, facts, h, nodeHref, podHref, replace, section, table } from "./dom.js";

const REFRESH_MS = 2000;

function chainsOf(explained) {
  return h(
    "div",
    { class: "chains", "data-explain-node": explained.node },
    (explained.chains || []).map((chain) =>
      h(
        "div",
        { class: "chain", "data-chain": chain.name },
        h("h3", {}, chain.name),
        table(
          ["Rule", "Target", "Packets", "Bytes"],
          (chain.rules || []).map((rule) => [h("code", {}, rule.rule), rule.target, String(rule.packets), String(rule.bytes)]),
          { class: "rules" },
        ),
      ),
    ),
    // Where in Kajitori these rules come from: the explain view doubles as a map of the code.
    explained.source ? h("p", { class: "muted" }, `rules laid out by ${explained.source}${explained.writer ? `, written by ${explained.writer}` : ""}`) : null,
  );
}

export function mountService(main, [namespace, name]) {
  const id = `${namespace}/${name}`;
  const details = h("div", {});
  const rules = h("div", { class: "explain" }, h("p", { class: "muted" }, "asking the nodes…"));
  let timer = null;
  let stopped = false;

  async function explain() {
    const nodes = [...cluster.objects.nodes.keys()].sort();
    const answers = await Promise.all(
      nodes.map(async (node) => {
        const path = `/api/v1/nodes/${encodeURIComponent(node)}/proxy/explain/service/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
        try {
          return { node, explained: await get(path) };
        } catch (error) {
          return { node, error };
        }
      }),
    );
    if (stopped) return;
    const blocks = answers.map(({ node, explained, error }) =>
      h(
        "div",
        { class: "explain-node" },
        h("h3", {}, "on ", h("a", { href: nodeHref(node) }, node)),
        explained
          ? chainsOf(explained)
          : h("p", { class: "note", "data-explain-missing": node }, `explain endpoint not available (${error.code ? `HTTP ${error.code}` : error.message})`),
      ),
    );
    replace(rules, blocks.length ? blocks : h("p", { class: "muted" }, "no nodes to ask"));
    timer = setTimeout(explain, REFRESH_MS);
  }

  function update() {
    const service = cluster.objects.services.get(id);
    if (!service) {
      replace(details, h("p", { class: "muted" }, `service ${id} is not (or no longer) there`));
      return;
    }
    const spec = service.spec || {};
    const lb = ((service.status && service.status.loadBalancer && service.status.loadBalancer.ingress) || []).map((i) => i.ip || i.hostname);
    const targets = endpointPods(cluster.objects.endpoints.get(id));
    replace(
      details,
      section(
        "Service",
        facts([
          ["Type", spec.type || "ClusterIP"],
          ["Cluster IP", spec.clusterIP],
          ["External IP", [...lb, ...(spec.externalIPs || [])].join(", ")],
          ["Selector", Object.entries(spec.selector || {}).map(([k, v]) => `${k}=${v}`).join(", ")],
          ["DNS name", `${name}.${namespace}.svc.cluster.local`],
        ]),
        table(
          ["Name", "Port", "Target port", "Node port", "Protocol"],
          (spec.ports || []).map((p) => [p.name || "", String(p.port), String(p.targetPort ?? p.port), p.nodePort ? String(p.nodePort) : "", p.protocol || "TCP"]),
        ),
      ),
      section(
        "Endpoints",
        table(
          ["Address", "Pod", "Node", "Ready"],
          targets.map((t) => [
            t.ip,
            t.pod ? h("a", { href: podHref(...t.pod.split("/")), "data-endpoint-pod": t.pod }, t.pod) : "",
            t.node ? h("a", { href: nodeHref(t.node) }, t.node) : "",
            t.ready ? "yes" : "no",
          ]),
        ),
      ),
      section("Events", table(EVENT_HEADINGS, eventRows(eventsOf("Service", namespace, name)))),
    );
  }

  replace(main, h("h1", {}, "Service ", h("span", { class: "name" }, id)), details, section("iptables on each node (live counters)", rules));
  update();
  explain();
  return {
    update,
    unmount: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
