// Pieces shared by the admin pages.

import { $, h } from "../dom.js";
import { bind } from "../keys.js";

/** A primary button in the page header's action slot, with the shortcut `n`. */
export function newButton(label, onClick) {
  const button = h("button", { type: "button", class: "button primary", onclick: onClick, title: `${label} (n)` }, label);
  $("#page-actions").append(button);
  bind("n", label, onClick, { group: "This page" });
  return button;
}

export function badge(text, kind = "neutral") {
  return h("span", { class: `badge ${kind}` }, text);
}

export function chips(values) {
  return (values || []).map((v) => h("span", { class: "chip" }, String(v)));
}

/** Fetch every item of an unlimited admin list (groups, projects, plug-ins). */
export async function everything(api, path) {
  const body = await api.get(path, { limit: 9999 }, { quiet: false });
  return body.items;
}

/**
 * A custom form field (forms.js): a checkbox matrix of rows (projects, plug-ins) by roles.
 * Its value is {roleField: [rowId, ...]} for every role field.
 */
export function roleMatrix(name, label, rows, roles, emptyText) {
  return {
    name,
    label,
    type: "custom",
    render(value) {
      const table = h("table", { class: "matrix" },
        h("thead", {}, h("tr", {}, h("th", {}, ""), roles.map(([, caption]) => h("th", { scope: "col" }, caption)))),
        h("tbody", {}, rows.length ? rows.map(([id, rowLabel]) => h("tr", {},
          h("td", { title: id }, rowLabel),
          roles.map(([field, caption]) => h("td", {}, h("input", {
            type: "checkbox", dataset: { field, id }, "aria-label": `${rowLabel}: ${caption}`,
            checked: ((value || {})[field] || []).includes(id),
          }))))) : h("tr", {}, h("td", { colSpan: roles.length + 1, class: "muted" }, emptyText))));
      return h("div", { class: "matrix-wrap", id: `f-${name}` }, table);
    },
    read(el) {
      const out = Object.fromEntries(roles.map(([field]) => [field, []]));
      for (const box of el.querySelectorAll("input:checked")) out[box.dataset.field].push(box.dataset.id);
      return out;
    },
  };
}
