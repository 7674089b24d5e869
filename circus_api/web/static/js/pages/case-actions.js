// Case actions shared by /cases and /cases/:id: the MHD export (its options, then the task's
// progress and download on the page) and tag editing of many cases.

import { api, showBanner } from "../api.js";
import { clear, h } from "../dom.js";
import { FieldError, formDialog } from "../forms.js";
import { downloadUrl, progressBar, progressText, track } from "../tasks-panel.js";
import { projectsById } from "./research-common.js";

function segmented(name, options, value) {
  return {
    name, type: "custom",
    render: () => h("div", { class: "segmented", id: `f-${name}`, role: "radiogroup" }, options.map(([v, caption]) =>
      h("label", {}, h("input", { type: "radio", name: `seg-${name}`, value: v, checked: v === value }), h("span", {}, caption)))),
    read: (el) => el.querySelector("input:checked").value,
  };
}

/** A card on the page following a task: progress, outcome, and the download when it is ready. */
export function taskCard(area, taskId, name) {
  const card = h("section", { class: "panel task-card", dataset: { taskId } });
  area.prepend(card);
  const draw = (task) => {
    clear(card);
    const done = task.status === "finished";
    card.className = `panel task-card ${task.status}`;
    card.append(
      h("div", { class: "task-card-head" },
        h("b", {}, name),
        h("span", { class: `badge ${done ? "ok" : task.status === "error" ? "danger" : "neutral"}` }, done ? "ready" : task.status === "error" ? "failed" : "running"),
        h("span", { class: "task-card-actions" },
          done && task.downloadFileType ? h("a", { class: "button small primary", href: downloadUrl(taskId), download: "", "data-download": taskId }, "Download") : null,
          task.status !== "processing" ? h("button", { type: "button", class: "link-button", onclick: () => card.remove() }, "Close") : null)),
      progressBar(task, { large: true }),
      h("div", { class: `task-message${task.status === "error" ? " error" : ""}` }, progressText(task)));
  };
  draw({ taskId, name, status: "processing", message: "Starting the task." });
  const onEvent = (event) => {
    if (event.detail.task.taskId === taskId) draw(event.detail.task);
  };
  document.addEventListener("circus:task", onEvent);
  return track(taskId, { name }).then((task) => {
    document.removeEventListener("circus:task", onEvent);
    draw(task);
    return task;
  });
}

/** "Export MHD…": `refs` are case IDs or {caseId, revisionIndex}; the task is followed in `area`. */
export async function exportMhd(refs, area, { revisionNote } = {}) {
  if (refs.length > 100) {
    showBanner("At most 100 cases can be exported at a time.", { kind: "error" });
    return null;
  }
  const saved = JSON.parse(localStorage.getItem("circus:mhd-options") || "{}");
  const count = refs.length === 1 ? "1 case" : `${refs.length} cases`;
  const result = await formDialog({
    title: `Export ${count} as MHD`,
    submitLabel: "Export",
    intro: revisionNote || "Each case's latest revision: its volumes as MetaImage (.mhd + .raw) and its voxel labels.",
    fields: [
      { ...segmented("labelPackType", [["isolated", "One file per label"], ["combined", "All labels in one volume"]], saved.labelPackType || "isolated"),
        label: "Labels", help: "Combined: each voxel holds the number of the label covering it (the later label wins)." },
      { ...segmented("compressionFormat", [["tgz", ".tar.gz"], ["zip", ".zip"]], saved.compressionFormat || "tgz"), label: "Archive" },
      { ...segmented("mhdLineEnding", [["lf", "LF (Unix)"], ["crlf", "CRLF (Windows)"]], saved.mhdLineEnding || "lf"), label: "Header line ends" },
      { name: "partialVolume", label: "Volume", type: "checkbox", caption: "Only the images of each series' partial volume (default: the whole series)" },
    ],
    values: { partialVolume: Boolean(saved.partialVolume) },
    submit: async (values) => {
      const body = { caseIds: refs, ...values };
      if (!body.partialVolume) delete body.partialVolume;
      const { taskId } = await api.post("/cases/export-mhd", body, { quiet: true });
      return { taskId, values };
    },
  });
  if (!result) return null;
  localStorage.setItem("circus:mhd-options", JSON.stringify(result.values));
  const name = refs.length === 1 ? "Export a case as MHD" : `Export ${refs.length} cases as MHD`;
  return taskCard(area, result.taskId, name);
}

/** "Edit tags…" of several cases (PATCH /api/cases/tags). */
export async function editTags(cases) {
  const offered = new Map();
  for (const c of cases) {
    for (const tag of projectsById.get(c.projectId)?.tags || []) offered.set(tag.caption, tag.color);
    for (const tag of c.tags || []) if (!offered.has(tag)) offered.set(tag, null);
  }
  const result = await formDialog({
    title: `Tags of ${cases.length === 1 ? "1 case" : `${cases.length} cases`}`,
    submitLabel: "Apply",
    fields: [
      { ...segmented("operation", [["add", "Add"], ["remove", "Remove"], ["set", "Replace all with"]], "add"), label: "Operation" },
      { name: "tags", label: "Tags", type: "custom",
        render: () => h("div", { id: "f-tags", class: "stack" },
          h("div", { class: "tag-editor" }, [...offered].map(([tag, color]) => h("label", {},
            h("input", { type: "checkbox", value: tag }), h("span", { class: "tag-dot", style: { background: color || "var(--faint)" } }), tag))),
          h("input", { type: "text", name: "extra", placeholder: "Other tags, comma-separated", "aria-label": "Other tags" })),
        read: (el) => {
          const tags = [...el.querySelectorAll("input[type=checkbox]:checked")].map((i) => i.value);
          for (const extra of el.querySelector("input[name=extra]").value.split(",")) if (extra.trim()) tags.push(extra.trim());
          const unique = [...new Set(tags)];
          if (unique.some((t) => t.length > 32)) throw new FieldError("tags", "A tag has at most 32 characters.");
          if (unique.length > 10) throw new FieldError("tags", "At most 10 tags at a time.");
          return unique;
        } },
    ],
    submit: async (values) => {
      if (values.operation !== "set" && !values.tags.length) throw new FieldError("tags", "Choose at least one tag.");
      await api.patch("/cases/tags", { ...values, caseIds: cases.map((c) => c.caseId) }, { quiet: true });
      return values;
    },
  });
  if (result) showBanner(`Tags updated on ${cases.length === 1 ? "1 case" : `${cases.length} cases`}.`, { kind: "ok", timeout: 5000 });
  return result;
}
