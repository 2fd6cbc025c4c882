// The cluster as the pages see it: Nodes, Pods, Services, Endpoints and Events, each kept
// live by one list+watch (api.keepListed) for as long as the user is signed in. Pages
// subscribe and re-render on change (at most once per animation frame).

import { keepListed } from "./api.js";

const KINDS = {
  nodes: "/api/v1/nodes",
  pods: "/api/v1/pods",
  services: "/api/v1/services",
  endpoints: "/api/v1/endpoints",
  events: "/api/v1/events",
};

export const key = (obj) =>
  obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;

export const cluster = {
  objects: Object.fromEntries(Object.keys(KINDS).map((kind) => [kind, new Map()])),
  link: Object.fromEntries(Object.keys(KINDS).map((kind) => [kind, "connecting"])),
  // When each pod was first shown (epoch ms), for the tests' create-to-visible figure.
  firstSeen: new Map(),
};

const listeners = new Set();
let scheduled = false;
let stops = [];

function changed() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    for (const listener of listeners) listener();
  });
}

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function start() {
  stop();
  for (const [kind, path] of Object.entries(KINDS)) {
    const objects = cluster.objects[kind];
    stops.push(
      keepListed(path, {
        reset(items) {
          objects.clear();
          for (const item of items) objects.set(key(item), item);
          changed();
        },
        event(type, object) {
          if (type === "DELETED") objects.delete(key(object));
          else objects.set(key(object), object);
          changed();
        },
        state(text) {
          cluster.link[kind] = text;
          changed();
        },
      }),
    );
  }
}

export function stop() {
  for (const stopOne of stops) stopOne();
  stops = [];
  for (const objects of Object.values(cluster.objects)) objects.clear();
}

// The pods an Endpoints object points at ("ns/name" keys), ready or not.
export function endpointPods(endpoints) {
  const pods = [];
  for (const subset of (endpoints && endpoints.subsets) || []) {
    for (const [addresses, ready] of [
      [subset.addresses || [], true],
      [subset.notReadyAddresses || [], false],
    ]) {
      for (const address of addresses) {
        const ref = address.targetRef;
        pods.push({
          ip: address.ip,
          node: address.nodeName,
          ready,
          pod: ref && ref.kind === "Pod" ? `${ref.namespace || endpoints.metadata.namespace}/${ref.name}` : null,
          ports: subset.ports || [],
        });
      }
    }
  }
  return pods;
}

// The events about one object, newest first.
export function eventsOf(kind, namespace, name) {
  const found = [];
  for (const event of cluster.objects.events.values()) {
    const about = event.involvedObject || {};
    if (about.kind === kind && about.name === name && (about.namespace || "") === (namespace || "")) found.push(event);
  }
  return found.sort((a, b) => eventTime(b) - eventTime(a));
}

export function eventTime(event) {
  const when = event.lastTimestamp || event.eventTime || event.firstTimestamp || event.metadata.creationTimestamp;
  return when ? Date.parse(when) : 0;
}
