// /jobs/new?series=<uid>[&series=...][&plugin=<id>]: start a plug-in job.
//
// The plug-ins offered are those the reader may run (readPlugin + executePlugin). Each series
// becomes one volume of the job, in list order; its images are `auto` (the first run of
// consecutive images, most superior slice first, resolved by the server) or a range checked
// here as the server does (spec 5.1) and against the series' images. Submitting posts
// /api/plugin-jobs and opens the new job's page.

import { api, hideBanner, showBanner, showError } from "../api.js";
import { $, clear, h, pageData } from "../dom.js";
import * as format from "../format.js";
import { bind } from "../keys.js";
import { pluginIcon } from "./jobs-common.js";

const data = pageData();
const form = $("#job-form");
const seriesBox = $("#series");
const entries = []; // {uid, info, error, mode: "auto"|"range", start, end, delta, rowError}
let chosenPlugin = data.plugins.some((p) => p.pluginId === data.plugin) ? data.plugin
  : data.plugins.length === 1 ? data.plugins[0].pluginId : "";

// ---- image ranges (spec 5.1) -------------------------------------------------------------------

/** "1-64" or "1,3,5-9" -> [[1, 64]] / [[1, 1], [3, 3], [5, 9]] */
export function parseImages(text) {
  if (!text) return [];
  return String(text).split(",").filter(Boolean).map((part) => {
    const [a, b] = part.split("-").map(Number);
    return [a, b === undefined ? a : b];
  });
}

function hasImage(segments, n) {
  return segments.some(([a, b]) => n >= a && n <= b);
}

/** An error message for a descriptor, or "" when it is valid and inside `images`. */
export function pvdError({ start, end, delta }, images) {
  const ints = [start, end, delta];
  if (ints.some((v) => v === null || v === undefined || Number.isNaN(v))) return "Give start, end and step.";
  if (!ints.every(Number.isInteger)) return "Whole numbers only.";
  if (start < 1 || end < 1) return "Image numbers start at 1.";
  if (delta === 0) return "The step cannot be 0.";
  if (start !== end && Math.sign(end - start) !== Math.sign(delta)) {
    return start > end ? "From a higher to a lower image number the step must be negative." : "The step must be positive when start < end.";
  }
  if ((end - start) % delta !== 0) return `The end is not reached from the start in steps of ${delta}.`;
  if (start === end && delta === -1) return "A single image needs step 1.";
  const segments = parseImages(images);
  if (segments.length) {
    for (let n = start; delta > 0 ? n <= end : n >= end; n += delta) {
      if (!hasImage(segments, n)) return `Image ${n} is not in this series (images ${images}).`;
    }
  }
  return "";
}

// ---- plug-ins ----------------------------------------------------------------------------------

function renderPlugins() {
  const box = clear($("#plugins"));
  if (!data.plugins.length) {
    box.append(h("p", { class: "muted" }, "You may not run any plug-in. An administrator grants “execute” on a plug-in through a group."));
    return;
  }
  for (const p of data.plugins) {
    const input = h("input", { type: "radio", name: "pluginId", value: p.pluginId, checked: p.pluginId === chosenPlugin,
      onchange: () => { chosenPlugin = p.pluginId; writeUrl(); updateSubmit(); } });
    box.append(h("label", { class: "plugin-choice", title: p.pluginId }, input, pluginIcon(p, 28),
      h("span", { class: "plugin-choice-text" },
        h("span", { class: "plugin-choice-name" }, p.pluginName, " ", h("span", { class: "muted" }, p.version)),
        h("span", { class: "muted small" }, p.description || ""))));
  }
}

// ---- series ------------------------------------------------------------------------------------

function firstSegment(images) {
  const [segment] = parseImages(images);
  return segment || [1, 1];
}

async function addSeries(uid, { focus = false } = {}) {
  uid = uid.trim();
  if (!uid) return;
  if (!/^\d+(\.\d+)+$/.test(uid) || uid.length > 64) {
    showBanner(`“${uid}” is not a DICOM UID.`, { kind: "error" });
    return;
  }
  if (entries.some((e) => e.uid === uid)) {
    showBanner("This series is in the list already.", { kind: "info", timeout: 4000 });
    return;
  }
  if (entries.length >= data.maxSeries) {
    showBanner(`A job takes at most ${data.maxSeries} series here.`, { kind: "error" });
    return;
  }
  const entry = { uid, info: null, error: "", mode: "auto", start: 1, end: 1, delta: 1, rowError: "" };
  entries.push(entry);
  renderSeries();
  writeUrl();
  try {
    entry.info = await api.get(`/series/${encodeURIComponent(uid)}`, undefined, { quiet: true });
    [entry.start, entry.end] = firstSegment(entry.info.images);
  } catch (error) {
    entry.error = error.status === 404 ? "No such series." : error.message;
  }
  renderSeries();
  if (focus) seriesBox.querySelector(`[data-uid="${CSS.escape(uid)}"] input`)?.focus();
}

function move(entry, by) {
  const i = entries.indexOf(entry);
  const j = i + by;
  if (j < 0 || j >= entries.length) return;
  [entries[i], entries[j]] = [entries[j], entries[i]];
  renderSeries();
  writeUrl();
}

function remove(entry) {
  entries.splice(entries.indexOf(entry), 1);
  renderSeries();
  writeUrl();
}

function numberInput(entry, key, label) {
  return h("label", { class: "pvd-field" }, h("span", {}, label),
    h("input", { type: "number", step: 1, value: entry[key], class: "narrow", "aria-label": `${label} of ${entry.uid}`,
      disabled: entry.mode !== "range",
      oninput: (e) => { entry[key] = e.target.value === "" ? null : Number(e.target.value); validateRow(entry); } }));
}

function validateRow(entry) {
  entry.rowError = entry.mode === "range" ? pvdError(entry, entry.info?.images) : "";
  const row = seriesBox.querySelector(`[data-uid="${CSS.escape(entry.uid)}"]`);
  if (row) {
    const message = row.querySelector(".field-error");
    message.textContent = entry.rowError;
    message.hidden = !entry.rowError;
    row.querySelectorAll(".pvd-field input").forEach((input) => input.classList.toggle("invalid", Boolean(entry.rowError)));
    const count = row.querySelector(".pvd-count");
    if (count) count.textContent = entry.mode === "range" && !entry.rowError ? `${Math.floor((entry.end - entry.start) / entry.delta) + 1} images` : "";
  }
  updateSubmit();
}

function seriesDescription(entry) {
  if (entry.error) return h("span", { class: "field-error" }, entry.error);
  if (!entry.info) return h("span", { class: "muted" }, "Loading…");
  const s = entry.info;
  const patient = data.showPatient && s.patientInfo ? [s.patientInfo.patientName, s.patientInfo.patientId].filter(Boolean).join(" · ") : "";
  return h("span", { class: "series-meta" },
    h("b", {}, s.seriesDescription || "(no description)"),
    h("span", { class: "muted" }, [s.modality, s.seriesDate ? format.date(s.seriesDate) : "", `images ${s.images}`, patient].filter(Boolean).join(" · ")));
}

function renderSeries() {
  clear(seriesBox);
  $("#series-count").textContent = entries.length ? `${entries.length} ${entries.length === 1 ? "series" : "series"}` : "";
  if (!entries.length) {
    seriesBox.append(h("p", { class: "empty-series muted" }, "No series yet. Add one below, or start from a series page."));
    updateSubmit();
    return;
  }
  const list = h("ol", { class: "series-list" });
  entries.forEach((entry, index) => {
    const name = `pvd-${index}`;
    const mode = (value, caption) => h("label", {}, h("input", { type: "radio", name, value, checked: entry.mode === value,
      disabled: !entry.info,
      onchange: () => { entry.mode = value; renderSeries(); } }), h("span", {}, caption));
    list.append(h("li", { class: "series-row", dataset: { uid: entry.uid } },
      h("div", { class: "series-index", title: `Volume ${index}` }, String(index)),
      h("div", { class: "series-main" },
        h("div", { class: "mono series-uid" }, entry.uid),
        seriesDescription(entry),
        h("div", { class: "pvd-line" },
          h("span", { class: "segmented small" }, mode("auto", "Auto"), mode("range", "Image range")),
          h("span", { class: "pvd-fields" }, numberInput(entry, "start", "From"), numberInput(entry, "end", "to"), numberInput(entry, "delta", "step")),
          h("span", { class: "pvd-count muted small" })),
        h("div", { class: "field-error", hidden: true })),
      h("div", { class: "series-buttons" },
        h("button", { type: "button", class: "link-button", disabled: index === 0, onclick: () => move(entry, -1), title: "Move up" }, "↑"),
        h("button", { type: "button", class: "link-button", disabled: index === entries.length - 1, onclick: () => move(entry, 1), title: "Move down" }, "↓"),
        h("button", { type: "button", class: "link-button danger", onclick: () => remove(entry) }, "Remove"))));
  });
  seriesBox.append(list);
  entries.forEach(validateRow);
  updateSubmit();
}

async function renderRecent() {
  const box = $("#recent-series");
  try {
    const body = await api.get("/series", { limit: 6, sort: { createdAt: -1 } }, { quiet: true });
    clear(box);
    if (!body.items.length) return;
    box.append(h("div", { class: "recent-list" }, body.items.map((s) => h("button", {
      type: "button", class: "recent-series", title: s.seriesUid, onclick: () => addSeries(s.seriesUid),
    }, h("b", {}, s.seriesDescription || "(no description)"),
    h("span", { class: "muted small" }, [s.modality, s.seriesDate ? format.date(s.seriesDate) : "", `images ${s.images}`].filter(Boolean).join(" · "))))));
  } catch {
    clear(box);
  }
}

// ---- submit ------------------------------------------------------------------------------------

function problems() {
  const out = [];
  if (!chosenPlugin) out.push("Choose a plug-in.");
  if (!entries.length) out.push("Add at least one series.");
  if (entries.some((e) => e.error)) out.push("Remove the series that cannot be read.");
  if (entries.some((e) => !e.info && !e.error)) out.push("Wait until every series is loaded.");
  if (entries.some((e) => e.rowError)) out.push("Correct the image ranges.");
  return out;
}

function updateSubmit() {
  const button = $("#submit-job");
  const list = problems();
  button.disabled = list.length > 0;
  button.title = list.length ? list.join(" ") : "Start the job (ctrl+Enter)";
}

function writeUrl() {
  const params = new URLSearchParams();
  for (const e of entries) params.append("series", e.uid);
  if (chosenPlugin) params.set("plugin", chosenPlugin);
  const query = params.toString();
  history.replaceState(history.state, "", location.pathname + (query ? `?${query}` : ""));
}

async function submit(event) {
  event?.preventDefault();
  const list = problems();
  if (list.length) {
    showBanner("The job cannot start yet.", { kind: "error", details: list });
    return;
  }
  hideBanner();
  const priority = Number($("#priority").value || 0);
  if (!Number.isInteger(priority)) {
    showBanner("The priority is a whole number.", { kind: "error" });
    return;
  }
  const body = {
    pluginId: chosenPlugin,
    series: entries.map((e) => ({
      seriesUid: e.uid,
      partialVolumeDescriptor: e.mode === "auto" ? "auto" : { start: e.start, end: e.end, delta: e.delta },
    })),
    priority,
  };
  if ($("#force").checked) body.force = true;
  const button = $("#submit-job");
  button.disabled = true;
  try {
    const { jobId } = await api.post("/plugin-jobs", body);
    location.assign(`/jobs/${encodeURIComponent(jobId)}`);
  } catch (error) {
    if (error.name !== "ApiError") showError(error);
    updateSubmit();
  }
}

form.addEventListener("submit", submit);
form.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) submit(event);
});
$("#add-series").addEventListener("click", () => {
  const input = $("#add-series-uid");
  addSeries(input.value, { focus: false });
  input.value = "";
});
$("#add-series-uid").addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    event.preventDefault();
    $("#add-series").click();
  }
});
bind("ctrl+Enter", "Start the job", () => submit());

renderPlugins();
renderSeries();
for (const uid of data.series) addSeries(uid);
renderRecent();
