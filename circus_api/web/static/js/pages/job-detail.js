// /jobs/:jobId: one plug-in job.
//
// While the job waits or runs, its status, progress (with the plug-in's message) and log tail
// come live from GET /api/plugin-jobs/:jobId/events (server-sent events; if the stream breaks,
// the page polls the job instead). A failed job shows its error message first. A finished job
// shows the viewer on its first volume (the job's partial volume descriptor, the plug-in's
// display window) and the results rendered per the plug-in's display strategy, with the
// feedback form (static/js/feedback/review.js); then the feedback entries, the attachments
// (images inline) and the job log.

import { api, showBanner, showError } from "../api.js";
import { $, clear, h, pageData } from "../dom.js";
import * as format from "../format.js";
import { confirmDialog } from "../forms.js";
import { bind } from "../keys.js";
import { IMAGE_FILE, readerName } from "../feedback/common.js";
import { Review, summarizeEntry } from "../feedback/review.js";
import { ViewerHost } from "../feedback/viewer-host.js";
import { ACTIVE, TERMINAL, pluginIcon, pluginLabel, pvdText, runTime, shortUid, statusBadge } from "./jobs-common.js";

const data = pageData();
const jobId = data.jobId;
const plugins = new Map(data.plugins.map((p) => [p.pluginId, p]));
const jobUrl = `/plugin-jobs/${encodeURIComponent(jobId)}`;
const LOG_FILE = "plugin-log.txt";
const MAX_TAIL_LINES = 400;
const POLL_MS = 4000;

let job = null;
let plugin = null;
let roles = new Set();
let attachments = [];
let events = null;
let pollTimer = null;
let review = null;
let viewerHost = null;
let logUnbind = () => {};
const live = { progress: null, message: "", lines: [], replay: null, prefilled: false };

const attachmentUrl = (path) => `/api${jobUrl}/attachment/${path.split("/").map(encodeURIComponent).join("/")}`;

// ---- loading -------------------------------------------------------------------------------------

async function loadJob() {
  job = await api.get(jobUrl, undefined, { quiet: true });
  roles = new Set(data.roles[job.pluginId] || []);
  if (!plugin || plugin.pluginId !== job.pluginId) {
    try {
      plugin = await api.get(`/plugins/${encodeURIComponent(job.pluginId)}`, undefined, { quiet: true });
    } catch {
      plugin = { pluginId: job.pluginId, pluginName: pluginLabel(plugins, job.pluginId), version: "", displayStrategy: [] };
    }
  }
  return job;
}

async function loadAttachments() {
  try {
    attachments = await api.get(`${jobUrl}/attachment`, undefined, { quiet: true });
  } catch {
    attachments = [];
  }
  return attachments;
}

const files = () => attachments.filter((path) => !attachments.some((other) => other.startsWith(`${path}/`)));

// ---- header ----------------------------------------------------------------------------------------

function renderHeader() {
  $("#job-title").replaceChildren(pluginIcon(plugin, 24), h("span", {}, plugin.pluginName || "Plug-in job"),
    plugin.version ? h("span", { class: "muted version" }, plugin.version) : null);
  document.title = `${plugin.pluginName || "Plug-in job"} · ${job.status} · circus`;
  $("#job-status").replaceChildren(statusBadge(job.status));
  const facts = [
    h("span", {}, "Requested by ", h("b", { title: job.userEmail }, readerName(job.userEmail))),
    h("span", {}, "registered ", h("time", { datetime: job.createdAt, title: job.createdAt }, format.dateTime(job.createdAt))),
    job.startedAt ? h("span", {}, "started ", h("time", { title: job.startedAt }, format.dateTimeSeconds(job.startedAt))) : null,
    job.finishedAt ? h("span", {}, "finished ", h("time", { title: job.finishedAt }, format.dateTimeSeconds(job.finishedAt))) : null,
    runTime(job) ? h("span", { id: "run-time" }, `${job.status === "processing" ? "running for" : "ran"} ${runTime(job)}`) : null,
  ];
  const series = (job.series || []).map((s, index) => h("span", { class: "job-series" },
    (job.series.length > 1 ? `${index}: ` : ""),
    h("a", { class: "mono", href: `/series/${encodeURIComponent(s.seriesUid)}`, title: s.seriesUid }, shortUid(s.seriesUid, 24)),
    h("span", { class: "muted" }, ` ${pvdText(s.partialVolumeDescriptor)}`)));
  $("#job-facts").replaceChildren(h("div", { class: "fact-line" }, facts.filter(Boolean).flatMap((f, i) => (i ? [h("span", { class: "sep" }, "·"), f] : [f]))),
    h("div", { class: "fact-line" }, h("span", { class: "faint" }, "Series"), series));
  renderActions();
}

function renderActions() {
  const box = clear($("#job-actions"));
  if (job.status === "in_queue" && roles.has("executePlugin")) {
    box.append(h("button", { type: "button", class: "button danger", id: "cancel-job", onclick: cancelJob }, "Cancel job"));
  }
  if (job.status === "finished" && roles.has("manageJobs")) {
    box.append(h("button", { type: "button", class: "button danger", id: "invalidate-job", onclick: invalidateJob }, "Invalidate…"));
  }
  if (job.status === "finished" || job.status === "failed" || job.status === "invalidated") {
    if (roles.has("executePlugin")) {
      const params = new URLSearchParams();
      for (const s of job.series || []) params.append("series", s.seriesUid);
      params.set("plugin", job.pluginId);
      box.append(h("a", { class: "button", href: `/jobs/new?${params}`, title: "Start a new job with the same plug-in and series" }, "Run again…"));
    }
  }
}

async function cancelJob() {
  const ok = await confirmDialog({ title: "Cancel this job", message: "The job leaves the queue and will not run.", confirmLabel: "Cancel job", danger: true });
  if (!ok) return;
  try {
    await api.patch(jobUrl, { status: "cancelled" });
    showBanner("The job is cancelled.", { kind: "ok", timeout: 5000 });
    await refresh();
  } catch (error) {
    if (error.name !== "ApiError") showError(error);
    await refresh();
  }
}

async function invalidateJob() {
  const ok = await confirmDialog({
    title: "Invalidate this job",
    message: ["Invalidated results stay readable but are marked as not to be used.", "A new job with the same plug-in and series can then be registered."],
    confirmLabel: "Invalidate", danger: true,
  });
  if (!ok) return;
  try {
    await api.patch(jobUrl, { status: "invalidated" });
    showBanner("The job is invalidated.", { kind: "ok", timeout: 5000 });
    await refresh();
  } catch (error) {
    if (error.name !== "ApiError") showError(error);
  }
}

// ---- live status ------------------------------------------------------------------------------------

function renderLive() {
  const box = $("#job-live");
  box.hidden = !ACTIVE.has(job.status);
  if (box.hidden) {
    clear(box);
    return;
  }
  if (!box.firstChild) {
    box.append(h("section", { class: "panel live-panel" },
      h("div", { class: "live-head" },
        h("div", { class: "live-title" }, h("span", { class: "live-state", id: "live-state" }), h("span", { class: "muted", id: "live-message" })),
        h("span", { class: "muted small", id: "live-percent" })),
      h("div", { class: "bar", id: "live-bar", role: "progressbar", "aria-label": "Progress" }, h("div", { class: "bar-fill" })),
      h("div", { class: "live-foot muted small", id: "live-foot" }),
      h("details", { class: "log-panel", open: true, id: "live-log-panel" },
        h("summary", {}, "Log ", h("span", { class: "faint small" }, "(latest lines)")),
        h("pre", { class: "log-tail", id: "live-log", tabIndex: 0 }))));
  }
  const waiting = job.status === "in_queue";
  $("#live-state").textContent = waiting ? "Waiting in the queue" : "Processing";
  const message = waiting ? "A job manager takes it when a slot is free." : live.message || "The plug-in is running.";
  $("#live-message").textContent = ` — ${message}`;
  const bar = $("#live-bar");
  const known = !waiting && typeof live.progress === "number";
  bar.classList.toggle("indeterminate", !known);
  bar.firstChild.style.width = known ? `${Math.round(live.progress * 100)}%` : "";
  if (known) bar.setAttribute("aria-valuenow", String(Math.round(live.progress * 100)));
  else bar.removeAttribute("aria-valuenow");
  $("#live-percent").textContent = known ? `${Math.round(live.progress * 100)} %` : "";
  $("#live-foot").textContent = waiting ? `Registered ${format.ago(job.createdAt)}.` : job.startedAt ? `Started ${format.dateTimeSeconds(job.startedAt)} · running for ${runTime(job)}` : "";
  renderTail();
}

function renderTail() {
  const pre = $("#live-log");
  if (!pre) return;
  const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
  pre.textContent = live.lines.length ? live.lines.join("\n") : job.status === "in_queue" ? "The log starts when the job runs." : "Waiting for the first log lines…";
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

const REPLAY_WINDOW = 500;

/** The log tail: lines of the stream, after the file's lines when the page opened mid-run.
 * The stream starts where the job was when it connected and the file is read a moment later, so
 * the stream may repeat the file's last lines: while `replay` is set, incoming lines that
 * continue the file's end are dropped. */
function addLines(lines) {
  let incoming = lines.map((line) => String(line).replace(/\n$/, ""));
  if (live.replay) incoming = dropReplayed(incoming);
  live.lines.push(...incoming);
  if (live.lines.length > MAX_TAIL_LINES) live.lines.splice(0, live.lines.length - MAX_TAIL_LINES);
  renderTail();
}

function dropReplayed(batch) {
  if (!batch.length) return batch;
  const file = live.replay.file;
  const starts = live.replay.at !== undefined ? [live.replay.at]
    : Array.from({ length: Math.min(file.length, REPLAY_WINDOW) }, (_, n) => file.length - Math.min(file.length, REPLAY_WINDOW) + n);
  for (const p of starts) {
    let m = 0;
    while (m < batch.length && p + m < file.length && file[p + m] === batch[m]) m += 1;
    if (m > 0 && (m === batch.length || p + m === file.length)) {
      if (p + m === file.length) live.replay = null;
      else live.replay.at = p + m;
      return batch.slice(m);
    }
  }
  live.replay = null;
  return batch;
}

async function prefillLog() {
  // a page opened while the job runs: the log so far, then the stream's new lines
  if (live.prefilled) return;
  live.prefilled = true;
  try {
    const response = await fetch(attachmentUrl(LOG_FILE), { credentials: "same-origin" });
    if (!response.ok) return;
    const file = (await response.text()).split("\n");
    if (file.length && file[file.length - 1] === "") file.pop();
    const streamed = live.lines;
    live.lines = file.slice(-MAX_TAIL_LINES);
    live.replay = { file };
    addLines(streamed);
  } catch {
    // the stream fills the tail anyway
  }
}

function follow() {
  stopFollowing();
  if (!("EventSource" in window)) {
    poll();
    return;
  }
  events = new EventSource(`/api${jobUrl}/events`);
  events.addEventListener("status", (event) => {
    const payload = JSON.parse(event.data);
    const changed = payload.status !== job.status;
    Object.assign(job, payload);
    if (payload.status !== "processing") live.progress = null;
    if (TERMINAL.has(payload.status)) {
      stopFollowing();
      refresh();
      return;
    }
    if (changed) {
      renderHeader();
      if (payload.status === "processing") prefillLog();
    }
    renderLive();
  });
  events.addEventListener("progress", (event) => {
    const payload = JSON.parse(event.data);
    live.progress = typeof payload.progress === "number" ? Math.max(0, Math.min(1, payload.progress)) : null;
    if (payload.message) live.message = payload.message;
    renderLive();
  });
  events.addEventListener("log", (event) => addLines(JSON.parse(event.data).lines || []));
  events.addEventListener("error", () => {
    // the browser retries by itself; a closed stream (refused, or the server went away) -> poll
    if (events && events.readyState === EventSource.CLOSED) {
      stopFollowing();
      poll();
    }
  });
}

function poll() {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(async () => {
    try {
      const before = job.status;
      await loadJob();
      if (TERMINAL.has(job.status)) {
        await refresh();
        return;
      }
      if (before !== job.status) renderHeader();
      renderLive();
    } catch {
      // keep trying
    }
    poll();
  }, POLL_MS);
}

function stopFollowing() {
  events?.close();
  events = null;
  clearTimeout(pollTimer);
}

// ---- failed, cancelled, finished ------------------------------------------------------------------------

function renderError() {
  const box = $("#job-error");
  box.hidden = job.status !== "failed" && job.status !== "cancelled" && job.status !== "invalidated";
  clear(box);
  if (job.status === "failed") {
    box.append(h("section", { class: "job-failure", role: "alert" },
      h("div", { class: "failure-title" }, "The job failed"),
      h("pre", { class: "failure-message" }, job.errorMessage || "No error message was recorded."),
      h("div", { class: "muted small" }, files().includes(LOG_FILE) ? "The job log below tells what happened before." : "No job log was kept.")));
  } else if (job.status === "cancelled") {
    box.append(h("div", { class: "note info job-note" }, "This job was cancelled before it ran."));
  } else if (job.status === "invalidated") {
    box.append(h("div", { class: "note warn job-note" }, "This job is invalidated: its results are kept for reference and should not be used. No feedback can be added."));
  }
}

function displayWindow(volumeId) {
  const options = job.results?.metadata?.displayOptions;
  const entry = Array.isArray(options) ? options.find((o) => Number(o.volumeId) === volumeId) : null;
  const w = entry?.window;
  return w && Number.isFinite(Number(w.level)) && Number.isFinite(Number(w.width)) ? { level: Number(w.level), width: Number(w.width) } : null;
}

function renderResults() {
  const box = $("#job-results");
  const show = job.status === "finished" || (job.status === "invalidated" && job.results);
  review?.destroy();
  review = null;
  viewerHost?.destroy();
  viewerHost = null;
  clear(box);
  box.hidden = !show;
  if (!show) return;
  const viewerBox = h("div", { class: "job-viewer", id: "job-viewer" });
  const reviewBox = h("div", { class: "job-review", id: "job-review" });
  box.append(h("div", { class: "review-layout" }, h("div", { class: "viewer-column" }, viewerBox),
    h("div", { class: "review-column" }, reviewBox, h("div", { id: "feedback-list" }))));
  viewerHost = new ViewerHost(viewerBox, job, { windowFor: displayWindow });
  viewerHost.show(0);
  review = new Review(reviewBox, {
    job, plugin, userEmail: data.userEmail, roles: [...roles], viewer: viewerHost,
    attachments: { files, url: attachmentUrl },
    preferMode: data.mode,
    onRegistered: (entries) => { job.feedbacks = entries; renderFeedbackList(); },
  });
}

// ---- extras: feedback list, attachments, log -------------------------------------------------------------

function renderExtras() {
  const box = clear($("#job-extras"));
  box.append(h("div", { id: "attachments" }), h("div", { id: "job-log" }));
  renderFeedbackList();
  renderAttachments();
  renderLog();
}

function renderFeedbackList() {
  const box = $("#feedback-list");
  if (!box) return;
  clear(box);
  if (job.status !== "finished" && job.status !== "invalidated") return;
  const entries = job.feedbacks || [];
  if (!entries.length && review && !review.collectsFeedback()) return;
  const rows = entries.map((entry) => h("tr", { dataset: { feedbackId: entry.feedbackId } },
    h("td", {}, h("span", { class: `badge ${entry.isConsensual ? "ok" : "neutral"}` }, entry.isConsensual ? "consensual" : "personal")),
    h("td", { title: entry.userEmail }, readerName(entry.userEmail), entry.userEmail === data.userEmail ? h("span", { class: "faint" }, " (you)") : null),
    h("td", {}, format.dateTime(entry.createdAt)),
    h("td", { class: "wrap" }, summarizeEntry(plugin, entry)),
    h("td", { class: "actions" }, review ? h("button", { type: "button", class: "link-button", onclick: () => review.view(entry) }, "View") : null)));
  box.append(h("section", { class: "panel extras-panel" },
    h("div", { class: "panel-head" }, h("h2", {}, "Feedback"), h("span", { class: "muted small" }, entries.length ? `${entries.length} ${entries.length === 1 ? "entry" : "entries"}` : "")),
    entries.length
      ? h("table", { class: "grid feedback-table" }, h("thead", {}, h("tr", {}, h("th", {}, "Kind"), h("th", {}, "Reader"), h("th", {}, "Registered"), h("th", {}, "Summary"), h("th", {}, ""))), h("tbody", {}, rows))
      : h("p", { class: "muted" }, "No feedback yet.")));
}

function renderAttachments() {
  const box = $("#attachments");
  clear(box);
  const list = files().filter((path) => path !== LOG_FILE);
  if (!list.length) return;
  const images = list.filter((path) => IMAGE_FILE.test(path));
  const others = list.filter((path) => !IMAGE_FILE.test(path));
  box.append(h("section", { class: "panel extras-panel" },
    h("div", { class: "panel-head" }, h("h2", {}, "Attachments"), h("span", { class: "muted small" }, `${list.length} ${list.length === 1 ? "file" : "files"}`)),
    images.length ? h("div", { class: "attachment-images" }, images.map((path) => h("figure", {},
      h("a", { href: attachmentUrl(path), target: "_blank", rel: "noopener" }, h("img", { src: attachmentUrl(path), alt: path, loading: "lazy" })),
      h("figcaption", { class: "muted small" }, path)))) : null,
    others.length ? h("ul", { class: "attachment-files" }, others.map((path) => h("li", {},
      h("a", { href: attachmentUrl(path), target: "_blank", rel: "noopener" }, path)))) : null));
}

function renderLog() {
  const box = $("#job-log");
  clear(box);
  logUnbind();
  logUnbind = () => {};
  if (!files().includes(LOG_FILE) || ACTIVE.has(job.status)) return;
  const pre = h("pre", { class: "log-full", tabIndex: 0 }, "Loading…");
  const details = h("details", { class: "panel log-panel", open: job.status === "failed" },
    h("summary", {}, h("b", {}, "Job log"), h("span", { class: "muted small" }, ` ${LOG_FILE} · `),
      h("a", { href: attachmentUrl(LOG_FILE), target: "_blank", rel: "noopener", class: "small" }, "open raw")),
    pre);
  let loaded = false;
  const load = async () => {
    if (loaded || !details.open) return;
    loaded = true;
    try {
      const response = await fetch(attachmentUrl(LOG_FILE), { credentials: "same-origin" });
      pre.textContent = response.ok ? (await response.text()) || "(empty)" : `The log cannot be read (HTTP ${response.status}).`;
    } catch {
      pre.textContent = "The log cannot be read.";
      loaded = false;
    }
  };
  details.addEventListener("toggle", load);
  box.append(details);
  load();
  logUnbind = bind("l", "Show or hide the job log", () => {
    details.open = !details.open;
    if (details.open) details.scrollIntoView({ block: "nearest" });
  }, { group: "This page" });
}

// ---- the whole page ----------------------------------------------------------------------------

async function refresh() {
  const previous = job?.status;
  await loadJob();
  await loadAttachments();
  renderHeader();
  renderError();
  renderLive();
  if (previous !== job.status || !review) renderResults();
  renderExtras();
  if (ACTIVE.has(job.status)) {
    if (!events) follow();
    if (job.status === "processing") prefillLog();
  } else {
    stopFollowing();
  }
}

async function start() {
  try {
    await refresh();
  } catch (error) {
    const message = error.status === 404 ? "There is no plug-in job with this ID." : error.status === 401 || error.status === 403
      ? "You may not see this job: it needs the “read” role on its plug-in and access to its series' domain." : error.message;
    $("#job-title").textContent = error.status === 404 ? "Job not found" : "Job not available";
    $("#job-facts").replaceChildren(h("section", { class: "empty-state" }, h("p", { class: "muted" }, message), h("a", { class: "button", href: "/jobs" }, "Back to the job list")));
  }
}

window.addEventListener("pagehide", stopFollowing);
start();
