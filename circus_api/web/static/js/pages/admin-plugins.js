// /admin/plugins: registered plug-ins and their run configuration (limits of each job's container).

import { api } from "../api.js";
import { $, h } from "../dom.js";
import { FieldError, formDialog } from "../forms.js";
import { DataTable } from "../table.js";
import { badge } from "./admin-common.js";

const MEMORY = /^\d+(\.\d+)?\s*[bkmg]?$/i;

function cadFields() {
  return [
    { name: "plugin", label: "Plug-in", type: "readonly" },
    { name: "timeout", label: "Timeout (s)", type: "number", min: 0, step: 1, help: "A job running longer is stopped and fails. 0: no limit." },
    { name: "gpus", label: "GPUs", help: "Docker's --gpus value: empty for none, “all”, or device IDs such as “device=0,1”." },
    { name: "memory", label: "Memory", placeholder: "default", help: "Memory limit such as 4g or 512m; empty for the job manager's default." },
    { name: "cpus", label: "CPUs", type: "number", min: 0, step: 0.5, help: "CPU limit (e.g. 2 or 0.5); empty for the default." },
  ];
}

function cadBody(values) {
  const run = {};
  if (values.timeout !== null && values.timeout !== undefined) {
    if (!Number.isInteger(values.timeout) || values.timeout < 0) throw new FieldError("timeout", "A whole number of seconds.");
    run.timeout = values.timeout;
  }
  run.gpus = (values.gpus || "").trim();
  const memory = (values.memory || "").trim();
  if (memory) {
    if (!MEMORY.test(memory)) throw new FieldError("memory", "A size such as 4g, 512m or a number of bytes.");
    run.memory = /^\d+$/.test(memory) ? Number(memory) : memory.toLowerCase().replace(/\s+/g, "");
  }
  if (values.cpus !== null && values.cpus !== undefined) {
    if (!(values.cpus > 0)) throw new FieldError("cpus", "More than 0.");
    run.cpus = values.cpus;
  }
  return { runConfiguration: run };
}

async function editRunConfiguration(plugin) {
  const run = plugin.runConfiguration || {};
  const url = `/admin/plugins/${encodeURIComponent(plugin.pluginId)}`;
  const label = `${plugin.pluginName} ${plugin.version}`;
  const remote = plugin.type !== "CAD";
  const saved = await formDialog({
    title: `Run configuration of ${label}`,
    fields: remote
      ? [{ name: "plugin", label: "Plug-in", type: "readonly" },
        { name: "runConfiguration", label: "Run configuration", type: "json", rows: 10, help: "A remote plug-in's adapter and its parameters." }]
      : cadFields(),
    values: remote ? { plugin: label, runConfiguration: run } : { plugin: label, ...run, memory: run.memory === undefined ? "" : String(run.memory) },
    submit: (values) => api.patch(url, remote ? { runConfiguration: values.runConfiguration } : cadBody(values), { quiet: true }),
  });
  if (saved) table.reload();
}

function runSummary(p) {
  const run = p.runConfiguration || {};
  if (p.type !== "CAD") return h("span", { class: "muted" }, run.adapter ? `adapter ${run.adapter}` : "");
  return [
    `timeout ${run.timeout ?? "default"}`,
    run.gpus ? ` · GPUs ${run.gpus}` : "",
    run.memory !== undefined ? ` · memory ${run.memory}` : "",
    run.cpus !== undefined ? ` · CPUs ${run.cpus}` : "",
  ].join("");
}

const table = new DataTable($("#table"), {
  name: "Plug-ins",
  endpoint: "/admin/plugins",
  clientSide: true,
  urlState: true,
  columns: [
    { key: "pluginName", label: "Name", sortable: true },
    { key: "version", label: "Version", sortable: true, className: "mono" },
    { key: "type", label: "Type", sortable: true, render: (p) => badge(p.type, p.type === "CAD" ? "neutral" : "warn") },
    { key: "description", label: "Description", className: "clip" },
    { key: "pluginId", label: "Plug-in ID", className: "mono", render: (p) => p.pluginId.slice(0, 16) + "…", title: (p) => p.pluginId, text: (p) => p.pluginId },
    { key: "runConfiguration", label: "Run configuration", render: runSummary, text: (p) => JSON.stringify(p.runConfiguration || {}) },
  ],
  rowKey: (p) => p.pluginId,
  sort: { key: "pluginName", order: 1 },
  filters: [
    { name: "q", label: "Search", placeholder: "name, version, ID" },
    { name: "type", label: "Type", type: "select", options: [["", "Any"], ["CAD", "CAD"], ["CAD+remote", "CAD+remote"]] },
  ],
  onOpen: editRunConfiguration,
  rowActions: [{ label: "Run configuration", run: editRunConfiguration }],
  empty: "No plug-in matches. Register one with `circus plugin register IMAGE`.",
});
