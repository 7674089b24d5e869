// `LesionCandidates` (spec 7.6): the plug-in's lesion candidates as a dense table next to the
// job's viewer, with a feedback control per candidate (the `feedbackListener`, usually a Choice).
//
// Options: `dataPath` (results.lesionCandidates), `maxCandidates`, `confidenceThreshold`,
// `sortBy` ([key, "asc" | "desc"], default rank asc; `location` sorts by z), `markStyle`
// ({color, dimmedColor, radius (mm), width}), `feedbackListener` ({type, options}),
// `excludeFromActionLog`. Candidates without `id` get their array index. Visible: above the
// threshold, the top N by confidence, then sorted. Value: [{id, value}] for every visible
// candidate; valid when every one has a valid listener value.
//
// Choosing a row (a click, or j/k then Enter, or a click on its marker in the image) moves the
// viewer to the candidate and rings its marker; keys 1-9 give the listener's n-th option to the
// row under the cursor and move on to the next row.

import { h } from "../dom.js";
import * as format from "../format.js";
import { bind } from "../keys.js";
import { atPath, formatNumber, readerName } from "./common.js";
import { captionOf, choiceOptions, choiceWidget } from "./choice.js";
import { numericWidget, textWidget } from "./inputs.js";

const DEFAULT_PATH = "results.lesionCandidates";

/** The visible candidates of a definition: [{id, candidate, index}] in display order. */
export function visibleCandidates(results, options = {}) {
  const all = atPath(results, options.dataPath || DEFAULT_PATH);
  let list = (Array.isArray(all) ? all : []).map((candidate, index) => ({ id: candidate.id ?? index, candidate, index }));
  const confidence = (c) => Number(c.candidate.confidence);
  if (typeof options.confidenceThreshold === "number") list = list.filter((c) => confidence(c) >= options.confidenceThreshold);
  if (typeof options.maxCandidates === "number") {
    list = [...list].sort((a, b) => confidence(b) - confidence(a)).slice(0, options.maxCandidates);
  }
  const [key, order] = Array.isArray(options.sortBy) ? options.sortBy : ["rank", "asc"];
  const value = (c) => (key === "location" ? Number(c.candidate.location?.[2]) : c.candidate[key] ?? (key === "rank" ? c.index + 1 : undefined));
  const sign = order === "desc" ? -1 : 1;
  return [...list].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === vb) return a.index - b.index;
    if (va === undefined) return 1;
    if (vb === undefined) return -1;
    return sign * (va < vb ? -1 : 1);
  });
}

function listenerWidget(listener, args) {
  const type = listener?.type;
  if (type === "Choice") return choiceWidget(listener.options || {}, { ...args, compact: true });
  if (type === "Text") return textWidget(listener.options || {}, args);
  if (type === "Numeric") return numericWidget(listener.options || {}, args);
  return null;
}

function listenerCaption(listener, value, consensual) {
  if (listener?.type === "Choice") return captionOf(choiceOptions(listener.options || {}, consensual ? "consensual" : "personal").shown, value);
  return value === undefined || value === null ? "" : String(value);
}

function listenerColor(listener, value) {
  if (listener?.type !== "Choice") return null;
  return choiceOptions(listener.options || {}).personal.find((o) => o.value === value)?.color || null;
}

export function summarizeLesionCandidates(def, value, { consensual = false } = {}) {
  if (!Array.isArray(value)) return "";
  const counts = new Map();
  for (const item of value) {
    const caption = listenerCaption(def.options?.feedbackListener, item?.value, consensual) || "—";
    counts.set(caption, (counts.get(caption) || 0) + 1);
  }
  return [...counts].map(([caption, n]) => `${n} ${caption}`).join(" · ") || "no candidate";
}

export function createLesionCandidates(def, ctx) {
  const options = def.options || {};
  const listener = options.feedbackListener || null;
  const rows = visibleCandidates(ctx.job.results, options);
  const initial = new Map((Array.isArray(ctx.initial) ? ctx.initial : []).map((item) => [item.id, item.value]));
  const multiVolume = (ctx.job.series || []).length > 1;
  const log = (action, data) => { if (!options.excludeFromActionLog) ctx.log(action, data); };
  const markStyle = options.markStyle || {};
  let cursor = -1;
  let chosen = -1;
  const cleanups = [];

  const opinionsFor = (id) => ctx.opinions.map((o) => ({
    userEmail: o.userEmail,
    value: (Array.isArray(o.value) ? o.value : []).find((item) => item && item.id === id)?.value,
  })).filter((o) => o.value !== undefined);

  // ---- rows ----
  const tbody = h("tbody");
  const items = rows.map((row, index) => {
    const c = row.candidate;
    const widget = listener ? listenerWidget(listener, {
      mode: ctx.mode, value: initial.get(row.id), opinions: opinionsFor(row.id), editable: ctx.editable,
      label: `Candidate ${c.rank ?? index + 1}`,
      onChange: (value) => { log("candidate-feedback", { id: row.id, value }); updateCount(); ctx.onChange(); },
    }) : null;
    const location = Array.isArray(c.location) ? c.location : [];
    const extra = Object.entries(c).filter(([k]) => !["rank", "confidence", "location", "volumeSize", "volumeId", "id"].includes(k))
      .map(([k, v]) => `${k}: ${typeof v === "number" ? formatNumber(v) : JSON.stringify(v)}`).join("\n");
    const cells = [
      h("td", { class: "num rank" }, String(c.rank ?? index + 1)),
      h("td", { class: "num" }, h("span", { class: "score" }, h("span", { class: "score-track", "aria-hidden": "true" },
        h("span", { class: "score-bar", style: { width: `${Math.max(0, Math.min(1, Number(c.confidence) || 0)) * 100}%` } })),
        h("span", { class: "score-text" }, formatNumber(c.confidence, 3)))),
      h("td", { class: "mono location" }, location.map((v) => formatNumber(v, 1)).join(", ")),
      h("td", { class: "num" }, c.volumeSize !== undefined ? format.number(Math.round(Number(c.volumeSize))) : ""),
      multiVolume ? h("td", { class: "num" }, String(c.volumeId ?? 0)) : null,
      widget ? h("td", { class: "judgement" }, widget.element) : null,
    ];
    if (ctx.mode === "consensual" && listener) {
      const votes = opinionsFor(row.id);
      cells.push(h("td", { class: "readers" }, votes.length ? h("span", { class: "reader-votes" }, votes.map((o) => h("span", {
        class: "reader-vote", title: o.userEmail, style: { "--vote-color": listenerColor(listener, o.value) || "var(--border-strong)" },
      }, h("span", { class: "reader-name" }, readerName(o.userEmail)), listenerCaption(listener, o.value, false)))) : h("span", { class: "faint" }, "—")));
    }
    const tr = h("tr", { class: "clickable", dataset: { id: String(row.id), rank: String(c.rank ?? index + 1) }, title: extra || null }, cells);
    tr.addEventListener("click", (event) => {
      if (event.target.closest("button, input, select, a, label")) {
        cursor = index;
        markRows();
        return;
      }
      choose(index);
    });
    tbody.append(tr);
    return { row, widget, tr };
  });

  const head = h("tr", {},
    h("th", { class: "num", title: "Rank" }, "#"),
    h("th", { class: "num" }, "Score"),
    h("th", {}, "Location (x, y, z)"),
    h("th", { class: "num", title: "Volume in mm³" }, "Volume (mm³)"),
    multiVolume ? h("th", { class: "num", title: "Volume (series) number" }, "Vol.") : null,
    listener ? h("th", {}, ctx.mode === "consensual" ? "Consensus" : "Your judgement") : null,
    ctx.mode === "consensual" && listener ? h("th", {}, "Readers") : null);
  const table = h("table", { class: "grid candidates" }, h("thead", {}, head), tbody);
  if (!rows.length) {
    tbody.append(h("tr", {}, h("td", { class: "empty", colSpan: 8 }, "The plug-in found no lesion candidate above the display threshold.")));
  }
  const count = h("span", { class: "muted small candidate-count" });
  const keysHint = ctx.editable && listener?.type === "Choice"
    ? h("div", { class: "keys-hint faint small" }, h("kbd", {}, "j"), h("kbd", {}, "k"), " move · ", h("kbd", {}, "Enter"), " show · ",
      choiceOptions(listener.options || {}, ctx.mode).shown.slice(0, 9).map((o, n) => [h("kbd", {}, String(n + 1)), ` ${o.caption} `]))
    : h("div", { class: "keys-hint faint small" }, h("kbd", {}, "j"), h("kbd", {}, "k"), " move · ", h("kbd", {}, "Enter"), " show in the image");
  const element = h("div", { class: "display-candidates" }, h("div", { class: "dt" }, h("div", { class: "dt-scroll" }, table)), h("div", { class: "candidates-foot" }, count, keysHint));

  function updateCount() {
    if (!listener) {
      count.textContent = `${rows.length} ${rows.length === 1 ? "candidate" : "candidates"}`;
      return;
    }
    const done = items.filter((item) => item.widget && !item.widget.error()).length;
    count.textContent = `${done} of ${rows.length} ${rows.length === 1 ? "candidate" : "candidates"} judged`;
    count.classList.toggle("complete", done === rows.length);
  }

  function markRows() {
    items.forEach((item, i) => {
      item.tr.classList.toggle("cursor", i === cursor);
      item.tr.classList.toggle("selected", i === chosen);
    });
    items[cursor]?.tr.scrollIntoView({ block: "nearest" });
  }

  function choose(index, { logIt = true } = {}) {
    if (index < 0 || index >= items.length) return;
    cursor = chosen = index;
    markRows();
    const c = items[index].row.candidate;
    if (logIt) log("select-candidate", { id: items[index].row.id });
    ctx.viewer?.select({ volumeId: Number(c.volumeId ?? 0), location: c.location || [0, 0, 0], radius: markStyle.radius || 10 });
  }

  function move(delta) {
    if (!items.length) return;
    cursor = Math.max(0, Math.min(items.length - 1, (cursor < 0 ? (delta > 0 ? -1 : items.length) : cursor) + delta));
    markRows();
  }

  function judge(n) {
    const item = items[cursor];
    if (!ctx.editable || !item?.widget?.pickIndex || n >= item.widget.options.length) return false;
    item.widget.pickIndex(n);
    if (cursor < items.length - 1) choose(cursor + 1, { logIt: false });
    return true;
  }

  // ---- the viewer's markers ----
  if (ctx.viewer) {
    const byVolume = new Map();
    for (const { row } of items) {
      const v = Number(row.candidate.volumeId ?? 0);
      if (!byVolume.has(v)) byVolume.set(v, []);
      byVolume.get(v).push({ ...row.candidate, id: row.id });
    }
    for (const [volumeId, list] of byVolume) {
      ctx.viewer.setCandidates(volumeId, list, { markStyle, onSelect: (candidate) => {
        const index = items.findIndex((item) => item.row.id === candidate.id);
        if (index >= 0) choose(index);
      } });
    }
  }

  // ---- keys (the first candidate table of the page owns them) ----
  if (ctx.ownsKeys()) {
    const group = "Lesion candidates";
    cleanups.push(bind("j", "Next candidate", () => move(1), { group }));
    cleanups.push(bind("k", "Previous candidate", () => move(-1), { group }));
    cleanups.push(bind("Enter", "Show the candidate in the image", () => {
      // Enter on a focused button or link keeps its own meaning (the binding took the key)
      const active = document.activeElement;
      if (active && active !== document.body && active.matches("a[href], button, summary, [role=button]")) {
        active.click();
        return;
      }
      choose(cursor < 0 ? 0 : cursor);
    }, { group }));
    if (ctx.editable && listener?.type === "Choice") {
      choiceOptions(listener.options || {}, ctx.mode).shown.slice(0, 9).forEach((o, n) => {
        cleanups.push(bind(String(n + 1), `Mark the candidate “${o.caption}”`, () => judge(n), { group }));
      });
      // while the image has the focus, its own keys 1-5 (window presets) give way to judging
      const stage = ctx.viewer?.container;
      if (stage) {
        const onKey = (event) => {
          if (event.ctrlKey || event.metaKey || event.altKey || !/^[1-9]$/.test(event.key)) return;
          if (judge(Number(event.key) - 1)) {
            event.preventDefault();
            event.stopPropagation();
          }
        };
        stage.addEventListener("keydown", onKey, true);
        cleanups.push(() => stage.removeEventListener("keydown", onKey, true));
      }
    }
  }

  updateCount();
  if (items.length) queueMicrotask(() => choose(0, { logIt: false }));

  return {
    element,
    collects: Boolean(listener) && items.every((item) => item.widget),
    value: () => items.map((item) => ({ id: item.row.id, value: item.widget ? item.widget.value() : undefined })),
    error: () => {
      const missing = items.filter((item) => item.widget && item.widget.error()).length;
      return missing ? `${missing} ${missing === 1 ? "candidate has" : "candidates have"} no judgement yet.` : "";
    },
    progress: () => ({ done: items.filter((item) => item.widget && !item.widget.error()).length, total: items.length }),
    destroy: () => cleanups.forEach((fn) => fn()),
  };
}
