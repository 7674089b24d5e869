// `Locator` (spec 7.6): the reader marks places in the image, typically lesions the plug-in
// missed (false negatives). Options: `volumeId` (0), `snapThresholdMm` (a mark this close to a
// candidate of `snapDataPath` records it as `snappedLesionCandidate`), `excludeFromActionLog`.
// Value: [{volumeId, location: [x, y, z], snappedLesionCandidate?}]. Consensual mode starts
// from every reader's personal marks, pooled.
//
// "Mark a location" (key m) arms the viewer: the next clicks in the image add marks; Esc stops.

import { h } from "../dom.js";
import { bind } from "../keys.js";
import { atPath, readerName } from "./common.js";

const COLOR = "#3bc9db";

export function summarizeLocator(def, value) {
  const n = Array.isArray(value) ? value.length : 0;
  return n === 0 ? "no location" : `${n} ${n === 1 ? "location" : "locations"}`;
}

export function createLocator(def, ctx) {
  const options = def.options || {};
  const volumeId = Number(options.volumeId ?? 0);
  const log = (action, data) => { if (!options.excludeFromActionLog) ctx.log(action, data); };
  const source = `locator:${def.feedbackKey}`;
  const cleanups = [];
  let marks;
  if (Array.isArray(ctx.initial)) {
    marks = ctx.initial.map((m) => ({ ...m }));
  } else if (ctx.mode === "consensual" && ctx.editable) {
    marks = ctx.opinions.flatMap((o) => (Array.isArray(o.value) ? o.value : []).map((m) => ({ ...m, reader: o.userEmail })));
  } else {
    marks = [];
  }

  const list = h("ol", { class: "locator-list" });
  const button = h("button", { type: "button", class: "button small", hidden: !ctx.editable || !ctx.viewer, "aria-pressed": "false",
    title: "Mark a location in the image (m)", onclick: () => toggle() }, "Mark a location");
  const element = h("div", { class: "display-locator" }, h("div", { class: "locator-head" },
    h("span", { class: "muted small" }, ctx.editable ? "Mark lesions the plug-in missed, in the image." : ""), button), list);

  function candidates() {
    const all = atPath(ctx.job.results, options.snapDataPath || "results.lesionCandidates");
    return (Array.isArray(all) ? all : []).map((c, index) => ({ id: c.id ?? index, c }));
  }

  function snap(location) {
    const threshold = Number(options.snapThresholdMm);
    const spacing = ctx.viewer?.viewer?.metadata?.spacing;
    if (!threshold || !spacing) return undefined;
    let best;
    for (const { id, c } of candidates()) {
      if (Number(c.volumeId ?? 0) !== volumeId || !Array.isArray(c.location)) continue;
      const d = Math.hypot(...[0, 1, 2].map((n) => (Number(c.location[n]) - location[n]) * spacing[n]));
      if (d <= threshold && (!best || d < best.d)) best = { id, d };
    }
    return best?.id;
  }

  function stored(mark) {
    const out = { volumeId: mark.volumeId ?? volumeId, location: mark.location };
    if (mark.snappedLesionCandidate !== undefined) out.snappedLesionCandidate = mark.snappedLesionCandidate;
    if (mark.data !== undefined) out.data = mark.data;
    return out;
  }

  function render() {
    list.replaceChildren(...marks.map((mark, n) => h("li", { class: "locator-item" },
      h("span", { class: "locator-label" }, `L${n + 1}`),
      h("span", { class: "mono" }, mark.location.join(", ")),
      mark.snappedLesionCandidate !== undefined ? h("span", { class: "chip" }, `near candidate ${Number(mark.snappedLesionCandidate) + 1}`) : null,
      mark.reader ? h("span", { class: "muted small", title: mark.reader }, readerName(mark.reader)) : null,
      h("span", { class: "locator-actions" },
        h("button", { type: "button", class: "link-button", onclick: () => ctx.viewer?.select({ volumeId: mark.volumeId ?? volumeId, location: mark.location }, { ring: false }) }, "Show"),
        ctx.editable ? h("button", { type: "button", class: "link-button danger", onclick: () => removeMark(n) }, "Remove") : null))));
    if (!marks.length) list.append(h("li", { class: "faint small locator-empty" }, ctx.editable ? "No location marked." : "None."));
    ctx.viewer?.setPoints(source, marks.map((mark, n) => ({ volumeId: mark.volumeId ?? volumeId, location: mark.location, label: `L${n + 1}`, color: COLOR })));
  }

  function add({ volumeId: v, location }) {
    if (v !== volumeId) return;
    const mark = { volumeId: v, location };
    const snapped = snap(location);
    if (snapped !== undefined) mark.snappedLesionCandidate = snapped;
    marks.push(mark);
    log("locate", { location, ...(snapped !== undefined ? { snappedLesionCandidate: snapped } : {}) });
    render();
    ctx.onChange();
  }

  function removeMark(n) {
    const [mark] = marks.splice(n, 1);
    log("unlocate", { location: mark.location });
    render();
    ctx.onChange();
  }

  let armed = false;
  function toggle(on = !armed) {
    if (!ctx.viewer || !ctx.editable) return;
    armed = on;
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.classList.toggle("primary", on);
    button.textContent = on ? "Marking… (Esc)" : "Mark a location";
    if (on) {
      ctx.viewer.show(volumeId);
      ctx.viewer.startPicking(add, `Click a location in volume ${volumeId} to mark it. Esc stops.`);
    } else {
      ctx.viewer.stopPicking();
    }
  }

  if (ctx.editable && ctx.viewer) {
    cleanups.push(bind("m", "Mark a location in the image (or stop)", () => toggle(), { group: "Feedback" }));
    cleanups.push(bind("Escape", "Stop marking", () => toggle(false), { group: "Feedback" }));
  }
  render();

  return {
    element,
    collects: true,
    value: () => marks.map(stored),
    error: () => "",
    destroy: () => {
      if (armed) toggle(false);
      ctx.viewer?.setPoints(source, []);
      cleanups.forEach((fn) => fn());
    },
  };
}
