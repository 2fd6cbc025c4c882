// The web view's entry: the sign-in form (a bearer token, kept in sessionStorage and sent
// as Authorization on every call), the live collections, and a hash router over the pages
// (#/ the cluster, #/pod/NS/NAME, #/service/NS/NAME, #/node/NAME, #/events).

import { ApiError, get, session } from "./api.js";
import * as live from "./cluster.js";
import { h, replace } from "./dom.js";
import { mountEvents } from "./events.js";
import { mountNode } from "./node.js";
import { renderOverview } from "./overview.js";
import { mountPod } from "./pod.js";
import { mountService } from "./service.js";

const main = document.getElementById("main");
const status = document.getElementById("link-status");
const signOutButton = document.getElementById("sign-out");
let page = null;

function overviewPage(target) {
  renderOverview(target);
  return { update: () => renderOverview(target), unmount: () => {} };
}

const ROUTES = { "": overviewPage, pod: mountPod, service: mountService, node: mountNode, events: mountEvents };

function route() {
  if (page) page.unmount();
  page = null;
  if (!session.token()) return showSignIn();
  const [name, ...args] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const mount = ROUTES[name] || overviewPage;
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("here", link.getAttribute("href") === `#/${name}`);
  page = mount(main, args);
}

function showLink() {
  const states = Object.entries(live.cluster.link);
  const broken = states.filter(([, text]) => text !== "live");
  status.textContent = broken.length ? broken.map(([kind, text]) => `${kind}: ${text}`).join(" · ") : "live";
  status.className = broken.length ? "link-bad" : "link-ok";
}

function showSignIn(message) {
  live.stop();
  signOutButton.hidden = true;
  status.textContent = "";
  const input = h("input", { type: "password", id: "token", name: "token", autocomplete: "off", placeholder: "bearer token", required: true });
  const form = h(
    "form",
    { id: "sign-in", class: "card" },
    h("h1", {}, "Sign in"),
    h("p", {}, "Paste a bearer token: the admin token of the master's data dir, or a ServiceAccount token (kubectl create token NAME). The page can do what that token's RBAC allows, nothing more."),
    input,
    h("button", { type: "submit" }, "Sign in"),
    message ? h("p", { class: "error", "data-sign-in-error": true }, message) : null,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    session.signIn(input.value.trim());
    try {
      await get("/api"); // any authenticated user may read discovery: a 401 here means the token is wrong
    } catch (error) {
      session.signOut();
      showSignIn(error instanceof ApiError && error.code === 401 ? "401 Unauthorized: the master does not know this token" : `cannot reach the API: ${error.message}`);
      return;
    }
    start();
  });
  replace(main, form);
  input.focus();
}

function start() {
  signOutButton.hidden = false;
  live.start();
  route();
}

session.onUnauthorized = () => {
  session.signOut();
  showSignIn("401 Unauthorized: the token is no longer accepted");
};
signOutButton.addEventListener("click", () => {
  session.signOut();
  route();
});
live.subscribe(() => {
  showLink();
  if (page) page.update();
});
window.addEventListener("hashchange", route);
window.addEventListener("resize", () => page && page.update());
// For the browser tests: when each pod was first drawn (epoch ms).
window.kajitoriFirstSeen = live.cluster.firstSeen;

if (session.token()) start();
else showSignIn();
