// The API as the web view uses it: every call carries the signed-in user's bearer token
// (kept in sessionStorage: gone when the tab closes), answers are JSON, errors are the
// API's Status objects. Lists are kept live the way client-go's reflector does it:
// LIST, then WATCH from the list's resourceVersion; a watch that ends is resumed from the
// last version seen, and a 410 Gone (history too old) means LIST again.

const TOKEN_KEY = "kajitori.token";

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY),
  onUnauthorized: () => {},
};

export class ApiError extends Error {
  constructor(code, status) {
    super((status && status.message) || `HTTP ${code}`);
    this.code = code;
    this.status = status;
  }
}

function headers(extra = {}) {
  return { Accept: "application/json", Authorization: `Bearer ${session.token()}`, ...extra };
}

export async function request(method, path, { signal, body } = {}) {
  const init = { method, headers: headers(body ? { "Content-Type": "application/json" } : {}), signal };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  if (!response.ok) {
    let status = null;
    try {
      status = await response.json();
    } catch {
      // not a Status: the code says enough
    }
    if (response.status === 401) session.onUnauthorized();
    throw new ApiError(response.status, status);
  }
  return response;
}

export async function get(path, options) {
  return (await request("GET", path, options)).json();
}

// Lines of a streamed answer (a watch's events, a log), as they arrive.
export async function* lines(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
    }
  }
  if (buffer) yield buffer;
}

function withQuery(path, params) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.pathname + url.search;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Keeps the objects at `path` (a list URL) live. `sink` gets reset(items) after each LIST,
// event(type, object) for each watch event, and state(text) as the link comes and goes
// ("live", "relisting", "forbidden: ...", "retrying: ..."). Returns a stop() function.
export function keepListed(path, sink) {
  const control = new AbortController();
  const { signal } = control;
  (async () => {
    let backoff = 500;
    while (!signal.aborted) {
      try {
        const list = await get(path, { signal });
        sink.reset(list.items || []);
        let version = list.metadata.resourceVersion;
        sink.state("live");
        backoff = 500;
        let gone = false;
        while (!signal.aborted && !gone) {
          const watch = withQuery(path, { watch: "1", resourceVersion: version, allowWatchBookmarks: "true" });
          const response = await request("GET", watch, { signal });
          for await (const line of lines(response)) {
            if (!line.trim()) continue;
            const { type, object } = JSON.parse(line);
            if (type === "ERROR") {
              gone = object && object.code === 410;
              if (!gone) throw new ApiError(object.code || 500, object);
              break;
            }
            version = object.metadata.resourceVersion;
            if (type !== "BOOKMARK") sink.event(type, object);
          }
          // A watch that ended without an error (its timeout) resumes from the last version seen.
        }
        if (gone) sink.state("relisting");
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ApiError && error.code === 410) {
          sink.state("relisting");
          continue;
        }
        if (error instanceof ApiError && error.code === 401) return;
        if (error instanceof ApiError && error.code === 403) {
          sink.state(`forbidden: ${error.message}`);
          sink.reset([]);
          return;
        }
        sink.state(`retrying: ${error.message}`);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 8000);
      }
    }
  })();
  return () => control.abort();
}

// Follows a streamed text answer (pods/log?follow=true): onText(chunk) as it arrives.
export function follow(path, onText, onEnd) {
  const control = new AbortController();
  (async () => {
    try {
      const response = await request("GET", path, { signal: control.signal });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        onText(value);
      }
      onEnd(null);
    } catch (error) {
      if (!control.signal.aborted) onEnd(error);
    }
  })();
  return () => control.abort();
}

// Whether the signed-in user may do `verb` on `resource` (a SelfSubjectAccessReview:
// answered, never stored), so the page offers only what RBAC allows.
export async function allowed(verb, resource, namespace, name) {
  try {
    const review = await (
      await request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes: { verb, resource, namespace, name } },
        },
      })
    ).json();
    return Boolean(review.status && review.status.allowed);
  } catch {
    return false;
  }
}
