// /admin/queue: plug-in jobs waiting or being processed, in the order managers take them.

import { api } from "../api.js";
import { $, h } from "../dom.js";
import * as format from "../format.js";
import { DataTable } from "../table.js";
import { badge, everything } from "./admin-common.js";

const plugins = new Map((await everything(api, "/admin/plugins")).map((p) => [p.pluginId, `${p.pluginName} ${p.version}`]));
const STATUS = { in_queue: ["waiting", "neutral"], processing: ["processing", "ok"] };

new DataTable($("#table"), {
  name: "Queue",
  endpoint: "/admin/plugin-job-queue",
  query: (values) => ({ state: values.state }),
  filters: [{ name: "state", label: "Show", type: "select", value: "all",
    options: [["all", "Waiting and processing"], ["wait", "Waiting"], ["processing", "Processing"]] }],
  columns: [
    { key: "position", label: "#", className: "num", render: (job, t) => String((t.page - 1) * t.pageSize + t.items.indexOf(job) + 1) },
    { key: "jobId", label: "Job", className: "mono", render: (j) => h("a", { href: `/jobs/${encodeURIComponent(j.jobId)}` }, j.jobId) },
    { key: "status", label: "Status", render: (j) => badge(...(STATUS[j.status] || [j.status, "neutral"])) },
    { key: "pluginId", label: "Plug-in", render: (j) => plugins.get(j.pluginId) || j.pluginId.slice(0, 12), title: (j) => j.pluginId },
    { key: "userEmail", label: "Requested by" },
    { key: "series", label: "Series", className: "num", render: (j) => String((j.series || []).length) },
    { key: "priority", label: "Priority", className: "num", render: (j) => String(j.priority ?? 0) },
    { key: "createdAt", label: "Registered", render: (j) => format.dateTime(j.createdAt) },
    { key: "startedAt", label: "Started", render: (j) => (j.startedAt ? format.ago(j.startedAt) : "") },
  ],
  rowKey: (j) => j.jobId,
  urlState: true,
  autoRefresh: 5,
  empty: "The queue is empty.",
});
