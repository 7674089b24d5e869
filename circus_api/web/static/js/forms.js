// Modal dialogs: a form built from a field list, and a confirmation.
//
//   import { formDialog, confirmDialog } from "/static/js/forms.js";
//   const saved = await formDialog({
//     title: "New user", submitLabel: "Create",
//     fields: [
//       { name: "userEmail", label: "E-mail", type: "email", required: true },
//       { name: "groups", label: "Groups", type: "checkboxes", options: [[1, "admin"]], valueType: "int" },
//       { name: "loginEnabled", label: "Can sign in", type: "checkbox" },
//     ],
//     values: { loginEnabled: true },
//     submit: (values) => api.post("/admin/users", values, { banner: null }),  // errors stay in the dialog
//   });  // the submit result, or null when cancelled
//
// Field types: text, email, password, number, textarea, json (parsed; must be valid), select,
// checkbox, checkboxes (several values), list (one string per line -> array), readonly, custom
// ({ render(value) -> Element, read(element) -> value; read may throw FieldError(name, message)}). Field options: label, help, required,
// placeholder, options ([[value, caption], ...]), valueType ("int" | "float"), omitEmpty (leave
// the key out when empty, e.g. a password that is only changed when given), rows, min, max, step.
// Validation errors of the API ({dataPath: ".loginId"}) are shown next to their field.

import { ApiError, showError } from "./api.js";
import { h } from "./dom.js";

function convert(value, valueType) {
  if (valueType === "int") return Number.parseInt(value, 10);
  if (valueType === "float") return Number.parseFloat(value);
  return value;
}

function control(field, value) {
  const id = `f-${field.name}`;
  const common = { id, name: field.name, required: field.required, disabled: field.disabled, placeholder: field.placeholder, autofocus: field.autofocus };
  switch (field.type) {
    case "textarea":
    case "list":
    case "json": {
      const text = field.type === "json" ? JSON.stringify(value ?? field.empty ?? {}, null, 2)
        : field.type === "list" ? (value || []).join("\n") : value ?? "";
      return h("textarea", { ...common, rows: field.rows || (field.type === "json" ? 8 : 3), class: field.type === "json" ? "code" : "", spellcheck: field.type === "json" ? "false" : null }, text);
    }
    case "select":
      return h("select", common, field.options.map(([v, caption]) => h("option", { value: v, selected: String(v) === String(value ?? "") }, caption)));
    case "checkbox":
      return h("label", { class: "switch" }, h("input", { ...common, type: "checkbox", role: "switch", checked: Boolean(value) }),
        h("span", { class: "switch-track", "aria-hidden": "true" }), h("span", { class: "switch-text" }, field.caption || ""));
    case "checkboxes": {
      const chosen = new Set((value || []).map(String));
      const list = h("div", { class: "check-list", id, role: "group" });
      for (const [v, caption] of field.options) {
        list.append(h("label", {}, h("input", { type: "checkbox", name: field.name, value: v, checked: chosen.has(String(v)) }), caption));
      }
      if (!field.options.length) list.append(h("span", { class: "muted" }, field.emptyText || "Nothing to choose from."));
      return list;
    }
    case "readonly":
      return h("div", { class: "readonly", id, style: { paddingTop: "6px" } }, value ?? "");
    case "custom":
      return field.render(value);
    default:
      return h("input", { ...common, type: field.type || "text", value: value ?? "", min: field.min, max: field.max, step: field.step,
        autocomplete: field.type === "password" ? "new-password" : "off", spellcheck: "false" });
  }
}

function read(field, el) {
  switch (field.type) {
    case "checkbox":
      return el.querySelector("input").checked;
    case "checkboxes":
      return [...el.querySelectorAll("input:checked")].map((input) => convert(input.value, field.valueType));
    case "list":
      return el.value.split("\n").map((line) => line.trim()).filter(Boolean);
    case "json": {
      try {
        return JSON.parse(el.value || "null");
      } catch (err) {
        throw new FieldError(field.name, `Not valid JSON: ${err.message}`);
      }
    }
    case "readonly":
      return undefined;
    case "custom":
      return field.read(el);
    case "number":
      return el.value === "" ? null : Number(el.value);
    default:
      return field.valueType ? convert(el.value, field.valueType) : el.value;
  }
}

/** Throw from a custom field's read() to mark the field invalid with a message. */
export class FieldError extends Error {
  constructor(name, message) {
    super(message);
    this.field = name;
  }
}

function isEmpty(value) {
  return value === "" || value === null || value === undefined || (Array.isArray(value) && value.length === 0);
}

/** A modal form; resolves to the submit handler's result (or the values), null when cancelled. */
export function formDialog({ title, fields, values = {}, submit, submitLabel = "Save", wide = false, intro }) {
  return new Promise((resolve) => {
    const banner = h("div", { class: "banner", hidden: true, role: "alert" });
    const rows = new Map();
    const body = h("div", { class: "modal-body" }, banner, intro ? h("p", { class: "muted" }, intro) : null);
    for (const field of fields) {
      const el = control(field, values[field.name]);
      const error = h("div", { class: "field-error", hidden: true });
      const label = field.type === "checkboxes" || field.type === "readonly" || field.type === "checkbox"
        ? h("span", { class: "form-label" }, field.label)
        : h("label", { class: "form-label", for: `f-${field.name}` }, field.label);
      body.append(h("div", { class: "form-row", dataset: { field: field.name } }, label,
        h("div", { class: "form-control" }, el, field.help ? h("div", { class: "help" }, field.help) : null, error)));
      rows.set(field.name, { field, el, error });
    }
    const submitButton = h("button", { type: "submit", class: "button primary" }, submitLabel);
    const form = h("form", { method: "dialog", novalidate: true },
      h("div", { class: "modal-head" }, h("h2", {}, title)),
      body,
      h("div", { class: "modal-foot" },
        h("button", { type: "button", class: "button", onclick: () => dialog.close() }, "Cancel"), submitButton));
    const dialog = h("dialog", { class: `modal${wide ? " wide" : ""}`, "aria-label": title }, form);
    let result = null;

    function clearErrors() {
      banner.hidden = true;
      for (const { el, error } of rows.values()) {
        error.hidden = true;
        el.classList?.remove("invalid");
      }
    }

    function markField(name, message) {
      const row = rows.get(name);
      if (!row) return false;
      row.error.textContent = message;
      row.error.hidden = false;
      row.el.classList?.add("invalid");
      return true;
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors();
      const out = {};
      try {
        for (const { field, el } of rows.values()) {
          const value = read(field, el);
          if (value === undefined) continue;
          if (field.required && isEmpty(value)) throw new FieldError(field.name, "Required.");
          if (field.omitEmpty && isEmpty(value)) continue;
          out[field.name] = value;
        }
      } catch (err) {
        if (err instanceof FieldError && markField(err.field, err.message)) return;
        throw err;
      }
      submitButton.disabled = true;
      try {
        result = submit ? (await submit(out)) ?? out : out;
        dialog.close();
      } catch (err) {
        if (err instanceof FieldError && markField(err.field, err.message)) {
          // shown next to its field
        } else if (err instanceof ApiError) {
          const unplaced = err.validationErrors.filter((e) => !markField((e.dataPath || "").split(/[.[]/)[1], e.message));
          showError(new ApiError(err.status, err.message, { validationErrors: unplaced }), banner);
        } else {
          showError(err, banner);
        }
      } finally {
        submitButton.disabled = false;
      }
    });
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    const first = body.querySelector("[autofocus], input:not([type=hidden]):not([disabled]), select, textarea");
    first?.focus();
  });
}

/** Ask before doing something; resolves true when confirmed. */
export function confirmDialog({ title, message, confirmLabel = "Confirm", danger = false }) {
  return new Promise((resolve) => {
    let confirmed = false;
    const confirmButton = h("button", { type: "submit", class: `button ${danger ? "danger solid" : "primary"}` }, confirmLabel);
    const dialog = h("dialog", { class: "modal", role: "alertdialog", "aria-label": title },
      h("form", { method: "dialog", onsubmit: () => (confirmed = true) },
        h("div", { class: "modal-head" }, h("h2", {}, title)),
        h("div", { class: "modal-body" }, [message].flat().map((line) => h("p", {}, line))),
        h("div", { class: "modal-foot" },
          h("button", { type: "button", class: "button", onclick: () => dialog.close() }, "Cancel"), confirmButton)));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(confirmed);
    });
    document.body.append(dialog);
    dialog.showModal();
    confirmButton.focus();
  });
}
