// /preferences: each control saves itself (PATCH /api/preferences) and says so next to it.

import { api } from "../api.js";
import { $, $$, h } from "../dom.js";
import * as format from "../format.js";
import { confirmDialog, formDialog } from "../forms.js";
import { DataTable } from "../table.js";


function valueOf(input) {
  const name = input.dataset.pref;
  if (input.type === "checkbox") return input.checked;
  if (input.type === "number") return Number(input.value);
  if (name === "revisionMessageTemplates") return input.value.split("\n").map((l) => l.trim()).filter(Boolean);
  return input.value;
}

function stateOf(name) {
  return $(`[data-state-for="${name}"]`);
}

async function save(input) {
  const name = input.dataset.pref;
  const state = stateOf(name);
  state.className = "save-state";
  state.textContent = "Saving…";
  try {
    await api.patch("/preferences", { [name]: valueOf(input) });
    state.className = "save-state ok";
    state.textContent = "Saved";
    if (name === "theme") document.documentElement.dataset.theme = input.value === "mode_black" ? "dark" : "light";
    const text = input.closest(".switch")?.querySelector(".switch-text");
    if (text) text.textContent = input.checked ? "On" : "Off";
  } catch (error) {
    state.className = "save-state error";
    state.textContent = "Not saved";
  }
}

for (const input of $$("[data-pref]")) {
  const event = input.tagName === "TEXTAREA" || input.type === "number" ? "change" : "input";
  input.addEventListener(event, () => save(input));
}

// ---- permanent API tokens ----------------------------------------------------------------------

const tokens = new DataTable($("#token-table"), {
  name: "API tokens",
  endpoint: "/tokens",
  clientSide: true,
  keyboard: false,
  columns: [
    { key: "description", label: "Description" },
    { key: "tokenId", label: "Token ID", className: "mono" },
    { key: "createdAt", label: "Created", sortable: true, render: (t) => format.dateTime(t.createdAt) },
  ],
  rowKey: (t) => t.tokenId,
  sort: { key: "createdAt", order: -1 },
  pageSize: 10,
  pageSizes: [10],
  empty: "No API tokens.",
  rowActions: [{
    label: "Delete", danger: true, confirm: "Scripts using this token will no longer be able to call the API.",
    run: async (t, table) => { await api.delete(`/tokens/${encodeURIComponent(t.tokenId)}`); table.reload(); },
  }],
});

$("#new-token").addEventListener("click", async () => {
  const created = await formDialog({
    title: "New API token",
    submitLabel: "Create",
    fields: [{ name: "description", label: "Description", required: true, placeholder: "e.g. nightly export script", help: "Up to 32 characters." }],
    submit: (values) => api.post("/tokens", values, { quiet: true }),
  });
  if (!created) return;
  tokens.reload();
  await confirmDialog({
    title: "Copy the token now",
    message: ["This is the only time the token is shown:", h("code", { class: "mono", style: { userSelect: "all", wordBreak: "break-all" } }, created.accessToken)],
    confirmLabel: "Done",
  });
});

