// /admin/quarantine: uploads the importer refused, newest first; a row opens its rejected entries.

import { $, h } from "../dom.js";
import * as format from "../format.js";
import { DataTable } from "../table.js";

function rejected(item) {
  const entries = item.rejectedEntries || [];
  return h("div", {},
    h("div", { class: "small muted" }, `Stored as ${item.quarantineId}/original on the server.`),
    entries.length ? h("table", { class: "matrix", style: { marginTop: "6px" } },
      h("thead", {}, h("tr", {}, h("th", { style: { width: "40%" } }, "Entry"), h("th", { style: { textAlign: "left" } }, "Reason"))),
      h("tbody", {}, entries.map((e) => h("tr", {}, h("td", { class: "mono" }, e.name), h("td", { style: { textAlign: "left" } }, e.reason))))) : null);
}

new DataTable($("#table"), {
  name: "Quarantine",
  endpoint: "/admin/quarantine",
  columns: [
    { key: "time", label: "Received", render: (q) => format.dateTime(q.time) },
    { key: "originalName", label: "File", className: "mono clip" },
    { key: "size", label: "Size", className: "num", render: (q) => format.bytes(q.size) },
    { key: "uploader", label: "Uploaded by" },
    { key: "domain", label: "Domain" },
    { key: "reason", label: "Reason", className: "clip" },
    { key: "taskId", label: "Task", className: "mono" },
  ],
  rowKey: (q) => q.quarantineId,
  detail: rejected,
  urlState: true,
  empty: "Nothing in quarantine: every upload was imported.",
});
