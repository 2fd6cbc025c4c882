// Building the pages: elements from data, never from HTML strings (names, labels and
// messages come from the cluster and are shown as text, whatever they contain).

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

export const podHref = (namespace, name) => `#/pod/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
export const serviceHref = (namespace, name) => `#/service/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
export const nodeHref = (name) => `#/node/${encodeURIComponent(name)}`;

export function age(timestamp) {
  if (!timestamp) return "";
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

// kubectl's STATUS column, roughly: a waiting or terminated reason beats the phase.
export function podStatus(pod) {
  if (pod.metadata.deletionTimestamp) return "Terminating";
  for (const status of (pod.status && pod.status.containerStatuses) || []) {
    const state = status.state || {};
    if (state.waiting && state.waiting.reason) return state.waiting.reason;
    if (state.terminated && state.terminated.reason && pod.status.phase === "Running") return state.terminated.reason;
  }
  return (pod.status && pod.status.phase) || "Pending";
}

export function table(headings, rows, attributes = {}) {
  return h(
    "table",
    attributes,
    h("thead", {}, h("tr", {}, headings.map((heading) => h("th", {}, heading)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))),
  );
}

export function eventRows(events) {
  return events.map((event) => [
    event.type || "",
    event.reason || "",
    event.count > 1 ? `${age(event.lastTimestamp || event.eventTime)} (x${event.count})` : age(event.lastTimestamp || event.eventTime || event.metadata.creationTimestamp),
    (event.source && event.source.component) || event.reportingComponent || "",
    event.message || "",
  ]);
}

export const EVENT_HEADINGS = ["Type", "Reason", "Age", "From", "Message"];

export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter(([, value]) => value !== undefined && value !== null && value !== "").map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]),
  );
}
