// Pieces shared by the series, case, task and my-list pages: the reader's data (page_data of
// circus_api/web/pages/series.py reader_data), cells for patients, projects and tags, and the
// "Make a case…" and "Run a plug-in…" dialogs.

import { api, showBanner } from "../api.js";
import { h, pageData } from "../dom.js";
import * as format from "../format.js";
import { FieldError, formDialog } from "../forms.js";

export const reader = pageData();
export const projectsById = new Map((reader.projects || []).map((p) => [p.projectId, p]));

export function projectsWith(role) {
  return (reader.projects || []).filter((p) => p.roles.includes(role));
}

export function pluginsWith(role) {
  return (reader.plugins || []).filter((p) => p.roles.includes(role));
}

// ---- cells --------------------------------------------------------------------------------------

/** "Name · ID · 41 y M": what the API returned of a patient (nothing when it returned nothing). */
export function patientCell(info) {
  if (!info) return "";
  const extra = [info.patientId, info.age !== undefined && info.age !== null ? `${info.age} y` : null, info.sex].filter(Boolean).join(" · ");
  return h("span", { class: "patient" }, h("span", { class: "patient-name" }, info.patientName || "—"),
    extra ? h("span", { class: "muted small" }, ` ${extra}`) : null);
}

export function patientText(info) {
  return info ? [info.patientName, info.patientId].filter(Boolean).join(" ") : "";
}

export function projectBadge(projectId) {
  const project = projectsById.get(projectId);
  if (!project) return h("span", { class: "mono muted", title: projectId }, projectId.slice(0, 8));
  const icon = project.icon || {};
  return h("span", { class: "project-badge", title: project.description || project.projectName },
    h("span", { class: "project-swatch", style: { background: icon.backgroundColor || "var(--accent)", color: icon.color || "#fff" } },
      (project.projectName || "?").slice(0, 1).toUpperCase()),
    project.projectName);
}

export function tagColor(projectId, tag) {
  const project = projectsById.get(projectId);
  return project?.tags?.find((t) => t.caption === tag)?.color || null;
}

export function tagChips(projectId, tags) {
  return (tags || []).map((tag) => {
    const color = tagColor(projectId, tag);
    return h("span", { class: "chip tag" }, color ? h("span", { class: "tag-dot", style: { background: color } }) : null, tag);
  });
}

/** "1-10" -> 10 (the number of images of a range string). */
export function imageCount(images) {
  return String(images || "").split(",").filter(Boolean).reduce((n, part) => {
    const [a, b] = part.split("-").map(Number);
    return n + (Number.isFinite(b) ? b - a + 1 : 1);
  }, 0);
}

/** The first contiguous segment [start, end] of a range string. */
export function firstSegment(images) {
  const part = String(images || "").split(",")[0] || "1";
  const [a, b] = part.split("-").map(Number);
  return [a, Number.isFinite(b) ? b : a];
}

export function shortId(id) {
  return id && id.length > 12 ? `${id.slice(0, 10)}…` : id || "";
}

export function seriesSummary(series) {
  return [series.modality, series.seriesDescription || "(no description)", `${imageCount(series.images)} images`,
    format.date(series.seriesDate)].filter(Boolean).join(" · ");
}

// ---- Make a case… -------------------------------------------------------------------------------

function tagPicker(projectSelect) {
  const box = h("div", { class: "check-list", id: "f-tags", role: "group" });
  const fill = () => {
    box.replaceChildren();
    const project = projectsById.get(projectSelect.value);
    for (const tag of project?.tags || []) {
      box.append(h("label", {}, h("input", { type: "checkbox", value: tag.caption }),
        h("span", { class: "tag-dot", style: { background: tag.color } }), tag.caption));
    }
    if (!project?.tags?.length) box.append(h("span", { class: "muted" }, "This project has no tags."));
  };
  projectSelect.addEventListener("change", fill);
  fill();
  return box;
}

/** "Make a case…" of one or more series (automatic partial volumes); opens the new case. */
export async function makeCase(seriesList) {
  const projects = projectsWith("write");
  if (!projects.length) {
    showBanner("You cannot create cases: no project gives you the write role.", { kind: "error" });
    return null;
  }
  const last = localStorage.getItem("circus:last-project");
  const initial = projects.some((p) => p.projectId === last) ? last : projects[0].projectId;
  let projectSelect;
  const result = await formDialog({
    title: seriesList.length === 1 ? "Make a case of this series" : `Make a case of ${seriesList.length} series`,
    submitLabel: "Create case",
    fields: [
      {
        name: "projectId", label: "Project", type: "custom",
        render: () => (projectSelect = h("select", { id: "f-projectId" }, projects.map((p) => h("option", { value: p.projectId, selected: p.projectId === initial }, p.projectName)))),
        read: (el) => el.value,
      },
      { name: "tags", label: "Tags", type: "custom", render: () => tagPicker(projectSelect),
        read: (el) => [...el.querySelectorAll("input:checked")].map((i) => i.value) },
      { name: "series", label: "Series", type: "custom",
        render: () => h("ol", { class: "plain-list", id: "f-series" }, seriesList.map((s) => h("li", {},
          h("div", {}, seriesSummary(s)), h("div", { class: "mono faint small clip-line" }, s.seriesUid)))),
        read: () => seriesList.map((s) => ({ seriesUid: s.seriesUid, partialVolumeDescriptor: "auto" })),
        help: "Each series enters the case whole (its first image range), ordered head to foot." },
    ],
    submit: (values) => api.post("/cases", values, { quiet: true }),
  });
  if (result) {
    localStorage.setItem("circus:last-project", projectSelect.value);
    location.assign(`/cases/${encodeURIComponent(result.caseId)}`);
  }
  return result;
}

// ---- Run a plug-in… -----------------------------------------------------------------------------

function rangeField(series) {
  const [start, end] = firstSegment(series.images);
  return {
    name: "partialVolumeDescriptor", label: "Images", type: "custom",
    render() {
      const auto = h("input", { type: "radio", name: "pvd-mode", value: "auto", checked: true });
      const manual = h("input", { type: "radio", name: "pvd-mode", value: "range" });
      const number = (name, value, label) => h("input", { type: "number", name, value, class: "narrow", "aria-label": label, step: 1 });
      const inputs = [number("start", start, "First image"), number("end", end, "Last image"), number("delta", 1, "Step")];
      const range = h("div", { class: "range-inputs" }, "from ", inputs[0], " to ", inputs[1], " step ", inputs[2]);
      const sync = () => inputs.forEach((i) => (i.disabled = auto.checked));
      auto.addEventListener("change", sync);
      manual.addEventListener("change", sync);
      sync();
      return h("div", { id: "f-partialVolumeDescriptor", class: "stack" },
        h("label", { class: "radio" }, auto, ` Automatic: images ${start}–${end}, head to foot`),
        h("label", { class: "radio" }, manual, " A range of images"), range);
    },
    read(el) {
      if (el.querySelector("input[value=auto]").checked) return "auto";
      const get = (name) => Number(el.querySelector(`input[name=${name}]`).value);
      const pvd = { start: get("start"), end: get("end"), delta: get("delta") };
      if (![pvd.start, pvd.end, pvd.delta].every(Number.isInteger) || pvd.start < 1 || pvd.end < 1 || pvd.delta === 0) {
        throw new FieldError("partialVolumeDescriptor", "Give whole image numbers and a non-zero step.");
      }
      return pvd;
    },
  };
}

/** "Run a plug-in…" on one series; shows a link to the new job. */
export async function runPlugin(series) {
  const plugins = pluginsWith("executePlugin");
  if (!plugins.length) {
    showBanner("No plug-in gives you the right to run it.", { kind: "error" });
    return null;
  }
  const result = await formDialog({
    title: "Run a plug-in",
    submitLabel: "Run",
    intro: seriesSummary(series),
    fields: [
      { name: "pluginId", label: "Plug-in", type: "select", required: true,
        options: plugins.map((p) => [p.pluginId, `${p.pluginName} ${p.version}`.trim()]) },
      rangeField(series),
      { name: "priority", label: "Priority", type: "number", help: "Higher runs first; 0 is normal.", step: 1 },
      { name: "force", label: "Again", type: "checkbox", caption: "Run even if the same job exists already" },
    ],
    values: { priority: 0, force: false },
    submit: (values) => {
      const body = { pluginId: values.pluginId, series: [{ seriesUid: series.seriesUid, partialVolumeDescriptor: values.partialVolumeDescriptor }] };
      if (values.priority) body.priority = values.priority;
      if (values.force) body.force = true;
      return api.post("/plugin-jobs", body, { quiet: true });
    },
  });
  if (result) {
    showBanner("The plug-in job is in the queue.", { kind: "ok", link: { href: `/jobs/${encodeURIComponent(result.jobId)}`, label: "Open the job" } });
  }
  return result;
}
