// `Text`, `Numeric` and `Tags` (spec 7.6): a string, a number, a list of strings.
//
// Consensual pre-fill: Text joins the unique personal strings with ", ", Numeric takes their
// mean, Tags their union (each tag shows who chose it).

import { h } from "../dom.js";
import { readerName } from "./common.js";

function textError(options, value) {
  const text = value ?? "";
  const max = options.maxLength ?? 64;
  if (options.minLength !== undefined && text.length < options.minLength) return `At least ${options.minLength} characters.`;
  if (text.length > max) return `At most ${max} characters.`;
  if (options.pattern) {
    try {
      if (!new RegExp(options.pattern).test(text)) return "Does not match the expected format.";
    } catch {
      // a broken pattern of the plug-in does not block the reader
    }
  }
  return "";
}

export function textWidget(options = {}, { value, editable = true, onChange, label = "" } = {}) {
  let current = value ?? "";
  const error = h("div", { class: "field-error", hidden: true });
  const input = h("input", { type: "text", value: current, disabled: !editable, maxLength: options.maxLength ?? 64,
    "aria-label": options.label || label || "Text", placeholder: options.label || "",
    oninput: (e) => { current = e.target.value; show(); onChange?.(current); } });
  function show() {
    const message = textError(options, current);
    error.textContent = message;
    error.hidden = !message || !editable;
    input.classList.toggle("invalid", Boolean(message) && editable);
  }
  show();
  return { element: h("span", { class: "text-widget" }, input, error), value: () => current, error: () => textError(options, current) };
}

function numericError(options, value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "A number.";
  if (options.minimum !== undefined && value < options.minimum) return `At least ${options.minimum}.`;
  if (options.exclusiveMinimum !== undefined && value <= options.exclusiveMinimum) return `More than ${options.exclusiveMinimum}.`;
  if (options.maximum !== undefined && value > options.maximum) return `At most ${options.maximum}.`;
  if (options.exclusiveMaximum !== undefined && value >= options.exclusiveMaximum) return `Less than ${options.exclusiveMaximum}.`;
  if (options.multipleOf && Math.abs(value / options.multipleOf - Math.round(value / options.multipleOf)) > 1e-9) return `A multiple of ${options.multipleOf}.`;
  return "";
}

export function numericWidget(options = {}, { value, editable = true, onChange, label = "" } = {}) {
  let current = typeof value === "number" ? value : options.default ?? 0;
  const error = h("div", { class: "field-error", hidden: true });
  const input = h("input", { type: "number", value: String(current), disabled: !editable, class: "narrow",
    step: options.multipleOf || "any", "aria-label": options.label || label || "Number",
    oninput: (e) => { current = e.target.value === "" ? null : Number(e.target.value); show(); onChange?.(current); } });
  function show() {
    const message = numericError(options, current);
    error.textContent = message;
    error.hidden = !message || !editable;
    input.classList.toggle("invalid", Boolean(message) && editable);
  }
  show();
  return { element: h("span", { class: "numeric-widget" }, input, error), value: () => current, error: () => numericError(options, current) };
}

function consensualText(opinions) {
  return [...new Set(opinions.map((o) => o.value).filter((v) => typeof v === "string" && v.trim()))].join(", ");
}

function consensualMean(opinions) {
  const values = opinions.map((o) => o.value).filter((v) => typeof v === "number" && Number.isFinite(v));
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
}

function opinionLine(opinions, show = (v) => String(v)) {
  if (!opinions.length) return null;
  return h("div", { class: "opinions muted small" }, opinions.map((o) => h("span", { class: "opinion" }, `${readerName(o.userEmail)}: ${show(o.value)}`)));
}

export function createText(def, ctx) {
  const options = def.options || {};
  const initial = ctx.initial ?? (ctx.mode === "consensual" && ctx.editable ? consensualText(ctx.opinions) : "");
  const widget = textWidget(options, { value: initial, editable: ctx.editable, label: def.caption, onChange: () => ctx.onChange() });
  const element = h("div", { class: "display-text" }, options.label ? h("label", { class: "form-label" }, options.label) : null, widget.element,
    ctx.mode === "consensual" ? opinionLine(ctx.opinions) : null);
  return { element, collects: true, value: widget.value, error: widget.error };
}

export function createNumeric(def, ctx) {
  const options = def.options || {};
  const initial = ctx.initial ?? (ctx.mode === "consensual" && ctx.editable ? consensualMean(ctx.opinions) : undefined);
  const widget = numericWidget(options, { value: initial, editable: ctx.editable, label: def.caption, onChange: () => ctx.onChange() });
  const element = h("div", { class: "display-numeric" }, options.label ? h("label", { class: "form-label" }, options.label) : null, widget.element,
    ctx.mode === "consensual" ? opinionLine(ctx.opinions) : null);
  return { element, collects: true, value: widget.value, error: widget.error };
}

export function createTags(def, ctx) {
  const options = def.options || {};
  const voters = new Map();
  for (const o of ctx.mode === "consensual" ? ctx.opinions : []) {
    for (const tag of Array.isArray(o.value) ? o.value : []) {
      if (!voters.has(tag)) voters.set(tag, []);
      voters.get(tag).push(o.userEmail);
    }
  }
  let current = Array.isArray(ctx.initial) ? [...ctx.initial]
    : ctx.mode === "consensual" && ctx.editable ? [...voters.keys()] : [...(options.initialValue || [])];
  const box = h("div", { class: "tags-widget" });
  const free = options.acceptFreeText ? h("input", { type: "text", placeholder: options.freeTextLabel || "Add a tag", disabled: !ctx.editable,
    onkeydown: (e) => {
      if (e.key !== "Enter") return;
      e.preventDefault();
      const tag = e.target.value.trim();
      if (!tag || (options.freeTextPattern && !new RegExp(options.freeTextPattern).test(tag))) return;
      if (!current.includes(tag)) current.push(tag);
      e.target.value = "";
      render();
      ctx.onChange();
    } }) : null;
  function toggle(tag) {
    if (!ctx.editable) return;
    current = current.includes(tag) ? current.filter((t) => t !== tag) : [...current, tag];
    ctx.log("tags", { tags: current });
    render();
    ctx.onChange();
  }
  function render() {
    const all = [...new Set([...(options.predefinedTags || []), ...voters.keys(), ...current])];
    box.replaceChildren(...all.map((tag) => h("button", { type: "button", class: `tag${current.includes(tag) ? " on" : ""}`, disabled: !ctx.editable,
      "aria-pressed": current.includes(tag) ? "true" : "false", onclick: () => toggle(tag),
      title: voters.has(tag) ? voters.get(tag).map(readerName).join(", ") : "" }, tag,
    voters.has(tag) ? h("span", { class: "choice-votes" }, String(voters.get(tag).length)) : null)));
    if (free) box.append(free);
  }
  render();
  const error = () => {
    if (options.minItems !== undefined && current.length < options.minItems) return `Choose at least ${options.minItems}.`;
    if (options.maxItems !== undefined && current.length > options.maxItems) return `Choose at most ${options.maxItems}.`;
    return "";
  };
  return { element: h("div", { class: "display-tags" }, options.label ? h("div", { class: "form-label" }, options.label) : null, box),
    collects: true, value: () => [...current], error };
}
