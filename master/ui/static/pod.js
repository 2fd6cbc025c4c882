// A pod's page: where it runs, its containers, its events, and a live tail of one
// container's log (pods/log?follow=true, streamed until the page is left). A delete
// button only for users whose RBAC allows deleting it.

import { allowed, follow, request } from "./api.js";
import { cluster, eventsOf } from "./cluster.js";
import { EVENT_HEADINGS, age, eventRows, facts, h, nodeHref, podStatus, replace, section, table } from "./dom.js";

const LOG_LIMIT = 64 * 1024; // characters kept on the page: a tail, not the whole log

function stateOf(status) {
  const state = status.state || {};
  if (state.running) return `Running since ${age(state.running.startedAt)}`;
  if (state.waiting) return `Waiting: ${state.waiting.reason || ""}`;
  if (state.terminated) return `Terminated: ${state.terminated.reason || ""} (exit ${state.terminated.exitCode})`;
  return "";
}

function containerRows(pod) {
  const statuses = new Map(((pod.status && pod.status.containerStatuses) || []).map((s) => [s.name, s]));
  return ((pod.spec && pod.spec.containers) || []).map((container) => {
    const status = statuses.get(container.name) || {};
    return [
      container.name,
      container.image,
      stateOf(status),
      status.ready ? "yes" : "no",
      String(status.restartCount || 0),
      (container.ports || []).map((p) => `${p.containerPort}/${p.protocol || "TCP"}`).join(", "),
    ];
  });
}

export function mountPod(main, [namespace, name]) {
  const id = `${namespace}/${name}`;
  const details = h("div", {});
  const logView = h("pre", { class: "log", "data-log": id });
  const logNote = h("span", { class: "muted" });
  const picker = h("select", { "aria-label": "container" });
  const actions = h("div", { class: "actions" });
  let stopLog = () => {};
  let shownContainers = "";
  let logFailed = false; // asked before the container ran: asked again once it runs

  function tail(container) {
    stopLog();
    logView.textContent = "";
    logNote.textContent = "following…";
    logFailed = false;
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/log?follow=true&tailLines=200&container=${encodeURIComponent(container)}`;
    stopLog = follow(
      path,
      (text) => {
        logView.textContent = (logView.textContent + text).slice(-LOG_LIMIT);
        logView.scrollTop = logView.scrollHeight;
      },
      (error) => {
        logFailed = Boolean(error);
        logNote.textContent = error ? `log: ${error.message}` : "log ended";
      },
    );
  }
  picker.addEventListener("change", () => tail(picker.value));

  allowed("delete", "pods", namespace, name).then((yes) => {
    actions.dataset.canDelete = String(yes);
    if (!yes) return;
    const button = h("button", { class: "danger", "data-action": "delete" }, "Delete pod");
    button.addEventListener("click", async () => {
      if (!confirm(`Delete pod ${id}?`)) return;
      try {
        await request("DELETE", `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`);
      } catch (error) {
        actions.append(h("span", { class: "error" }, error.message));
      }
    });
    actions.append(button);
  });

  function update() {
    const pod = cluster.objects.pods.get(id);
    if (!pod) {
      replace(details, h("p", { class: "muted" }, `pod ${id} is not (or no longer) there`));
      return;
    }
    const spec = pod.spec || {};
    const status = pod.status || {};
    const owner = (pod.metadata.ownerReferences || []).map((o) => `${o.kind}/${o.name}`).join(", ");
    replace(
      details,
      section(
        "Pod",
        facts([
          ["Status", podStatus(pod)],
          ["Node", spec.nodeName ? h("a", { href: nodeHref(spec.nodeName) }, spec.nodeName) : "not scheduled"],
          ["Pod IP", status.podIP],
          ["Host IP", status.hostIP],
          ["Controlled by", owner],
          ["Started", status.startTime ? `${age(status.startTime)} ago` : ""],
          ["Labels", Object.entries(pod.metadata.labels || {}).map(([k, v]) => `${k}=${v}`).join(", ")],
          ["Conditions", ((status.conditions || []).map((c) => `${c.type}=${c.status}`)).join(", ")],
        ]),
      ),
      section("Containers", table(["Name", "Image", "State", "Ready", "Restarts", "Ports"], containerRows(pod))),
      section("Events", table(EVENT_HEADINGS, eventRows(eventsOf("Pod", namespace, name)))),
    );
    const names = (spec.containers || []).map((c) => c.name);
    if (names.join(",") !== shownContainers) {
      shownContainers = names.join(",");
      replace(picker, names.map((n) => h("option", { value: n }, n)));
      if (names.length) tail(names[0]);
    } else if (logFailed && picker.value) {
      const status = ((pod.status && pod.status.containerStatuses) || []).find((c) => c.name === picker.value);
      if (status && status.state && status.state.running) tail(picker.value);
    }
  }

  replace(
    main,
    h("h1", {}, "Pod ", h("span", { class: "name" }, id)),
    actions,
    details,
    section("Log", h("div", { class: "log-controls" }, picker, logNote), logView),
  );
  update();
  return { update, unmount: () => stopLog() };
}
