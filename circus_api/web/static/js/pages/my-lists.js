// /my-lists and /my-lists/:id: the reader's own lists (create, rename, public flag, editors,
// delete) and their items in the table of their kind; lists others shared for editing.

import { api, showBanner } from "../api.js";
import { $, clear, h } from "../dom.js";
import * as format from "../format.js";
import { confirmDialog, FieldError, formDialog } from "../forms.js";
import { bind } from "../keys.js";
import { loadLists, RESOURCE_TYPES } from "../my-lists.js";
import { DataTable } from "../table.js";
import { CASE_COLUMNS, JOB_COLUMNS, patientColumnWhenPresent, SERIES_COLUMNS } from "./columns.js";
import { reader } from "./research-common.js";

const TABLES = {
  series: { columns: SERIES_COLUMNS, key: (s) => s.seriesUid, open: (s) => `/series/${encodeURIComponent(s.seriesUid)}`, patientAt: 0 },
  clinicalCases: { columns: CASE_COLUMNS, key: (c) => c.caseId, open: (c) => `/cases/${encodeURIComponent(c.caseId)}`, patientAt: 1 },
  pluginJobs: { columns: JOB_COLUMNS, key: (j) => j.jobId, open: (j) => `/jobs/${encodeURIComponent(j.jobId)}`, patientAt: 1 },
};

let lists = { own: [], shared: [] };
let current = reader.myListId || null;

function path(id) {
  return id ? `/my-lists/${encodeURIComponent(id)}` : "/my-lists";
}

function renderNav() {
  const nav = $("#list-nav");
  clear(nav);
  const link = (list, extra) => h("li", {}, h("a", { href: path(list.myListId), "aria-current": list.myListId === current ? "page" : null,
  },
  h("span", {}, list.name), h("span", { class: "list-kind" }, extra)));
  nav.append(h("h3", {}, "Your lists"));
  if (!lists.own.length) nav.append(h("p", { class: "empty-note", style: { padding: "0 12px 10px" } }, "None yet. Create one, or use “Add to my list…” on the series and case tables."));
  for (const [type, names] of Object.entries(RESOURCE_TYPES)) {
    const mine = lists.own.filter((l) => l.resourceType === type);
    if (mine.length) nav.append(h("ul", {}, mine.map((l) => link(l, `${names.label}${l.public ? " · public" : ""}`))));
  }
  if (lists.shared.length) {
    nav.append(h("h3", {}, "Shared with you"), h("ul", {}, lists.shared.map((l) => link(l, `${RESOURCE_TYPES[l.resourceType].label} · ${l.owner}`))));
  }
}

function editorText(editor) {
  return editor.type === "user" ? editor.userEmail : `group #${editor.groupId}`;
}

async function editList(list, { editors = false } = {}) {
  const fields = editors ? [
    { name: "users", label: "Users", type: "list", rows: 4, help: "E-mail addresses, one per line. Editors can add and remove items." },
    { name: "groups", label: "Groups", type: "list", rows: 2, help: "Group IDs (numbers), one per line: every member becomes an editor." },
  ] : [
    { name: "name", label: "Name", required: true },
    { name: "public", label: "Public", type: "checkbox", caption: "Anyone signed in may read its items" },
  ];
  const values = editors ? {
    users: list.editors.filter((e) => e.type === "user").map((e) => e.userEmail),
    groups: list.editors.filter((e) => e.type === "group").map((e) => String(e.groupId)),
  } : { name: list.name, public: list.public };
  const saved = await formDialog({
    title: editors ? `Editors of “${list.name}”` : `Edit “${list.name}”`,
    fields,
    values,
    submit: (v) => {
      let body = v;
      if (editors) {
        const bad = v.groups.find((g) => !/^\d+$/.test(g));
        if (bad) throw new FieldError("groups", `“${bad}” is not a group ID.`);
        body = { editors: [...v.users.map((userEmail) => ({ type: "user", userEmail })), ...v.groups.map((g) => ({ type: "group", groupId: Number(g) }))] };
      }
      return api.patch(`/mylists/${encodeURIComponent(list.myListId)}`, body, { quiet: true }).then(() => body);
    },
  });
  if (saved) {
    lists = await loadLists();
    renderNav();
    const updated = lists.own.find((l) => l.myListId === list.myListId);
    if (updated) renderOwnHead(updated);
  }
}

async function newList() {
  const created = await formDialog({
    title: "New list",
    submitLabel: "Create",
    fields: [
      { name: "name", label: "Name", required: true },
      { name: "resourceType", label: "Holds", type: "select", options: Object.entries(RESOURCE_TYPES).map(([v, n]) => [v, n.label]) },
      { name: "public", label: "Public", type: "checkbox", caption: "Anyone signed in may read its items" },
    ],
    values: { resourceType: "clinicalCases", public: false },
    submit: (v) => api.post("/mylists", v, { quiet: true }),
  });
  if (created) location.assign(path(created.myListId));
}

async function deleteList(list) {
  const ok = await confirmDialog({ title: "Delete the list", message: [`Delete “${list.name}”?`, "Its items stay where they are; only the list goes."], confirmLabel: "Delete", danger: true });
  if (!ok) return;
  await api.delete(`/mylists/${encodeURIComponent(list.myListId)}`);
  showBanner(`“${list.name}” deleted.`, { kind: "ok", timeout: 5000 });
  location.assign(path(null));
}

function renderOwnHead(list) {
  const kind = RESOURCE_TYPES[list.resourceType];
  const head = $("#list-head");
  clear(head).append(h("div", { class: "list-head" },
    h("div", {}, h("h2", {}, list.name),
      h("div", { class: "muted small" }, `${kind.label} · ${list.public ? "public" : "private"} · created ${format.date(list.createdAt)}`,
        list.editors.length ? ` · editors: ${list.editors.map(editorText).join(", ")}` : "")),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "button small", onclick: () => editList(list) }, "Rename…"),
      h("button", { type: "button", class: "button small", onclick: () => editList(list, { editors: true }) }, "Editors…"),
      h("button", { type: "button", class: "button small danger", onclick: () => deleteList(list) }, "Delete…"))));
}

function renderOwn(list) {
  const main = $("#list-main");
  const kind = RESOURCE_TYPES[list.resourceType];
  const spec = TABLES[list.resourceType];
  main.append(h("div", { id: "list-head" }));
  renderOwnHead(list);
  const box = h("div");
  main.append(box);
  const table = new DataTable(box, {
    name: "Items",
    endpoint: `${kind.endpoint}/list/${encodeURIComponent(list.myListId)}`,
    columns: spec.columns,
    rowKey: spec.key,
    selectable: true,
    bulkActions: [{ label: "Remove from the list", danger: true, run: async (items, t) => {
      const { changedCount } = await api.patch(`/mylists/${encodeURIComponent(list.myListId)}/items`, { operation: "remove", resourceIds: items.map(spec.key) });
      showBanner(`Removed ${changedCount} from “${list.name}”.`, { kind: "ok", timeout: 5000 });
      t.clearSelection();
      t.reload();
    } }],
    onOpen: (item) => location.assign(spec.open(item)),
    rowActions: [{ label: "Open", href: spec.open }],
    empty: `The list is empty. Add ${kind.plural} with “Add to my list…” on their tables.`,
  });
  patientColumnWhenPresent(table, spec.columns, spec.patientAt);
}

async function renderShared(list) {
  const main = $("#list-main");
  const kind = RESOURCE_TYPES[list.resourceType];
  main.append(h("div", { class: "list-head" }, h("div", {}, h("h2", {}, list.name),
    h("div", { class: "muted small" }, `${kind.label} · owned by ${list.owner} · ${list.public ? "public" : "private"}`))));
  const panel = h("section", { class: "panel" }, h("p", { class: "muted" },
    `You are an editor of this list: “Add to my list…” on the ${kind.plural} tables offers it.`));
  main.append(panel);
  if (!list.public) {
    panel.append(h("p", { class: "muted" }, "Only its owner can read its items."));
    return;
  }
  try {
    const full = await api.get(`/mylists/${encodeURIComponent(list.myListId)}`, {}, { quiet: true });
    const spec = TABLES[list.resourceType];
    panel.append(h("h2", {}, `${full.resourceIds.length} ${full.resourceIds.length === 1 ? kind.singular : kind.plural}`),
      h("ul", { class: "plain-list mono small" }, full.resourceIds.slice(0, 500).map((id) => h("li", {},
        h("a", { href: spec.open({ seriesUid: id, caseId: id, jobId: id }) }, id)))));
  } catch (error) {
    panel.append(h("p", { class: "field-error" }, error.message));
  }
}

function select(id) {
  current = id;
  renderNav();
  const main = $("#list-main");
  clear(main);
  const own = lists.own.find((l) => l.myListId === id);
  const shared = lists.shared.find((l) => l.myListId === id);
  if (own) renderOwn(own);
  else if (shared) renderShared(shared);
  else if (id) main.append(h("section", { class: "empty-state" }, h("h2", {}, "No such list"), h("p", { class: "muted" }, "It was deleted, or it is not yours.")));
  else main.append(h("section", { class: "empty-state" }, h("h2", {}, "Choose a list"),
    h("p", { class: "muted" }, "Lists gather series, cases or plug-in jobs you want to find again, share or export together.")));
}

async function start() {
  lists = await loadLists();
  lists.own.sort((a, b) => a.name.localeCompare(b.name));
  select(current);
}

$("#new-list").addEventListener("click", newList);
bind("n", "New list", newList, { group: "My lists" });
start();
