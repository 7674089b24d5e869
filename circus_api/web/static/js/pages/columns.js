// Table columns shared by the search pages and the my-list page, and the patient column that
// appears only when the API returned patient information (spec 2.4).

import { h } from "../dom.js";
import * as format from "../format.js";
import { imageCount, patientCell, patientText, projectBadge, shortId, tagChips } from "./research-common.js";

export const PATIENT_COLUMN = {
  key: "patientInfo.patientName", label: "Patient", sortable: true,
  render: (item) => patientCell(item.patientInfo), text: (item) => patientText(item.patientInfo),
};

export const SERIES_COLUMNS = [
  { key: "modality", label: "Mod.", sortable: true, className: "mono", width: "52px" },
  { key: "seriesDescription", label: "Description", sortable: true, className: "clip", render: (s) => s.seriesDescription || h("span", { class: "faint" }, "(none)") },
  { key: "seriesDate", label: "Series date", sortable: true, render: (s) => format.dateTime(s.seriesDate) },
  { key: "images", label: "Images", className: "num", render: (s) => format.number(imageCount(s.images)), title: (s) => `Image numbers ${s.images}` },
  { key: "width", label: "Matrix", className: "num muted", render: (s) => `${s.width}×${s.height}` },
  { key: "domain", label: "Domain", className: "muted" },
  { key: "createdAt", label: "Imported", sortable: true, className: "muted", render: (s) => format.dateTime(s.createdAt) },
  { key: "seriesUid", label: "Series UID", sortable: true, className: "mono clip uid" },
];

export const CASE_COLUMNS = [
  { key: "caseId", label: "Case", sortable: true, className: "mono", render: (c) => h("a", { href: `/cases/${encodeURIComponent(c.caseId)}`, title: c.caseId }, shortId(c.caseId)) },
  { key: "projectId", label: "Project", sortable: true, render: (c) => projectBadge(c.projectId) },
  { key: "tags", label: "Tags", render: (c) => tagChips(c.projectId, c.tags), text: (c) => (c.tags || []).join(" ") },
  { key: "latestRevision.status", label: "Status", render: (c) => h("span", { class: `badge ${c.latestRevision?.status === "approved" ? "ok" : "neutral"}` }, c.latestRevision?.status || "") },
  { key: "latestRevision.series", label: "Series", className: "num", render: (c) => String(c.latestRevision?.series?.length ?? "") },
  { key: "latestRevision.description", label: "Latest revision", className: "clip muted", render: (c) => c.latestRevision?.description || "" },
  { key: "createdAt", label: "Created", sortable: true, className: "muted", render: (c) => format.dateTime(c.createdAt) },
  { key: "updatedAt", label: "Updated", sortable: true, className: "muted", render: (c) => format.dateTime(c.updatedAt) },
];

const JOB_STATUS = { finished: "ok", failed: "danger", invalidated: "danger", cancelled: "neutral", processing: "warn", in_queue: "neutral" };
export const JOB_COLUMNS = [
  { key: "jobId", label: "Job", sortable: true, className: "mono", render: (j) => h("a", { href: `/jobs/${encodeURIComponent(j.jobId)}`, title: j.jobId }, shortId(j.jobId)) },
  { key: "pluginId", label: "Plug-in", className: "mono clip", render: (j) => shortId(j.pluginId) },
  { key: "status", label: "Status", sortable: true, render: (j) => h("span", { class: `badge ${JOB_STATUS[j.status] || "neutral"}` }, j.status.replace("_", " ")) },
  { key: "userEmail", label: "By", className: "muted" },
  { key: "series", label: "Series", className: "mono clip uid", render: (j) => (j.series || []).map((s) => s.seriesUid).join(", ") },
  { key: "createdAt", label: "Created", sortable: true, className: "muted", render: (j) => format.dateTime(j.createdAt) },
  { key: "finishedAt", label: "Finished", sortable: true, className: "muted", render: (j) => format.dateTime(j.finishedAt) },
];

/** Show PATIENT_COLUMN at `position` of `columns` exactly when loaded items carry patientInfo. */
export function patientColumnWhenPresent(table, columns, position = 0) {
  table.container.addEventListener("dt:loaded", () => {
    const shown = table.items.some((item) => item.patientInfo);
    const has = table.columns.includes(PATIENT_COLUMN);
    if (shown === has) return;
    table.columns = shown ? [...columns.slice(0, position), PATIENT_COLUMN, ...columns.slice(position)] : columns;
    table.renderHead();
    table.renderBody();
  });
}
