// The reader's tasks (imports and exports) on every page: the header's indicator (#task-indicator
// in base.html) with a drop-down panel of progress bars and downloads, and the live progress
// stream that pages use to follow the tasks they start.
//
//   import { track, onTaskEvent, downloadUrl } from "/static/js/tasks-panel.js";
//   const { taskId } = await api.post("/cases/export-mhd", body);
//   const task = await track(taskId, { name: "Export 3 cases as MHD" });  // resolves when it ends
//   // task: {taskId, name, status: "finished" | "error", message, downloadFileType, ...}
//   const off = onTaskEvent((kind, task) => { ... });  // kind: "progress" | "finish" | "error" | "update"
//
// The stream is `GET /api/tasks/report` (server-sent events) read with fetch() (the session
// cookie authenticates it), open only while one of the reader's tasks is running: on load the
// module asks `/api/tasks` for tasks not dismissed; running ones are followed, recent finished
// ones are listed. If the stream cannot be opened the module polls `/api/tasks/:id` instead.
// Every event is also dispatched on `document` as CustomEvent "circus:task" {kind, task}.

import { api } from "./api.js";
import { $, clear, h } from "./dom.js";
import * as format from "./format.js";

const RECENT_MS = 30 * 60 * 1000; // finished tasks stay in the panel this long
const CLOSE_GRACE_MS = 3000;
const POLL_MS = 1500;
const RECONNECT_MS = 3000;

const tasks = new Map(); // taskId -> task state
const waiters = new Map(); // taskId -> [resolve]
const listeners = new Set();
let stream = null; // AbortController of the open stream
let closeTimer = null;
let pollTimer = null;
let streamFailed = false;

// ---- state ------------------------------------------------------------------------------------

function fromDocument(doc) {
  return {
    taskId: doc.taskId,
    name: doc.name || "Task",
    status: doc.status,
    message: (doc.status === "error" ? doc.errorMessage : doc.status === "finished" ? doc.finishedMessage : null) ?? doc.message ?? null,
    finished: null,
    total: null,
    downloadFileType: doc.downloadFileType || null,
    dismissed: Boolean(doc.dismissed),
    createdAt: doc.createdAt,
    endedAt: doc.endedAt,
  };
}

function upsert(taskId, changes) {
  const task = { ...(tasks.get(taskId) || { taskId, name: "Task", status: "processing", message: null, finished: null, total: null }), ...changes };
  tasks.set(taskId, task);
  return task;
}

function emit(kind, task) {
  for (const fn of listeners) {
    try {
      fn(kind, task);
    } catch (err) {
      console.error(err);
    }
  }
  document.dispatchEvent(new CustomEvent("circus:task", { detail: { kind, task } }));
  render();
}

function settle(task) {
  for (const resolve of waiters.get(task.taskId) || []) resolve(task);
  waiters.delete(task.taskId);
}

function running() {
  return [...tasks.values()].filter((t) => t.status === "processing");
}

/** Apply a task document (GET /api/tasks/:id) to the state. */
function applyDocument(doc) {
  const before = tasks.get(doc.taskId);
  const fresh = fromDocument(doc);
  const task = upsert(doc.taskId, { ...fresh, message: fresh.message ?? before?.message ?? null,
    finished: before?.finished ?? null, total: before?.total ?? null, startedHere: before?.startedHere });
  if (task.status !== "processing") {
    if (!before || before.status === "processing") emit(task.status === "finished" ? "finish" : "error", task);
    settle(task);
  } else {
    emit("update", task);
  }
  return task;
}

async function refresh(taskId) {
  try {
    return applyDocument(await api.get(`/tasks/${encodeURIComponent(taskId)}`, {}, { quiet: true }));
  } catch {
    return tasks.get(taskId);
  }
}

// ---- the stream -------------------------------------------------------------------------------

function onStreamEvent(kind, data) {
  if (!data || !data.taskId) return;
  const known = tasks.get(data.taskId);
  if (known && known.status !== "processing") return; // ended already (a late progress event)
  if (kind === "progress") {
    const task = upsert(data.taskId, { status: "processing", message: data.message, finished: data.finished ?? null, total: data.total ?? null });
    emit("progress", task);
    if (!known) refresh(data.taskId); // a task started elsewhere: learn its name
  } else if (kind === "finish" || kind === "error") {
    // the document tells the download type and the final message as stored; applying it
    // announces the end (once) and settles the pages waiting for it
    const ended = { status: kind === "finish" ? "finished" : "error", message: data.message, endedAt: new Date().toISOString() };
    api.get(`/tasks/${encodeURIComponent(data.taskId)}`, {}, { quiet: true })
      .then((doc) => applyDocument(doc.status === "processing" ? { ...doc, ...ended } : doc))
      .catch(() => applyDocument({ ...(tasks.get(data.taskId) || { taskId: data.taskId }), ...ended }))
      .finally(scheduleClose);
  }
}

function parseBlock(block) {
  let kind = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") kind = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return;
  try {
    onStreamEvent(kind, JSON.parse(data.join("\n")));
  } catch (err) {
    console.warn("tasks: unreadable event", err);
  }
}

async function openStream() {
  if (stream || streamFailed) return;
  const controller = new AbortController();
  stream = controller;
  try {
    const response = await fetch("/api/tasks/report", {
      headers: { Accept: "text/event-stream" }, credentials: "same-origin", signal: controller.signal, cache: "no-store",
    });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    // events of tasks that ended before the stream was open are not replayed: ask for them
    for (const task of running()) refresh(task.taskId);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer = (buffer + value).replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        parseBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } catch (err) {
    if (controller.signal.aborted) return;
    if (String(err.message).startsWith("HTTP")) streamFailed = true; // e.g. 503 without workers: poll
  } finally {
    if (stream === controller) stream = null;
  }
  if (controller.signal.aborted) return;
  if (running().length) {
    if (streamFailed) startPolling();
    else setTimeout(openStream, RECONNECT_MS);
  }
}

function scheduleClose() {
  clearTimeout(closeTimer);
  if (running().length) return;
  closeTimer = setTimeout(() => {
    if (!running().length && stream) {
      stream.abort();
      stream = null;
    }
  }, CLOSE_GRACE_MS);
}

function startPolling() {
  if (pollTimer) return;
  pollTimer = setInterval(async () => {
    const list = running();
    if (!list.length) {
      clearInterval(pollTimer);
      pollTimer = null;
      return;
    }
    for (const task of list) await refresh(task.taskId);
  }, POLL_MS);
}

function follow() {
  clearTimeout(closeTimer);
  if (streamFailed) startPolling();
  else openStream();
}

// ---- public API -------------------------------------------------------------------------------

/** Follow a task the page has just started; resolves with the task when it has ended. */
export function track(taskId, { name } = {}) {
  const task = upsert(taskId, { name: name || tasks.get(taskId)?.name || "Task", status: tasks.get(taskId)?.status || "processing",
    message: tasks.get(taskId)?.message || "Starting the task.", createdAt: new Date().toISOString(), startedHere: true });
  const done = new Promise((resolve) => {
    if (task.status !== "processing") resolve(task);
    else waiters.set(taskId, [...(waiters.get(taskId) || []), resolve]);
  });
  emit("update", task);
  follow();
  return done;
}

/** Listen to every task event; returns a function that stops listening. */
export function onTaskEvent(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The task's current state (or undefined). */
export function taskState(taskId) {
  return tasks.get(taskId);
}

export function downloadUrl(taskId) {
  return `/api/tasks/${encodeURIComponent(taskId)}/download`;
}

/** Forget a task in the panel (after the tasks page dismissed it). */
export function forget(taskId) {
  tasks.delete(taskId);
  render();
}

/** A progress bar element for a task state (used by the panel and the pages). */
export function progressBar(task, { large = false } = {}) {
  const known = task.total ? Math.max(0, Math.min(1, (task.finished || 0) / task.total)) : null;
  const bar = h("div", { class: `task-bar${large ? " large" : ""}${known === null && task.status === "processing" ? " indeterminate" : ""} ${task.status}`,
    role: "progressbar", "aria-valuemin": 0, "aria-valuemax": task.total || 100,
    "aria-valuenow": known === null ? null : task.finished || 0, "aria-label": task.name },
  h("div", { class: "task-bar-fill", style: { width: task.status === "processing" ? (known === null ? "" : `${(known * 100).toFixed(1)}%`) : "100%" } }));
  return bar;
}

export function progressText(task) {
  if (task.status === "processing") {
    const counts = task.total ? `${format.number(task.finished || 0)} / ${format.number(task.total)}` : "";
    return [task.message || "Working…", counts].filter(Boolean).join(" · ");
  }
  return task.message || (task.status === "finished" ? "Finished." : "Failed.");
}

// ---- the indicator and its panel ----------------------------------------------------------------

const indicator = $("#task-indicator");
let panelOpen = false;
let shownThisPage = false; // once shown, the indicator stays until the page is left

// ended tasks the reader has looked at (opened the panel, or the tasks page) leave the indicator
const SEEN_KEY = "circus:tasks-seen";
const seen = new Set(JSON.parse(localStorage.getItem(SEEN_KEY) || "[]"));

/** Mark every ended task (and the ended `documents` of GET /api/tasks) as seen: the indicator
 * stops announcing them. */
export function markSeen(documents = []) {
  for (const task of tasks.values()) if (task.status !== "processing") seen.add(task.taskId);
  for (const doc of documents) if (doc.status !== "processing") seen.add(doc.taskId);
  localStorage.setItem(SEEN_KEY, JSON.stringify([...seen].slice(-200)));
  render();
}

function visibleTasks() {
  const now = Date.now();
  return [...tasks.values()]
    .filter((t) => !t.dismissed && (t.status === "processing" || t.startedHere
      || (t.endedAt && now - new Date(t.endedAt).getTime() < RECENT_MS)))
    .sort((a, b) => String(b.createdAt || "").localeCompare(String(a.createdAt || "")));
}

function taskRow(task) {
  const status = task.status === "processing" ? h("span", { class: "badge neutral" }, "running")
    : task.status === "finished" ? h("span", { class: "badge ok" }, "done") : h("span", { class: "badge danger" }, "failed");
  const download = task.status === "finished" && task.downloadFileType
    ? h("a", { class: "button small primary", href: downloadUrl(task.taskId), download: "" }, "Download") : null;
  return h("li", { class: "task-item", dataset: { taskId: task.taskId } },
    h("div", { class: "task-item-head" }, h("span", { class: "task-name" }, task.name), status),
    task.status === "processing" ? progressBar(task) : null,
    h("div", { class: "task-item-foot" }, h("span", { class: `task-message${task.status === "error" ? " error" : ""}` }, progressText(task)), download));
}

function render() {
  if (!indicator) return;
  const list = visibleTasks();
  const active = list.filter((t) => t.status === "processing");
  const unseen = list.filter((t) => t.status !== "processing" && !seen.has(t.taskId));
  clear(indicator);
  if (!active.length && !unseen.length && !panelOpen && !shownThisPage) {
    panelOpen = false;
    return;
  }
  let summary;
  if (active.length) {
    const withCounts = active.filter((t) => t.total);
    const share = withCounts.length ? withCounts.reduce((s, t) => s + (t.finished || 0) / t.total, 0) / withCounts.length : null;
    summary = [h("span", { class: "spinner", "aria-hidden": "true" }),
      `${active.length} running`, share !== null ? h("span", { class: "muted" }, ` ${Math.round(share * 100)}%`) : null];
  } else {
    const failed = unseen.filter((t) => t.status === "error").length;
    const ready = unseen.filter((t) => t.status === "finished" && t.downloadFileType).length;
    summary = [h("span", { class: `dot ${failed ? "error" : unseen.length ? "ok" : "idle"}`, "aria-hidden": "true" }),
      ready ? `${ready} download${ready > 1 ? "s" : ""} ready` : failed ? `${failed} failed` : unseen.length ? "Tasks done" : "Tasks"];
  }
  const button = h("button", { type: "button", class: "task-toggle", "aria-expanded": String(panelOpen), "aria-controls": "task-panel",
    title: "Your imports and exports", onclick: (e) => { e.stopPropagation(); panelOpen = !panelOpen; if (panelOpen) markSeen(); render(); } }, summary);
  shownThisPage = true;
  const panel = h("div", { class: "task-panel", id: "task-panel", hidden: !panelOpen, role: "dialog", "aria-label": "Tasks" },
    h("div", { class: "task-panel-head" }, h("b", {}, "Tasks"), h("a", { href: "/tasks" }, "All tasks →")),
    list.length ? h("ul", { class: "task-list" }, list.slice(0, 8).map(taskRow))
      : h("p", { class: "muted task-empty" }, "Nothing running."));
  indicator.append(button, panel);
}

if (indicator) {
  document.addEventListener("click", (event) => {
    if (panelOpen && !indicator.contains(event.target)) {
      panelOpen = false;
      render();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && panelOpen) {
      panelOpen = false;
      render();
    }
  });
}

/** Open the header panel (after a page started a task, for instance). */
export function openPanel() {
  panelOpen = true;
  markSeen();
  render();
}

// ---- start: what is running or recently ended --------------------------------------------------

async function start() {
  if (!document.querySelector('meta[name="csrf-token"]')) return; // signed out
  try {
    const body = await api.get("/tasks", { filter: { dismissed: false }, limit: 10 }, { quiet: true });
    for (const doc of body.items) {
      if (tasks.has(doc.taskId)) continue;
      tasks.set(doc.taskId, fromDocument(doc));
    }
  } catch {
    return;
  }
  render();
  if (running().length) follow();
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && running().length) follow();
});

start();
