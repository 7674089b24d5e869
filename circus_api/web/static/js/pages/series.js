// /series: the series search (filters, paging, selection: make a case, add to a my list) and the
// upload panel (drop files, folders or archives; XMLHttpRequest progress; the import task's live
// progress; each file's outcome).

import { api, csrfToken, showBanner, trackProgress } from "../api.js";
import { $, append, clear, h } from "../dom.js";
import * as format from "../format.js";
import { bind } from "../keys.js";
import { addToMyList } from "../my-lists.js";
import { DataTable } from "../table.js";
import { progressBar, progressText, track } from "../tasks-panel.js";
import { filesFromDrop, filesFromInput, sniffAll } from "./dicom-files.js";
import { patientColumnWhenPresent, SERIES_COLUMNS } from "./columns.js";
import { makeCase, projectsWith, reader } from "./research-common.js";

const MODALITIES = ["CT", "MR", "CR", "DX", "PT", "NM", "US", "XA", "MG", "RF", "OT"];

function escapeRegex(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function contains(text) {
  return { $regex: escapeRegex(text.trim()), $options: "i" };
}

function dayStart(value, offsetDays = 0) {
  const [y, m, d] = value.split("-").map(Number);
  return { $date: new Date(y, m - 1, d + offsetDays).toISOString() };
}

function buildFilter(v) {
  const and = [];
  if (v.modality) and.push({ modality: v.modality });
  if (v.uid?.trim()) and.push({ seriesUid: contains(v.uid) });
  if (v.description?.trim()) and.push({ seriesDescription: contains(v.description) });
  if (v.from) and.push({ seriesDate: { $gte: dayStart(v.from) } });
  if (v.to) and.push({ seriesDate: { $lt: dayStart(v.to, 1) } });
  if (reader.canSearchPatient) {
    if (v.patientId?.trim()) and.push({ "patientInfo.patientId": contains(v.patientId) });
    if (v.patientName?.trim()) and.push({ "patientInfo.patientName": contains(v.patientName) });
  }
  return and.length === 0 ? {} : and.length === 1 ? and[0] : { $and: and };
}

// ---- the table ----------------------------------------------------------------------------------

const COLUMNS = SERIES_COLUMNS;

const filters = [
  { name: "modality", label: "Modality", type: "select", options: [["", "Any"], ...MODALITIES.map((m) => [m, m])] },
  { name: "description", label: "Description", placeholder: "contains…" },
  { name: "uid", label: "Series UID", placeholder: "contains…", search: false },
  { name: "from", label: "Series date from", search: false },
  { name: "to", label: "to", search: false },
];
if (reader.canSearchPatient) {
  filters.push({ name: "patientId", label: "Patient ID", search: false }, { name: "patientName", label: "Patient name", search: false });
}

const bulkActions = [{ label: "Add to my list…", run: (items) => addToMyList("series", items.map((s) => s.seriesUid)) }];
if (projectsWith("write").length) bulkActions.unshift({ label: "Make a case…", run: (items) => makeCase(items) });

const container = $("#table");
const table = new DataTable(container, {
  name: "Series",
  endpoint: "/series",
  columns: COLUMNS,
  rowKey: (s) => s.seriesUid,
  sort: { key: "createdAt", order: -1 },
  filters,
  buildFilter,
  selectable: true,
  bulkActions,
  onOpen: (s) => location.assign(`/series/${encodeURIComponent(s.seriesUid)}`),
  rowActions: [{ label: "Open", href: (s) => `/series/${encodeURIComponent(s.seriesUid)}` }],
  urlState: true,
  empty: reader.domains.length ? "No series matches." : "You have no DICOM domain: there is no series to show.",
});
for (const name of ["from", "to"]) {
  table.inputs[name].type = "date";
  table.inputs[name].max = "9999-12-31";
}

patientColumnWhenPresent(table, COLUMNS, 0);

// ---- the upload panel ---------------------------------------------------------------------------

const panel = $("#upload");
const toggle = $("#upload-toggle");
const upload = {
  info: null, // GET /api/login-info/full
  files: [], // {file, name, kind, head?, batch?, outcome?}
  state: "idle", // idle | reading | ready | sending | importing | done
  sent: 0,
  bytes: 0,
  batches: [], // {files, taskId, task}
  error: null,
};

async function loginInfo() {
  if (!upload.info) upload.info = await api.get("/login-info/full");
  return upload.info;
}

function totalBytes(files) {
  return files.reduce((n, f) => n + f.file.size, 0);
}

function sendable() {
  const max = upload.info?.uploadFileSizeMaxBytes ?? Infinity;
  return upload.files.filter((f) => (f.kind === "dicom" || f.kind === "archive") && f.file.size <= max);
}

function outcomeOf(f) {
  const max = upload.info?.uploadFileSizeMaxBytes ?? Infinity;
  if (f.kind === "other") return ["skipped", "Not DICOM: not sent"];
  if (f.kind === "unreadable") return ["skipped", "Unreadable: not sent"];
  if (f.file.size > max) return ["skipped", `Larger than the ${format.bytes(max)} limit: not sent`];
  if (f.outcome) return f.outcome;
  if (!f.batch) return ["waiting", "Ready"];
  if (f.batch.state === "sending") return ["running", "Sending"];
  if (f.batch.state === "failed") return ["error", f.batch.error];
  return ["running", "Importing"];
}

/** Per-file outcomes once a batch's task has ended (from its finish or error message). */
function settleBatch(batch, task) {
  const message = task.message || "";
  const rejected = new Map();
  const listed = message.split("quarantine): ")[1];
  if (listed) {
    for (const part of listed.replace(/(; and \d+ more)?\.$/, "").split("; ")) {
      const colon = part.indexOf(": ");
      if (colon > 0) rejected.set(part.slice(0, colon), part.slice(colon + 2));
    }
  }
  const summaryOnly = message.startsWith("Imported");
  for (const f of batch.files) {
    if (task.status === "finished") f.outcome = f.kind === "archive" ? ["ok", "Unpacked and imported"] : ["ok", "Imported"];
    else if (rejected.has(f.name)) f.outcome = ["error", `Rejected: ${rejected.get(f.name)}`];
    else if (summaryOnly) f.outcome = f.kind === "archive" ? ["warn", "Unpacked; some entries rejected"] : ["ok", "Imported"];
    else f.outcome = ["error", message || "The import failed."];
  }
}

function seriesGroups() {
  const groups = new Map();
  for (const f of upload.files) {
    if (f.kind !== "dicom" || !f.head?.seriesUid) continue;
    const group = groups.get(f.head.seriesUid) || { uid: f.head.seriesUid, modality: f.head.modality, description: f.head.seriesDescription, files: [] };
    group.files.push(f);
    groups.set(f.head.seriesUid, group);
  }
  return [...groups.values()];
}

function sendXhr(batch, domain, anonymize) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const f of batch.files) form.append("files", f.file, f.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/series/domain/${encodeURIComponent(domain)}${anonymize ? "?anonymize=true" : ""}`);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    let last = 0;
    xhr.upload.addEventListener("progress", (e) => {
      upload.sent += e.loaded - last;
      last = e.loaded;
      renderProgress();
    });
    xhr.addEventListener("load", () => {
      upload.sent += batch.bytes - last;
      if (xhr.status === 201 && xhr.response?.taskId) resolve(xhr.response.taskId);
      else reject(new Error(xhr.response?.error || `The upload failed (${xhr.status} ${xhr.statusText}).`));
    });
    xhr.addEventListener("error", () => reject(new Error("The server cannot be reached. Check the connection and try again.")));
    xhr.addEventListener("abort", () => reject(new Error("The upload was cancelled.")));
    batch.xhr = xhr;
    xhr.send(form);
  });
}

async function startUpload() {
  const files = sendable();
  const domain = $("#upload-domain")?.value;
  if (!files.length || !domain) return;
  const anonymize = $("#upload-anonymize")?.checked;
  const max = upload.info.uploadFileMax || 30;
  upload.batches = [];
  for (let i = 0; i < files.length; i += max) {
    const chunk = files.slice(i, i + max);
    const batch = { files: chunk, bytes: totalBytes(chunk), state: "waiting", taskId: null, task: null };
    chunk.forEach((f) => (f.batch = batch));
    upload.batches.push(batch);
  }
  upload.state = "sending";
  upload.sent = 0;
  upload.bytes = totalBytes(files);
  upload.error = null;
  localStorage.setItem("circus:upload-domain", domain);
  renderPanel();
  const endings = [];
  for (const batch of upload.batches) {
    batch.state = "sending";
    renderFiles();
    try {
      batch.taskId = await trackProgress(sendXhr(batch, domain, anonymize));
    } catch (error) {
      batch.state = "failed";
      batch.error = error.message;
      upload.error = error.message;
      renderFiles();
      continue;
    }
    batch.state = "importing";
    const name = upload.batches.length > 1 ? `Series import (${upload.batches.indexOf(batch) + 1}/${upload.batches.length})` : "Series import";
    batch.task = { taskId: batch.taskId, name, status: "processing", message: "Starting the task." };
    endings.push(track(batch.taskId, { name }).then((task) => {
      batch.task = task;
      batch.state = task.status;
      settleBatch(batch, task);
      renderProgress();
      renderFiles();
    }));
    if (upload.state === "sending") upload.state = "importing";
    renderProgress();
    renderFiles();
  }
  upload.state = "importing";
  renderProgress();
  await Promise.all(endings);
  upload.state = "done";
  renderPanel();
  table.reload({ quiet: true });
}

document.addEventListener("circus:task", (event) => {
  const { task } = event.detail;
  const batch = upload.batches.find((b) => b.taskId === task.taskId);
  if (!batch) return;
  if (task.status === "processing") batch.task = task;
  renderProgress();
});

async function addFiles(entries) {
  if (!entries.length || ["sending", "importing"].includes(upload.state)) return;
  if (upload.state === "done") upload.files = [];
  const known = new Set(upload.files.map((f) => `${f.name}:${f.file.size}`));
  const fresh = entries.filter((e) => !known.has(`${e.name}:${e.file.size}`));
  upload.files.push(...fresh);
  upload.state = "reading";
  renderPanel();
  await sniffAll(fresh, (done, total) => {
    const note = $("#upload-reading");
    if (note) note.textContent = `Reading ${format.number(done)} of ${format.number(total)} files…`;
  });
  upload.files.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  upload.state = "ready";
  renderPanel();
}

function resetUpload() {
  upload.files = [];
  upload.batches = [];
  upload.state = "idle";
  upload.error = null;
  renderPanel();
}

function chooser(directory) {
  const input = h("input", { type: "file", multiple: true, hidden: true, class: directory ? "folder-input" : "files-input" });
  if (directory) input.webkitdirectory = true;
  input.addEventListener("change", () => {
    addFiles(filesFromInput(input));
    input.value = "";
  });
  return input;
}

function renderProgress() {
  const box = $("#upload-progress");
  if (!box) return;
  clear(box);
  if (!["sending", "importing", "done"].includes(upload.state)) return;
  const sentShare = upload.bytes ? Math.min(1, upload.sent / upload.bytes) : 1;
  const sending = { name: "Upload", status: upload.sent >= upload.bytes ? "finished" : "processing", finished: Math.round(sentShare * 1000), total: 1000 };
  const tasks = upload.batches.filter((b) => b.task).map((b) => b.task);
  const files = upload.batches.reduce((n, b) => n + b.files.length, 0);
  const importing = {
    name: "Import",
    status: !tasks.length ? "waiting" : tasks.some((t) => t.status === "processing") ? "processing" : tasks.some((t) => t.status === "error") ? "error" : "finished",
    finished: tasks.reduce((n, t) => n + (t.status === "processing" ? t.finished || 0 : upload.batches.find((b) => b.taskId === t.taskId).files.length), 0),
    total: files,
  };
  const failedSends = upload.batches.filter((b) => b.state === "failed");
  box.append(
    h("div", { class: "upload-step" }, h("span", { class: "upload-step-name" }, "1. Send"), progressBar(sending, { large: true }),
      h("span", { class: "upload-step-text" }, `${format.bytes(Math.min(upload.sent, upload.bytes))} of ${format.bytes(upload.bytes)}`)),
    h("div", { class: "upload-step" }, h("span", { class: "upload-step-name" }, "2. Import"),
      importing.status === "waiting" ? h("div", { class: "task-bar large" }) : progressBar(importing, { large: true }),
      h("span", { class: "upload-step-text" }, importing.status === "waiting" ? "waits for the files"
        : `${format.number(Math.min(importing.finished, files))} of ${format.number(files)} files`)),
  );
  for (const task of tasks) {
    if (task.status === "processing" && upload.state !== "done") continue;
    box.append(h("div", { class: `upload-message ${task.status === "error" ? "error" : "ok"}` }, `${tasks.length > 1 ? `${task.name}: ` : ""}${progressText(task)}`));
  }
  for (const batch of failedSends) box.append(h("div", { class: "upload-message error" }, batch.error));
  const running = tasks.find((t) => t.status === "processing");
  if (running && upload.state !== "done") box.append(h("div", { class: "upload-message muted" }, progressText(running)));
}

function renderFiles() {
  const box = $("#upload-files");
  if (!box) return;
  clear(box);
  if (!upload.files.length) return;
  const groups = seriesGroups();
  const counts = { dicom: 0, archive: 0, other: 0 };
  for (const f of upload.files) counts[f.kind === "dicom" || f.kind === "archive" ? f.kind : "other"] += 1;
  const done = upload.state === "done";
  const imported = (group) => group.files.some((f) => f.outcome?.[0] === "ok");
  box.append(h("div", { class: "upload-series" }, groups.map((g) => h("div", { class: "upload-series-item" },
    h("span", { class: "badge neutral" }, g.modality || "?"), " ",
    h("b", {}, g.description || "(no description)"), h("span", { class: "muted" }, ` · ${g.files.length} file${g.files.length > 1 ? "s" : ""} · `),
    done && imported(g) ? h("a", { href: `/series/${encodeURIComponent(g.uid)}` }, "Open") : null,
    h("div", { class: "mono faint small clip-line" }, g.uid))),
  counts.archive ? h("div", { class: "upload-series-item muted" }, `${counts.archive} archive${counts.archive > 1 ? "s" : ""}: unpacked by the server`) : null));
  const LIMIT = 400;
  const rows = upload.files.slice(0, LIMIT).map((f) => {
    const [kind, text] = outcomeOf(f);
    const content = f.kind === "dicom" ? [f.head?.modality, f.head?.instanceNumber ? `#${f.head.instanceNumber}` : null].filter(Boolean).join(" ")
      : f.kind === "archive" ? f.format : "—";
    return h("tr", { class: `outcome-${kind}` },
      h("td", { class: "clip", title: f.name }, f.name),
      h("td", { class: "num muted" }, format.bytes(f.file.size)),
      h("td", { class: "muted" }, f.kind === "dicom" ? `DICOM ${content}` : f.kind === "archive" ? `Archive (${content})` : "Other"),
      h("td", { class: "outcome" }, h("span", { class: `outcome-mark ${kind}`, "aria-hidden": "true" }), text));
  });
  box.append(h("div", { class: "upload-table-wrap" }, h("table", { class: "grid compact", id: "upload-file-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "File"), h("th", { class: "num" }, "Size"), h("th", {}, "Content"), h("th", {}, "Outcome"))),
    h("tbody", {}, rows))));
  if (upload.files.length > LIMIT) box.append(h("div", { class: "muted small" }, `and ${format.number(upload.files.length - LIMIT)} more files`));
}

function renderPanel() {
  if (panel.hidden) return;
  clear(panel);
  const info = upload.info;
  const domains = info?.domains || reader.domains;
  const remembered = localStorage.getItem("circus:upload-domain");
  const preferred = domains.includes(remembered) ? remembered : info?.defaultDomain || domains[0];
  const busy = ["sending", "importing"].includes(upload.state);
  const files = sendable();
  const filesInput = chooser(false);
  const folderInput = chooser(true);
  const dropzone = h("div", { class: "dropzone", id: "dropzone", tabindex: 0, role: "button",
    "aria-label": "Drop DICOM files, folders or zip archives here, or press Enter to choose files",
    onclick: (e) => { if (!e.target.closest("button")) filesInput.click(); },
    onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); filesInput.click(); } } },
  h("div", { class: "dropzone-title" }, "Drop DICOM files, folders or .zip archives here"),
  h("div", { class: "muted" }, "or ",
    h("button", { type: "button", class: "link-button", onclick: () => filesInput.click() }, "choose files"), " · ",
    h("button", { type: "button", class: "link-button", onclick: () => folderInput.click() }, "choose a folder")),
  filesInput, folderInput);
  if (busy) dropzone.classList.add("disabled");
  if (upload.files.length) dropzone.classList.add("compact");

  const counts = upload.files.length
    ? `${format.number(files.length)} of ${format.number(upload.files.length)} files to send · ${format.bytes(totalBytes(files))}`
    : "No file chosen yet.";
  const side = h("div", { class: "upload-side" },
    h("label", { class: "field" }, h("span", { class: "label" }, "Domain"),
      domains.length ? h("select", { id: "upload-domain", disabled: busy }, domains.map((d) => h("option", { value: d, selected: d === preferred }, d)))
        : h("div", { class: "field-error" }, "You have no DICOM domain to upload to.")),
    h("label", { class: "check" }, h("input", { type: "checkbox", id: "upload-anonymize", disabled: busy }), " De-identify the files before storing them"),
    h("div", { class: "muted small", id: "upload-reading" }, upload.state === "reading" ? "Reading the files…" : counts),
    h("div", { class: "upload-buttons" },
      h("button", { type: "button", class: "button primary", id: "upload-start", disabled: busy || upload.state !== "ready" || !files.length || !domains.length,
        onclick: startUpload }, files.length ? `Upload ${format.number(files.length)} file${files.length > 1 ? "s" : ""}` : "Upload"),
      h("button", { type: "button", class: "button", disabled: busy || !upload.files.length, onclick: resetUpload }, upload.state === "done" ? "New upload" : "Clear")));

  append(panel, [
    h("div", { class: "panel-head" }, h("h2", {}, "Upload DICOM"),
      h("button", { type: "button", class: "link-button", onclick: () => showPanel(false), title: "Close (u)" }, "Close")),
    h("div", { class: "upload-grid" }, dropzone, side),
    h("div", { id: "upload-progress", class: "upload-progress" }),
    upload.error && !upload.batches.length ? h("div", { class: "field-error" }, upload.error) : null,
    h("div", { id: "upload-files" })]);
  renderProgress();
  renderFiles();
}

async function showPanel(open = panel.hidden) {
  if (!open && ["sending", "importing"].includes(upload.state)) {
    showBanner("The upload goes on; its progress is in the tasks indicator above.", { kind: "info", timeout: 6000 });
  }
  panel.hidden = !open;
  toggle?.setAttribute("aria-expanded", String(open));
  if (open) {
    try {
      await loginInfo();
    } catch {
      // shown in the banner; the page's own domains are used
    }
    renderPanel();
    $("#dropzone")?.focus();
  }
}

// leaving while files are being sent would lose them (an import that has started goes on)
window.addEventListener("beforeunload", (event) => {
  if (upload.batches.some((b) => b.state === "sending" || b.state === "waiting") && upload.state !== "done") event.preventDefault();
});

toggle?.addEventListener("click", () => showPanel());
bind("u", "Upload DICOM files", () => showPanel(), { group: "Series" });

// a drop anywhere on the page goes to the upload panel
let dragDepth = 0;
document.addEventListener("dragenter", (e) => {
  if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
  dragDepth += 1;
  document.body.classList.add("dragging-files");
  if (panel.hidden) showPanel(true);
});
document.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) document.body.classList.remove("dragging-files");
});
document.addEventListener("dragover", (e) => {
  if ([...(e.dataTransfer?.types || [])].includes("Files")) e.preventDefault();
});
document.addEventListener("drop", (e) => {
  if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
  e.preventDefault();
  dragDepth = 0;
  document.body.classList.remove("dragging-files");
  filesFromDrop(e.dataTransfer).then(addFiles);
});

if (new URLSearchParams(location.hash.slice(1)).has("upload")) showPanel(true);
