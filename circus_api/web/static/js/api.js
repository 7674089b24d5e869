// fetch() for /api from the pages: the session cookie authenticates, this module adds the
// CSRF header (from <meta name="csrf-token">) to every state-changing request, shows the top
// progress bar while requests are in flight, and turns CIRCUS error bodies
// ({error, validationErrors}) into an ApiError shown in the page's standard banner.
//
//   import { api, showBanner } from "/static/js/api.js";
//   const page = await api.get("/admin/users", { limit: 50, sort: { createdAt: -1 } });
//   await api.patch("/preferences", { theme: "mode_black" });
//   try { await api.post("/admin/users", body, { banner: dialogBanner }); } catch (e) { /* shown already */ }
//
// Options of every call: query (object; objects/arrays of objects become JSON, arrays of
// scalars repeat the key), signal (AbortSignal), quiet (do not show the banner), banner (the
// element to show errors in; default #banner).

import { clear, h } from "./dom.js";

export class ApiError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
    this.validationErrors = (body && body.validationErrors) || [];
  }

  /** True when the session is gone (as opposed to a missing privilege, also a 401 in CIRCUS). */
  get signedOut() {
    return this.status === 401 && /^(Invalid token|Unauthorized request)/.test(this.message);
  }
}

let inFlight = 0;

/** Show the top progress bar while `promise` runs (fetches through api() do this themselves). */
export async function trackProgress(promise) {
  inFlight += 1;
  document.body.classList.add("busy");
  try {
    return await promise;
  } finally {
    inFlight -= 1;
    if (inFlight === 0) document.body.classList.remove("busy");
  }
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export function apiUrl(path, query = {}) {
  const url = new URL(path.startsWith("/api/") ? path : `/api${path}`, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value) && value.every((v) => typeof v !== "object")) {
      for (const item of value) url.searchParams.append(key, item);
    } else {
      url.searchParams.set(key, typeof value === "object" ? JSON.stringify(value) : String(value));
    }
  }
  return url;
}

async function readBody(response) {
  const type = response.headers.get("content-type") || "";
  if (response.status === 204 || response.headers.get("content-length") === "0") return null;
  if (type.includes("application/json")) return response.json();
  const text = await response.text();
  return text === "" ? null : text;
}

export async function request(method, path, { body, query, signal, quiet = false, banner } = {}) {
  const headers = { Accept: "application/json" };
  if (!["GET", "HEAD"].includes(method)) headers["X-CSRF-Token"] = csrfToken();
  let payload;
  if (body instanceof FormData || body instanceof Blob) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await trackProgress(
      fetch(apiUrl(path, query), { method, headers, body: payload, signal, credentials: "same-origin" }),
    );
  } catch (err) {
    if (err.name === "AbortError") throw err;
    const error = new ApiError(0, "The server cannot be reached. Check the connection and try again.");
    if (!quiet) showError(error, banner);
    throw error;
  }
  const data = await readBody(response).catch(() => null);
  if (!response.ok) {
    const message = (data && typeof data === "object" && data.error) || `${response.status} ${response.statusText}`;
    const error = new ApiError(response.status, message, typeof data === "object" ? data : null);
    if (!quiet) showError(error, banner);
    throw error;
  }
  return data;
}

export const api = {
  get: (path, query, options = {}) => request("GET", path, { ...options, query }),
  post: (path, body, options = {}) => request("POST", path, { ...options, body }),
  put: (path, body, options = {}) => request("PUT", path, { ...options, body }),
  patch: (path, body, options = {}) => request("PATCH", path, { ...options, body }),
  delete: (path, options = {}) => request("DELETE", path, options),
};

// ---- the standard inline banner --------------------------------------------------------------

function bannerElement(target) {
  return target || document.getElementById("banner");
}

/** Show a message in the banner (kind: "error" | "ok" | "info"); `details` is a list of lines. */
export function showBanner(message, { kind = "info", details = [], target, timeout = 0, link } = {}) {
  const el = bannerElement(target);
  if (!el) return;
  clear(el);
  el.className = `banner ${kind}`;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  const text = h("div", { class: "banner-text" }, message);
  if (link) text.append(" ", h("a", { href: link.href }, link.label));
  if (details.length) text.append(h("ul", {}, details.map((line) => h("li", {}, line))));
  el.append(text, h("button", { type: "button", class: "banner-close", "aria-label": "Dismiss", onclick: () => hideBanner(el) }, "×"));
  el.hidden = false;
  clearTimeout(el._timer);
  if (timeout) el._timer = setTimeout(() => hideBanner(el), timeout);
}

export function hideBanner(target) {
  const el = bannerElement(target);
  if (el) {
    el.hidden = true;
    clear(el);
  }
}

/** An ApiError (or any Error) in the banner, with its validation errors listed. */
export function showError(error, target) {
  if (error instanceof ApiError && error.signedOut) {
    const next = encodeURIComponent(location.pathname + location.search);
    showBanner("Your session has ended.", { kind: "error", target, link: { href: `/signin?next=${next}`, label: "Sign in again" } });
    return;
  }
  const details = (error.validationErrors || []).map((e) => e.message || `${e.dataPath} ${e.keyword}`);
  showBanner(error.message || String(error), { kind: "error", details, target });
}
