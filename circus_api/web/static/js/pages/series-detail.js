// /series/:uid: the series in the viewer, its facts and DICOM parameters, and the actions
// "Run a plug-in…", "Make a case…" and "Add to my list…".

import { api } from "../api.js";
import { $, h } from "../dom.js";
import * as format from "../format.js";
import { bind } from "../keys.js";
import { addToMyList } from "../my-lists.js";
import { createViewer } from "../viewer.js";
import { imageCount, makeCase, pluginsWith, projectsWith, reader, runPlugin } from "./research-common.js";

const series = reader.series;
const params = series.parameters || {};

// ---- actions ------------------------------------------------------------------------------------

const actions = $("#page-actions");
function action(label, key, run, primary = false) {
  actions.append(h("button", { type: "button", class: `button${primary ? " primary" : ""}`, title: `${label} (${key})`, onclick: run }, label));
  bind(key, label.replace("…", ""), run, { group: "Series" });
}
action("Add to my list…", "l", () => addToMyList("series", [series.seriesUid]));
if (projectsWith("write").length) action("Make a case…", "m", () => makeCase([series]), !pluginsWith("executePlugin").length);
if (pluginsWith("executePlugin").length) action("Run a plug-in…", "p", () => runPlugin(series), true);

// ---- the viewer ---------------------------------------------------------------------------------

const box = $("#viewer");
const viewer = createViewer(box, { seriesUid: series.seriesUid });
window.circusViewer = viewer; // for the browser tests and the console
viewer.ready.then(() => box.querySelector(".circus-viewer")?.focus({ preventScroll: true }), () => {});
bind("v", "Focus the viewer (then arrows scroll)", () => box.querySelector(".circus-viewer")?.focus(), { group: "Series" });

// ---- facts --------------------------------------------------------------------------------------

function facts(rows) {
  return h("dl", { class: "facts dense" }, rows.filter(([, value]) => value !== undefined && value !== null && value !== "")
    .flatMap(([label, value, cls]) => [h("dt", {}, label), h("dd", { class: cls || null }, value)]));
}

function number(value, unit = "") {
  return typeof value === "number" ? `${Number(value.toFixed(4))}${unit}` : value;
}

const orientation = h("span", { class: "muted" }, "…");
$("#series-panel").append(
  h("h2", {}, "Series"),
  facts([
    ["Modality", series.modality],
    ["Description", series.seriesDescription],
    ["Series date", format.dateTime(series.seriesDate)],
    ["Images", `${format.number(imageCount(series.images))} (${series.images})`],
    ["Orientation", orientation],
    ["Matrix", `${series.width} × ${series.height}`],
    ["Pixel spacing", params.pixelSpacingX ? `${number(params.pixelSpacingX)} × ${number(params.pixelSpacingY)} mm` : null],
    ["Slice thickness", params.SliceThickness ? number(params.SliceThickness, " mm") : null],
    ["Body part", series.bodyPart],
    ["Equipment", [series.manufacturer, series.modelName].filter(Boolean).join(" ")],
    ["Station", series.stationName],
    ["Domain", series.domain],
    ["Imported", format.dateTime(series.createdAt)],
    ["Study UID", series.studyUid, "mono small wrap-anywhere"],
    ["Series UID", series.seriesUid, "mono small wrap-anywhere"],
  ]));

api.get(`/series/${encodeURIComponent(series.seriesUid)}/orientation`, {}, { quiet: true })
  .then((r) => { orientation.textContent = r.orientation; orientation.className = ""; })
  .catch(() => { orientation.textContent = "unknown"; });

// patient information: only what the API returned (spec 2.4)
const patient = series.patientInfo;
if (patient && Object.keys(patient).length) {
  const panel = $("#patient-panel");
  panel.hidden = false;
  panel.append(h("h2", {}, "Patient"), facts([
    ["Name", patient.patientName],
    ["Patient ID", patient.patientId, "mono"],
    ["Age", patient.age !== undefined ? `${patient.age} y` : null],
    ["Sex", patient.sex],
    ["Birth date", patient.birthDate],
    ["Height", patient.size ? `${patient.size} m` : null],
    ["Weight", patient.weight ? `${patient.weight} kg` : null],
  ]));
}

const keys = Object.keys(params).sort();
const filter = h("input", { type: "search", placeholder: "Filter parameters", "aria-label": "Filter parameters", class: "param-filter", "data-search": "" });
const tbody = h("tbody", {}, keys.map((key) => h("tr", { dataset: { key: key.toLowerCase() } },
  h("td", { class: "muted" }, key), h("td", { class: "mono wrap-anywhere" }, Array.isArray(params[key]) ? params[key].join(" \\ ") : String(params[key])))));
filter.addEventListener("input", () => {
  const q = filter.value.trim().toLowerCase();
  for (const tr of tbody.rows) tr.hidden = Boolean(q) && !tr.dataset.key.includes(q) && !tr.textContent.toLowerCase().includes(q);
});
$("#parameters-panel").append(
  h("details", { class: "params" }, h("summary", {}, h("b", {}, "DICOM parameters"), h("span", { class: "muted" }, ` ${keys.length}`)),
    keys.length ? [filter, h("table", { class: "param-table" }, tbody)] : h("p", { class: "muted" }, "None recorded.")));
