// `Choice` (spec 7.6): one value out of a list, as toggle buttons (default) or a drop-down.
//
// Options: `personal` (captions, or {value, caption, color?, consensualMapsTo?}; a plain string
// gets its index as value), `consensual` (a separate list for consensual mode), `ui`
// (`toggleButtons` | `dropdown`). The value is the chosen option's `value`; only numbers are
// valid. In consensual mode each personal vote is mapped through `consensualMapsTo`, the votes
// are shown on the options, and when every voter agrees their value is preselected.
//
// `choiceWidget` is also the per-candidate control of LesionCandidates (its feedbackListener).

import { h } from "../dom.js";
import { readerName } from "./common.js";

export function normalizeOptions(list) {
  return (Array.isArray(list) ? list : []).map((item, index) => (typeof item === "object" && item !== null
    ? { value: item.value ?? index, caption: String(item.caption ?? item.value ?? index), color: item.color || null,
      consensualMapsTo: item.consensualMapsTo }
    : { value: index, caption: String(item), color: null, consensualMapsTo: undefined }));
}

/** The option lists of a Choice definition's options for a mode. */
export function choiceOptions(options = {}, mode = "personal") {
  const personal = normalizeOptions(options.personal || options.choices || []);
  const consensual = options.consensual ? normalizeOptions(options.consensual) : personal;
  return { personal, shown: mode === "consensual" ? consensual : personal };
}

/** A personal value as it counts in consensual mode (its option's consensualMapsTo). */
export function mapVote(personal, value) {
  const option = personal.find((o) => o.value === value);
  return option && option.consensualMapsTo !== undefined ? option.consensualMapsTo : value;
}

/** Votes [{userEmail, value}] -> {counts: Map(value -> [userEmail]), agreed: value | undefined}. */
export function tally(personal, opinions) {
  const counts = new Map();
  for (const { userEmail, value } of opinions || []) {
    if (typeof value !== "number") continue;
    const mapped = mapVote(personal, value);
    if (!counts.has(mapped)) counts.set(mapped, []);
    counts.get(mapped).push(userEmail);
  }
  const agreed = counts.size === 1 ? [...counts.keys()][0] : undefined;
  return { counts, agreed };
}

export function captionOf(options, value) {
  const option = options.find((o) => o.value === value);
  return option ? option.caption : value === undefined || value === null ? "" : String(value);
}

/**
 * A choice control. `value` is the initial value; `opinions` (consensual mode) the personal
 * votes; `onChange(value)` is called when the reader picks.
 */
export function choiceWidget(options, { mode = "personal", value, opinions = [], editable = true, onChange, compact = false, label = "" } = {}) {
  const { personal, shown } = choiceOptions(options, mode);
  const votes = mode === "consensual" ? tally(personal, opinions) : { counts: new Map(), agreed: undefined };
  let current = value !== undefined && value !== null ? value : votes.agreed;
  const dropdown = options.ui === "dropdown";
  let element;
  let buttons = [];
  let select = null;

  function refresh() {
    for (const b of buttons) {
      const on = b._value === current;
      b.classList.toggle("on", on);
      b.setAttribute("aria-checked", on ? "true" : "false");
      b.style.setProperty("--choice-color", b._color || "var(--accent)");
    }
    if (select) select.value = current === undefined ? "" : String(shown.findIndex((o) => o.value === current));
  }

  function pick(next) {
    if (!editable) return;
    current = next;
    refresh();
    onChange?.(current);
  }

  if (dropdown) {
    select = h("select", { disabled: !editable, "aria-label": label || "Choice",
      onchange: (e) => pick(e.target.value === "" ? undefined : shown[Number(e.target.value)].value) },
    h("option", { value: "" }, "—"),
    shown.map((o, index) => h("option", { value: index }, o.caption + (votes.counts.get(o.value) ? ` (${votes.counts.get(o.value).length})` : ""))));
    element = h("span", { class: "choice dropdown" }, select);
  } else {
    buttons = shown.map((o, index) => {
      const voters = votes.counts.get(o.value) || [];
      const b = h("button", { type: "button", class: "choice-button", role: "radio", disabled: !editable,
        title: `${o.caption}${index < 9 && editable ? ` (${index + 1})` : ""}${voters.length ? ` · ${voters.map(readerName).join(", ")}` : ""}`,
        onclick: () => pick(o.value) },
      h("span", { class: "choice-dot", "aria-hidden": "true" }), o.caption,
      voters.length ? h("span", { class: "choice-votes", "aria-label": `${voters.length} votes` }, String(voters.length)) : null);
      b._value = o.value;
      b._color = o.color;
      return b;
    });
    element = h("span", { class: `choice buttons${compact ? " compact" : ""}`, role: "radiogroup", "aria-label": label || "Choice" }, buttons);
  }
  refresh();
  return {
    element,
    options: shown,
    personalOptions: personal,
    value: () => current,
    error: () => (typeof current === "number" ? "" : "Choose one."),
    /** Pick the n-th option (0-based), as keys 1-9 do. */
    pickIndex(n) {
      if (n >= 0 && n < shown.length) pick(shown[n].value);
    },
  };
}

/** The top-level `Choice` display. */
export function createChoice(def, ctx) {
  const options = def.options || {};
  const widget = choiceWidget(options, {
    mode: ctx.mode, value: ctx.initial, opinions: ctx.opinions, editable: ctx.editable, label: def.caption,
    onChange: (value) => { ctx.log("choice", { value }); ctx.onChange(); },
  });
  const element = h("div", { class: "display-choice" }, widget.element);
  if (ctx.mode === "consensual" && ctx.opinions.length) {
    element.append(h("div", { class: "opinions muted small" }, ctx.opinions.map((o) => h("span", { class: "opinion" },
      `${readerName(o.userEmail)}: ${captionOf(widget.personalOptions, o.value)}`))));
  }
  return { element, collects: true, value: widget.value, error: widget.error };
}

export function summarizeChoice(def, value, { consensual = false } = {}) {
  return captionOf(choiceOptions(def.options || {}, consensual ? "consensual" : "personal").shown, value);
}
