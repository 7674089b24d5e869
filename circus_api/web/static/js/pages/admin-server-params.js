// /admin/server-params: free-form keys (JSON values) such as `domains` and `defaultDomain`.

import { api } from "../api.js";
import { $ } from "../dom.js";
import { formDialog } from "../forms.js";
import { DataTable } from "../table.js";
import { newButton } from "./admin-common.js";

const KNOWN = {
  domains: "The DICOM domains groups can be given (an array of strings).",
  defaultDomain: "The domain uploads go to by default (one of the domains).",
};

async function load() {
  const params = await api.get("/admin/server-params", {}, { quiet: true });
  const items = Object.entries(params).sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => ({ key, value }));
  return { items, totalItems: items.length, page: 1 };
}

async function edit(param) {
  const isNew = param === null;
  const saved = await formDialog({
    title: isNew ? "New server parameter" : `Edit ${param.key}`,
    submitLabel: isNew ? "Create" : "Save",
    fields: [
      isNew ? { name: "key", label: "Key", required: true, help: "Letters, digits and dashes; keys starting with _ are reserved." }
        : { name: "key", label: "Key", type: "readonly" },
      { name: "value", label: "Value (JSON)", type: "json", rows: 8, help: (!isNew && KNOWN[param.key]) || "Any JSON value." },
    ],
    values: isNew ? { value: [] } : param,
    submit: (values) => api.put("/admin/server-params", { [isNew ? values.key : param.key]: values.value }, { quiet: true }),
  });
  if (saved) table.reload();
}

const table = new DataTable($("#table"), {
  name: "Server parameters",
  load,
  columns: [
    { key: "key", label: "Key", className: "mono" },
    { key: "value", label: "Value", className: "mono wrap", render: (p) => JSON.stringify(p.value) },
    { key: "about", label: "Meaning", className: "wrap muted", render: (p) => KNOWN[p.key] || "" },
  ],
  rowKey: (p) => p.key,
  pageSizes: [200],
  pageSize: 200,
  onOpen: edit,
  rowActions: [{ label: "Edit", run: edit }],
  empty: "No server parameter is set.",
});

newButton("New parameter", () => edit(null));
