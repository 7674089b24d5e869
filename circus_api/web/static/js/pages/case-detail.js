// /cases/:caseId: each series of the chosen revision in the viewer with its labels overlaid, the
// label list, the revision history (choose a revision to view it), the tags editor, the project.

import { api, ApiError, showBanner } from "../api.js";
import { $, clear, h } from "../dom.js";
import * as format from "../format.js";
import { bind } from "../keys.js";
import { addToMyList } from "../my-lists.js";
import { createViewer } from "../viewer.js";
import { exportMhd } from "./case-actions.js";
import { projectBadge, projectsById, reader, seriesSummary, tagColor } from "./research-common.js";

const LABEL_COLORS = ["#ff0000", "#00ff00", "#0080ff", "#ffff00", "#ff00ff", "#00ffff", "#ff8000"]; // as viewer.js

const caseId = reader.caseId;
const state = {
  case: null,
  revision: 0, // index in case.revisions
  seriesIndex: 0,
  series: new Map(), // uid -> series document (GET /api/series/:uid) or {error}
  hidden: new Set(), // label indexes hidden in the current series
  viewer: null,
  viewerKey: "",
};

function roles() {
  return new Set(projectsById.get(state.case?.projectId)?.roles || []);
}

function revisionParam() {
  const value = new URLSearchParams(location.hash.slice(1)).get("revision");
  return value === null ? null : Number.parseInt(value, 10);
}

function currentRevision() {
  return state.case.revisions[state.revision];
}

function currentEntry() {
  return currentRevision().series[state.seriesIndex];
}

async function seriesDocument(uid) {
  if (!state.series.has(uid)) {
    try {
      state.series.set(uid, await api.get(`/series/${encodeURIComponent(uid)}`, {}, { quiet: true }));
    } catch (error) {
      state.series.set(uid, { seriesUid: uid, error: error.message });
    }
  }
  return state.series.get(uid);
}

// ---- viewer -----------------------------------------------------------------------------------

function visibleLabels(entry) {
  return (entry.labels || []).map((label, k) => (state.hidden.has(k) ? { ...label, data: { ...label.data, alpha: 0 } } : label));
}

function showViewer() {
  const entry = currentEntry();
  const pvd = entry.partialVolumeDescriptor;
  const key = `${entry.seriesUid}|${pvd ? `${pvd.start},${pvd.end},${pvd.delta}` : ""}`;
  const box = $("#viewer");
  if (key !== state.viewerKey) {
    state.viewer?.destroy();
    clear(box);
    state.viewerKey = key;
    const doc = state.series.get(entry.seriesUid);
    if (doc?.error) {
      state.viewer = null;
      box.append(h("div", { class: "viewer-message" }, doc.error));
      return;
    }
    state.viewer = createViewer(box, { seriesUid: entry.seriesUid, pvd: pvd || undefined });
    window.circusViewer = state.viewer; // for the browser tests and the console
    state.viewer.ready.then(() => box.querySelector(".circus-viewer")?.focus({ preventScroll: true }), () => {});
  }
  state.viewer?.setLabels(visibleLabels(entry));
}

// ---- panels -----------------------------------------------------------------------------------

function renderTabs() {
  const tabs = $("#series-tabs");
  clear(tabs);
  const series = currentRevision().series;
  if (series.length < 2) {
    tabs.hidden = true;
    return;
  }
  tabs.hidden = false;
  series.forEach((entry, k) => {
    const doc = state.series.get(entry.seriesUid);
    tabs.append(h("button", { type: "button", role: "tab", "aria-selected": String(k === state.seriesIndex), title: entry.seriesUid,
      onclick: () => selectSeries(k) }, `${k + 1}. ${doc && !doc.error ? `${doc.modality} ${doc.seriesDescription || ""}` : entry.seriesUid}`));
  });
}

function labelCenter(label) {
  const d = label.data || {};
  const spacing = state.viewer?.metadata?.spacing || [1, 1, 1];
  const mm = (v) => v.map((x, i) => x / (spacing[i] || 1));
  if (label.type === "voxel" && d.origin && d.size) return d.origin.map((o, i) => o + d.size[i] / 2);
  if (label.type === "point" && d.location) return mm(d.location);
  if ((label.type === "cuboid" || label.type === "ellipsoid") && d.min && d.max) return mm(d.min.map((v, i) => (v + d.max[i]) / 2));
  if ((label.type === "rectangle" || label.type === "ellipse") && d.min && d.max) return mm([(d.min[0] + d.max[0]) / 2, (d.min[1] + d.max[1]) / 2, d.z]);
  if (label.type === "polyline" && d.points?.length) return mm([d.points[0][0], d.points[0][1], d.z]);
  if (label.type === "ruler" && d.start) return mm(d.start);
  return null;
}

function renderLabels() {
  const panel = $("#labels-panel");
  clear(panel);
  const entry = currentEntry();
  const labels = entry.labels || [];
  panel.append(h("div", { class: "panel-head" }, h("h2", {}, "Labels"), h("span", { class: "muted small" }, labels.length ? String(labels.length) : "")));
  if (!labels.length) {
    panel.append(h("p", { class: "empty-note" }, "This series has no label in this revision."));
    return;
  }
  panel.append(h("ul", { class: "label-list" }, labels.map((label, k) => {
    const color = label.data?.color || LABEL_COLORS[k % LABEL_COLORS.length];
    const toggle = h("input", { type: "checkbox", checked: !state.hidden.has(k), "aria-label": `Show ${label.name || `label ${k + 1}`}`,
      onchange: (e) => { if (e.target.checked) state.hidden.delete(k); else state.hidden.add(k); showViewer(); } });
    const center = labelCenter(label);
    return h("li", {}, toggle, h("span", { class: "label-swatch", style: { background: color } }),
      h("span", { class: "label-name", title: label.name || "" }, label.name || `Label ${k + 1}`),
      h("span", { class: "muted" }, label.type),
      center ? h("button", { type: "button", class: "link-button", onclick: () => state.viewer?.goTo({ x: center[0], y: center[1], z: center[2] }) }, "Go to") : null);
  })));
}

function renderRevisions() {
  const panel = $("#revisions-panel");
  clear(panel);
  const revisions = state.case.revisions;
  panel.append(h("div", { class: "panel-head" }, h("h2", {}, "Revisions"), h("span", { class: "muted small" }, String(revisions.length))));
  const items = revisions.map((rev, k) => ({ rev, k })).reverse();
  panel.append(h("ol", { class: "revision-list", reversed: true }, items.map(({ rev, k }) => h("li", {},
    h("button", { type: "button", "aria-current": String(k === state.revision), onclick: () => selectRevision(k), title: rev.description },
      h("div", { class: "rev-head" }, h("b", {}, `#${k + 1}${k === revisions.length - 1 ? " (latest)" : ""}`),
        h("span", { class: "muted" }, format.dateTime(rev.date))),
      h("div", { class: "rev-desc" }, `${rev.status} · ${rev.creator} · ${rev.description || ""}`))))));
}

function renderTags() {
  const panel = $("#tags-panel");
  clear(panel);
  const c = state.case;
  const project = projectsById.get(c.projectId);
  const canWrite = roles().has("write");
  panel.append(h("h2", {}, "Tags"));
  if (!canWrite) {
    panel.append(c.tags.length ? h("div", { class: "chips" }, c.tags.map((t) => h("span", { class: "chip tag" },
      h("span", { class: "tag-dot", style: { background: tagColor(c.projectId, t) || "var(--faint)" } }), t)))
      : h("p", { class: "empty-note" }, "No tag."));
    return;
  }
  const offered = [...new Set([...(project?.tags || []).map((t) => t.caption), ...c.tags])];
  const status = h("span", { class: "muted small", "aria-live": "polite" });
  const editor = h("div", { class: "tag-editor", id: "tag-editor" }, offered.map((tag) => h("label", {},
    h("input", { type: "checkbox", value: tag, checked: c.tags.includes(tag), onchange: () => { save.disabled = false; status.textContent = ""; } }),
    h("span", { class: "tag-dot", style: { background: tagColor(c.projectId, tag) || "var(--faint)" } }), tag)));
  const save = h("button", { type: "button", class: "button small", disabled: true, onclick: async () => {
    const tags = [...editor.querySelectorAll("input:checked")].map((i) => i.value);
    save.disabled = true;
    status.textContent = "Saving…";
    try {
      await api.put(`/cases/${encodeURIComponent(caseId)}/tags`, tags);
      c.tags = tags;
      status.textContent = "Saved.";
    } catch {
      save.disabled = false;
      status.textContent = "";
    }
  } }, "Save tags");
  if (!offered.length) panel.append(h("p", { class: "empty-note" }, "The project defines no tag."));
  else panel.append(editor, h("div", { class: "tag-editor-foot" }, save, status));
}

function renderCaseFacts() {
  const c = state.case;
  const project = projectsById.get(c.projectId);
  const panel = $("#case-panel");
  clear(panel);
  const rows = [
    ["Project", projectBadge(c.projectId)],
    ["Description", project?.description],
    ["Case ID", h("span", { class: "mono small wrap-anywhere" }, c.caseId)],
    ["Domain", (c.domains || []).join(", ")],
    ["Created", format.dateTime(c.createdAt)],
    ["Updated", format.dateTime(c.updatedAt)],
    ["Your roles", [...roles()].join(", ")],
  ].filter(([, v]) => v);
  panel.append(h("h2", {}, "Case"), h("dl", { class: "facts dense" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  const entry = currentEntry();
  const doc = state.series.get(entry.seriesUid);
  const pvd = entry.partialVolumeDescriptor;
  panel.append(h("h2", {}, "Series"), h("dl", { class: "facts dense" },
    h("dt", {}, "Series"), h("dd", {}, doc && !doc.error ? h("a", { href: `/series/${encodeURIComponent(entry.seriesUid)}` }, seriesSummary(doc)) : entry.seriesUid),
    h("dt", {}, "Images"), h("dd", {}, pvd ? `${pvd.start} → ${pvd.end}${pvd.delta !== 1 ? ` (step ${pvd.delta})` : ""}` : "all"),
    h("dt", {}, "Series UID"), h("dd", { class: "mono small wrap-anywhere" }, entry.seriesUid)));
}

function renderPatient() {
  // patient data is read from the series, as the API returns it (spec 2.4 layer 2), and shown
  // only on projects where the reader holds viewPersonalInfo (the case search's rule, layer 1)
  const panel = $("#patient-panel");
  clear(panel);
  const info = state.series.get(currentRevision().series[0]?.seriesUid)?.patientInfo;
  panel.hidden = !(info && Object.keys(info).length && roles().has("viewPersonalInfo"));
  if (panel.hidden) return;
  const rows = [["Name", info.patientName], ["Patient ID", info.patientId], ["Age", info.age !== undefined ? `${info.age} y` : null],
    ["Sex", info.sex], ["Birth date", info.birthDate]].filter(([, v]) => v);
  panel.append(h("h2", {}, "Patient"), h("dl", { class: "facts dense" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
}

function renderAll() {
  const rev = currentRevision();
  const status = $("#case-status");
  clear(status).append(h("span", { class: `badge heading-badge ${rev.status === "approved" ? "ok" : "neutral"}` }, rev.status));
  renderTabs();
  renderLabels();
  renderRevisions();
  renderTags();
  renderCaseFacts();
  renderPatient();
  showViewer();
}

async function selectRevision(k) {
  state.revision = k;
  state.seriesIndex = Math.min(state.seriesIndex, currentRevision().series.length - 1);
  state.hidden.clear();
  const latest = k === state.case.revisions.length - 1;
  history.replaceState(history.state, "", location.pathname + (latest ? "" : `#revision=${k}`));
  await Promise.all(currentRevision().series.map((s) => seriesDocument(s.seriesUid)));
  renderAll();
}

function selectSeries(k) {
  const count = currentRevision().series.length;
  state.seriesIndex = (k + count) % count;
  state.hidden.clear();
  renderAll();
}

// ---- start ------------------------------------------------------------------------------------

async function start() {
  try {
    state.case = await api.get(`/cases/${encodeURIComponent(caseId)}`, {}, { quiet: true });
  } catch (error) {
    const layout = $("#case-layout");
    clear(layout).classList.remove("viewer-layout");
    const notFound = error instanceof ApiError && error.status === 404;
    layout.append(h("section", { class: "empty-state" }, h("div", { class: "empty-code" }, String(error.status || "")),
      h("h2", {}, notFound ? "Case not found" : "This case cannot be shown"), h("p", { class: "muted" }, error.message),
      h("a", { href: "/cases" }, "Back to the cases")));
    return;
  }
  const project = projectsById.get(state.case.projectId);
  $("#crumb-project").append(project ? project.projectName : state.case.projectId);
  document.title = `Case ${caseId.slice(0, 10)} · circus`;
  const wanted = revisionParam();
  await selectRevision(Number.isInteger(wanted) && wanted >= 0 && wanted < state.case.revisions.length ? wanted : state.case.revisions.length - 1);

  const actions = $("#page-actions");
  const add = (label, key, run, primary = false) => {
    actions.append(h("button", { type: "button", class: `button${primary ? " primary" : ""}`, title: `${label} (${key})`, onclick: run }, label));
    bind(key, label.replace("…", ""), run, { group: "Case" });
  };
  add("Add to my list…", "l", () => addToMyList("clinicalCases", [caseId]));
  if (reader.canDownloadVolume) {
    add("Export MHD…", "e", () => {
      const latest = state.revision === state.case.revisions.length - 1;
      exportMhd([latest ? caseId : { caseId, revisionIndex: state.revision }], $("#task-area"),
        { revisionNote: `Revision #${state.revision + 1}${latest ? " (the latest)" : ""}: its volumes as MetaImage (.mhd + .raw) and its voxel labels.` });
    }, true);
  }
  bind("]", "Next series of the revision", () => selectSeries(state.seriesIndex + 1), { group: "Case" });
  bind("[", "Previous series of the revision", () => selectSeries(state.seriesIndex - 1), { group: "Case" });
  bind(".", "Newer revision", () => state.revision < state.case.revisions.length - 1 && selectRevision(state.revision + 1), { group: "Case" });
  bind(",", "Older revision", () => state.revision > 0 && selectRevision(state.revision - 1), { group: "Case" });
  bind("v", "Focus the viewer (then arrows scroll)", () => $("#viewer .circus-viewer")?.focus(), { group: "Case" });
}

start().catch((error) => showBanner(error.message || String(error), { kind: "error" }));
