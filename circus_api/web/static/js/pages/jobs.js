// /jobs: the plug-in jobs the reader may see, newest first, with live status while any listed
// job waits or runs (the table re-reads its page every few seconds until none does).

import { $, clear, h, pageData } from "../dom.js";
import * as format from "../format.js";
import { DataTable } from "../table.js";
import { readerName } from "../feedback/common.js";
import { ACTIVE, escapeRegex, pluginLabel, pvdShort, pvdText, runTime, shortUid, statusBadge } from "./jobs-common.js";

const data = pageData();
const plugins = new Map(data.plugins.map((p) => [p.pluginId, p]));
const LIVE_SECONDS = 3;
const DAY = 86400 * 1000;
const refreshState = $("#refresh-state");

function since(days) {
  const start = new Date();
  start.setHours(0, 0, 0, 0);
  return new Date(start.getTime() - (days - 1) * DAY);
}

function buildFilter(values) {
  const and = [];
  if (values.plugin) and.push({ pluginId: values.plugin });
  if (values.status === "active") and.push({ status: { $in: ["in_queue", "processing"] } });
  else if (values.status) and.push({ status: values.status });
  if (values.registered) and.push({ createdAt: { $gte: { $date: since(Number(values.registered)).toISOString() } } });
  const q = (values.q || "").trim();
  if (q) {
    // a job ID (or its start) or a series / study UID
    const prefix = { $regex: `^${escapeRegex(q.toLowerCase())}` };
    and.push({ $or: [{ jobId: prefix }, { seriesUid: q }, { studyUid: q }] });
  }
  if (data.showPatient) {
    if (values.patientId) and.push({ "patientInfo.patientId": { $regex: escapeRegex(values.patientId.trim()), $options: "i" } });
    if (values.patientName) and.push({ "patientInfo.patientName": { $regex: escapeRegex(values.patientName.trim()), $options: "i" } });
  }
  if (!and.length) return {};
  return and.length === 1 ? and[0] : { $and: and };
}

function seriesCell(job) {
  const series = job.series || [];
  if (!series.length) return "";
  const first = series[0];
  return h("span", { class: "series-cell" },
    h("span", { class: "mono" }, shortUid(first.seriesUid, 12)),
    h("span", { class: "muted small" }, ` ${pvdShort(first.partialVolumeDescriptor)}`),
    series.length > 1 ? h("span", { class: "chip" }, `+${series.length - 1}`) : null);
}

function feedbackCell(job) {
  const entries = job.feedbacks || [];
  const personal = entries.filter((f) => !f.isConsensual).length;
  const consensual = entries.some((f) => f.isConsensual);
  if (!entries.length) return h("span", { class: "faint" }, "—");
  return h("span", { class: "feedback-cell" },
    personal ? h("span", { title: entries.filter((f) => !f.isConsensual).map((f) => f.userEmail).join(", ") }, `${personal} personal`) : null,
    consensual ? h("span", { class: "badge ok" }, "consensual") : null);
}

function patientCell(job) {
  const info = job.patientInfo;
  if (!info) return h("span", { class: "faint" }, "—");
  return h("span", {}, info.patientName || "", info.patientId ? h("span", { class: "muted small" }, ` ${info.patientId}`) : null);
}

const columns = [
  { key: "status", label: "Status", sortable: true, render: (j) => statusBadge(j.status),
    title: (j) => (j.status === "failed" && j.errorMessage ? j.errorMessage : "") },
  { key: "pluginId", label: "Plug-in", sortable: true, render: (j) => pluginLabel(plugins, j.pluginId), title: (j) => j.pluginId },
  ...(data.showPatient ? [{ key: "patientInfo", label: "Patient", sortKey: "patientInfo.patientName", sortable: true, render: patientCell }] : []),
  { key: "series", label: "Series", render: seriesCell,
    title: (j) => (j.series || []).map((s) => `${s.seriesUid} ${pvdText(s.partialVolumeDescriptor)}`).join("\n") },
  { key: "userEmail", label: "Requested by", render: (j) => readerName(j.userEmail), title: (j) => j.userEmail },
  { key: "createdAt", label: "Registered", sortable: true, render: (j) => format.dateTime(j.createdAt), title: (j) => j.createdAt || "" },
  { key: "runTime", label: "Run time", className: "num", render: (j) => runTime(j) },
  { key: "feedbacks", label: "Feedback", render: feedbackCell },
  { key: "jobId", label: "Job ID", sortable: true, className: "mono",
    render: (j) => h("a", { href: `/jobs/${encodeURIComponent(j.jobId)}`, class: "job-link", title: j.jobId }, `${j.jobId.slice(0, 10)}…`),
    text: (j) => j.jobId },
];

const pluginOptions = [["", "Any"], ...data.plugins.map((p) => [p.pluginId, `${p.pluginName} ${p.version}`])];
const filters = [
  { name: "q", label: "Job ID or series UID", placeholder: "01h… or 1.2.840…" },
  { name: "plugin", label: "Plug-in", type: "select", options: pluginOptions },
  { name: "status", label: "Status", type: "select", options: [["", "Any"], ["active", "Waiting or running"],
    ["in_queue", "In queue"], ["processing", "Processing"], ["finished", "Finished"], ["failed", "Failed"],
    ["cancelled", "Cancelled"], ["invalidated", "Invalidated"]] },
  { name: "registered", label: "Registered", type: "select", options: [["", "Any time"], ["1", "Today"], ["7", "Last 7 days"], ["30", "Last 30 days"], ["365", "Last year"]] },
];
if (data.showPatient) {
  filters.push({ name: "patientId", label: "Patient ID", search: false, width: "140px" },
    { name: "patientName", label: "Patient name", search: false, width: "160px" });
}

const container = $("#table");
const table = new DataTable(container, {
  name: "Jobs",
  endpoint: "/plugin-jobs",
  columns,
  rowKey: (j) => j.jobId,
  sort: { key: "createdAt", order: -1 },
  filters,
  buildFilter,
  onOpen: (j) => location.assign(`/jobs/${encodeURIComponent(j.jobId)}`),
  urlState: true,
  empty: data.plugins.length ? "No job matches. Start one from a series, or with “New job…”." : "You may not read any plug-in, so no job can be shown.",
});

let live = false;
container.addEventListener("dt:loaded", () => {
  const active = table.items.filter((j) => ACTIVE.has(j.status)).length;
  if (active && !live) table.startAutoRefresh(LIVE_SECONDS);
  if (!active && live) table.stopAutoRefresh();
  live = active > 0;
  clear(refreshState);
  if (live) {
    refreshState.append(h("span", { class: "live-dot", "aria-hidden": "true" }),
      `${active} ${active === 1 ? "job" : "jobs"} waiting or running · live`);
  }
});
