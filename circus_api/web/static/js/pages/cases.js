// /cases: the case search (project, tag, case ID, patient filters), MHD export of the selected
// cases with its progress and download, tag editing, and "Add to my list…".

import { showBanner } from "../api.js";
import { $ } from "../dom.js";
import { bind } from "../keys.js";
import { addToMyList } from "../my-lists.js";
import { DataTable } from "../table.js";
import { editTags, exportMhd } from "./case-actions.js";
import { CASE_COLUMNS, patientColumnWhenPresent } from "./columns.js";
import { reader } from "./research-common.js";

function escapeRegex(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const readable = (reader.projects || []).filter((p) => p.roles.includes("read"));
const allTags = [...new Set(readable.flatMap((p) => p.tags.map((t) => t.caption)))].sort();

const filters = [
  { name: "project", label: "Project", type: "select", options: [["", "Any"], ...readable.map((p) => [p.projectId, p.projectName])] },
  { name: "tag", label: "Tag", type: "select", options: [["", "Any"], ...allTags.map((t) => [t, t])] },
  { name: "caseId", label: "Case ID", placeholder: "starts with…" },
];
if (reader.canSearchPatient) {
  filters.push({ name: "patientId", label: "Patient ID", search: false }, { name: "patientName", label: "Patient name", search: false });
}

function buildFilter(v) {
  const and = [];
  if (v.project) and.push({ projectId: v.project });
  if (v.tag) and.push({ tags: v.tag });
  if (v.caseId?.trim()) and.push({ caseId: { $regex: `^${escapeRegex(v.caseId.trim())}`, $options: "i" } });
  if (reader.canSearchPatient) {
    if (v.patientId?.trim()) and.push({ "patientInfo.patientId": { $regex: escapeRegex(v.patientId.trim()), $options: "i" } });
    if (v.patientName?.trim()) and.push({ "patientInfo.patientName": { $regex: escapeRegex(v.patientName.trim()), $options: "i" } });
  }
  return and.length === 0 ? {} : and.length === 1 ? and[0] : { $and: and };
}

const area = $("#task-area");
async function exportSelected(items) {
  if (!reader.canDownloadVolume) {
    showBanner("Exporting volumes needs the downloadVolume privilege, which your groups do not grant.", { kind: "error" });
    return;
  }
  await exportMhd(items.map((c) => c.caseId), area);
}

const bulkActions = [
  { label: "Add to my list…", run: (items) => addToMyList("clinicalCases", items.map((c) => c.caseId)) },
  { label: "Tags…", run: async (items, t) => { if (await editTags(items)) t.reload({ quiet: true }); } },
];
if (reader.canDownloadVolume) bulkActions.unshift({ label: "Export MHD…", run: exportSelected });

const container = $("#table");
const table = new DataTable(container, {
  name: "Cases",
  endpoint: "/cases",
  columns: CASE_COLUMNS,
  rowKey: (c) => c.caseId,
  sort: { key: "createdAt", order: -1 },
  filters,
  buildFilter,
  selectable: true,
  bulkActions,
  onOpen: (c) => location.assign(`/cases/${encodeURIComponent(c.caseId)}`),
  rowActions: [{ label: "Open", href: (c) => `/cases/${encodeURIComponent(c.caseId)}` }],
  urlState: true,
  empty: readable.length ? "No case matches." : "No project gives you the read role: there is no case to show.",
});
patientColumnWhenPresent(table, CASE_COLUMNS, 1);

if (reader.canDownloadVolume) {
  bind("e", "Export the selected cases as MHD", () => {
    const items = table.selectedItems();
    if (!items.length) showBanner("Select cases first (x selects the row under the cursor).", { kind: "info", timeout: 5000 });
    else exportSelected(items);
  }, { group: "Cases" });
}
