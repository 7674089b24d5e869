// Keyboard shortcuts. A combo is a space-separated sequence of keys ("g s": g then s; "?"; "/";
// "Enter"; "ctrl+Enter"); keys are KeyboardEvent.key values. Shortcuts never fire while the
// reader types in a field (except Escape) or while a dialog is open (unless `inDialog`).
//
//   import { bind } from "/static/js/keys.js";
//   const unbind = bind("n", "New user", () => openEditor(), { group: "Users" });
//
// Markup can declare shortcuts too: <a href="/x" data-shortcut="g x" data-shortcut-label="Go to X">
// is clicked by its combo (an <input data-shortcut="/"> is focused instead); app.js binds these
// on load. "?" opens the list of every shortcut bound on the page.

import { h } from "./dom.js";

const bindings = [];
let sequence = [];
let sequenceTimer = null;
const SEQUENCE_MS = 1200;

function parse(combo) {
  return combo.trim().split(/\s+/).map((token) => {
    const parts = token.split("+");
    const key = parts.pop();
    const mods = new Set(parts.map((m) => m.toLowerCase()));
    return { key, ctrl: mods.has("ctrl"), alt: mods.has("alt"), meta: mods.has("meta"), shift: mods.has("shift") };
  });
}

function matches(step, event) {
  const printable = step.key.length === 1;
  if (printable ? event.key !== step.key : event.key.toLowerCase() !== step.key.toLowerCase()) return false;
  if (step.ctrl !== event.ctrlKey || step.alt !== event.altKey || step.meta !== event.metaKey) return false;
  // shift is part of printable keys ("?" is shift+/); it only counts for named keys
  return printable || step.shift === event.shiftKey;
}

/** Bind a shortcut; returns a function that unbinds it. */
export function bind(combo, label, handler, { group = "This page", inDialog = false } = {}) {
  const binding = { combo, steps: parse(combo), label, handler, group, inDialog };
  bindings.push(binding);
  return () => unbind(binding);
}

function unbind(binding) {
  const index = bindings.indexOf(binding);
  if (index >= 0) bindings.splice(index, 1);
}

function typing(target) {
  if (!(target instanceof Element)) return false;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable) return true;
  if (tag !== "INPUT") return false;
  return !["checkbox", "radio", "button", "submit", "reset", "range"].includes(target.type);
}

function onKeyDown(event) {
  if (event.defaultPrevented || event.isComposing) return;
  if (["Shift", "Control", "Alt", "Meta"].includes(event.key)) return;
  if (typing(event.target) && event.key !== "Escape") return;
  // Enter and Space on a focused button or link keep their own meaning
  if ((event.key === "Enter" || event.key === " ") && event.target instanceof Element
      && event.target.closest("a[href], button, summary, [role=button], [role=menuitem]")) return;
  const dialogOpen = document.querySelector("dialog[open]") !== null;
  const candidates = bindings.filter((b) => !dialogOpen || b.inDialog);
  const position = sequence.length;
  const live = candidates.filter(
    (b) => b.steps.length > position && sequence.every((ev, i) => matches(b.steps[i], ev)) && matches(b.steps[position], event),
  );
  if (!live.length) {
    sequence = [];
    // a key that starts no sequence from here may start one afresh
    if (position > 0) onKeyDown(event);
    return;
  }
  const complete = live.find((b) => b.steps.length === position + 1);
  event.preventDefault();
  clearTimeout(sequenceTimer);
  if (complete) {
    sequence = [];
    complete.handler(event);
  } else {
    sequence.push({ key: event.key, ctrlKey: event.ctrlKey, altKey: event.altKey, metaKey: event.metaKey, shiftKey: event.shiftKey });
    sequenceTimer = setTimeout(() => (sequence = []), SEQUENCE_MS);
  }
}

/** Bind every [data-shortcut] element under `root`: a click (or focus, for fields). */
export function bindElements(root = document) {
  for (const el of root.querySelectorAll("[data-shortcut]")) {
    if (el._shortcutBound) continue;
    el._shortcutBound = true;
    const label = el.dataset.shortcutLabel || el.getAttribute("aria-label") || el.textContent.trim();
    const group = el.dataset.shortcutGroup || (el.closest(".mainnav, .usermenu") ? "Navigation" : "This page");
    bind(el.dataset.shortcut, label, () => (typing(el) ? el.focus() : el.click()), { group });
  }
}

function keyCaps(combo) {
  return combo.split(/\s+/).flatMap((token, i) => [i ? h("span", { class: "faint" }, " then ") : null, h("kbd", {}, token)]);
}

/** The dialog listing every bound shortcut, grouped. */
export function showHelp() {
  let dialog = document.getElementById("shortcut-help");
  if (dialog) dialog.remove();
  const groups = new Map();
  for (const b of bindings) {
    if (!b.label) continue;
    if (!groups.has(b.group)) groups.set(b.group, []);
    groups.get(b.group).push(b);
  }
  const order = ["Navigation", "General", ...[...groups.keys()].filter((g) => g !== "Navigation" && g !== "General")];
  const body = h("div", { class: "modal-body" });
  for (const group of order) {
    if (!groups.has(group)) continue;
    body.append(h("div", { class: "shortcut-group" }, group));
    body.append(h("div", { class: "shortcut-list" }, groups.get(group).flatMap((b) => [h("div", { class: "keys" }, keyCaps(b.combo)), h("div", {}, b.label)])));
  }
  dialog = h("dialog", { class: "modal", id: "shortcut-help", "aria-label": "Keyboard shortcuts" },
    h("div", { class: "modal-head" }, h("h2", {}, "Keyboard shortcuts"),
      h("button", { type: "button", class: "link-button", onclick: () => dialog.close() }, "Close")),
    body);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

document.addEventListener("keydown", onKeyDown);
