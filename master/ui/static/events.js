// Every Event of the cluster as it arrives, newest first, each linked to its object.

import { cluster, eventTime } from "./cluster.js";
import { age, h, nodeHref, podHref, replace, section, serviceHref, table } from "./dom.js";

const SHOWN = 300;

function objectLink(about) {
  const label = `${about.kind}/${about.namespace ? `${about.namespace}/` : ""}${about.name}`;
  const href =
    about.kind === "Pod" ? podHref(about.namespace, about.name) : about.kind === "Service" ? serviceHref(about.namespace, about.name) : about.kind === "Node" ? nodeHref(about.name) : null;
  return href ? h("a", { href }, label) : label;
}

export function mountEvents(main) {
  const body = h("div", {});

  function update() {
    const events = [...cluster.objects.events.values()].sort((a, b) => eventTime(b) - eventTime(a)).slice(0, SHOWN);
    replace(
      body,
      section(
        `Events (${cluster.objects.events.size}, live: ${cluster.link.events})`,
        table(
          ["Age", "Type", "Reason", "Object", "Message", "Count"],
          events.map((e) => [age(e.lastTimestamp || e.eventTime || e.metadata.creationTimestamp), e.type || "", e.reason || "", objectLink(e.involvedObject || {}), e.message || "", String(e.count || 1)]),
          { class: "events" },
        ),
      ),
    );
  }

  replace(main, h("h1", {}, "Events"), body);
  update();
  return { update, unmount: () => {} };
}
