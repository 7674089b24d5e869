// My lists from any table: "Add to my list…" (the reader's own lists of the kind, the lists
// others shared for editing, or a new one), and the helpers the /my-lists page shares.
//
//   import { addToMyList } from "/static/js/my-lists.js";
//   bulkActions: [{ label: "Add to my list…", run: (items) => addToMyList("series", items.map((s) => s.seriesUid)) }]

import { api, showBanner } from "./api.js";
import { h } from "./dom.js";
import { FieldError, formDialog } from "./forms.js";

export const RESOURCE_TYPES = {
  series: { label: "Series", singular: "series", plural: "series", endpoint: "/series" },
  clinicalCases: { label: "Cases", singular: "case", plural: "cases", endpoint: "/cases" },
  pluginJobs: { label: "Plug-in jobs", singular: "plug-in job", plural: "plug-in jobs", endpoint: "/plugin-jobs" },
};
const NEW = "__new__";

/** The reader's own lists (GET /mylists) and those shared with them for editing (login-info). */
export async function loadLists() {
  const [own, info] = await Promise.all([api.get("/mylists"), api.get("/login-info/full")]);
  const shared = (info.sharedMyLists || [])
    .filter((entry) => entry.owner !== info.userEmail)
    .map((entry) => ({ ...entry.sharedMyList, owner: entry.owner }));
  return { own, shared, info };
}

function count(n, type) {
  const names = RESOURCE_TYPES[type];
  return `${n} ${n === 1 ? names.singular : names.plural}`;
}

function listField(options) {
  return {
    name: "target",
    label: "List",
    type: "custom",
    render() {
      const select = h("select", { id: "f-target", name: "target" },
        options.map(([value, caption]) => h("option", { value }, caption)));
      const name = h("input", { type: "text", name: "newName", placeholder: "Name of the new list", maxLength: 64,
        "aria-label": "Name of the new list", hidden: select.value !== NEW, style: { marginTop: "6px" } });
      select.addEventListener("change", () => {
        name.hidden = select.value !== NEW;
        if (!name.hidden) name.focus();
      });
      return h("div", { class: "stack" }, select, name);
    },
    read(el) {
      const target = el.querySelector("select").value;
      const newName = el.querySelector("input").value.trim();
      if (target === NEW && !newName) throw new FieldError("target", "Name the new list.");
      return { target, newName };
    },
  };
}

/** The "Add to my list…" dialog; resolves to {myListId, changedCount} or null. */
export async function addToMyList(resourceType, resourceIds) {
  if (!resourceIds.length) return null;
  let lists;
  try {
    lists = await loadLists();
  } catch {
    return null; // shown in the banner
  }
  const own = lists.own.filter((l) => l.resourceType === resourceType);
  const shared = lists.shared.filter((l) => l.resourceType === resourceType);
  const options = [
    ...own.map((l) => [l.myListId, l.name]),
    ...shared.map((l) => [l.myListId, `${l.name} (shared by ${l.owner})`]),
    [NEW, "New list…"],
  ];
  const remembered = sessionStorage.getItem(`circus:last-list:${resourceType}`);
  if (remembered && options.some(([v]) => v === remembered)) {
    options.sort((a, b) => (a[0] === remembered ? -1 : b[0] === remembered ? 1 : 0));
  }
  const names = new Map(options);
  const result = await formDialog({
    title: `Add ${count(resourceIds.length, resourceType)} to a my list`,
    submitLabel: "Add",
    fields: [listField(options)],
    submit: async ({ target }) => {
      let myListId = target.target;
      if (myListId === NEW) {
        ({ myListId } = await api.post("/mylists", { name: target.newName, resourceType, public: false }, { quiet: true }));
        names.set(myListId, target.newName);
      }
      const { changedCount } = await api.patch(`/mylists/${encodeURIComponent(myListId)}/items`,
        { operation: "add", resourceIds }, { quiet: true });
      return { myListId, changedCount };
    },
  });
  if (result) {
    sessionStorage.setItem(`circus:last-list:${resourceType}`, result.myListId);
    const skipped = resourceIds.length - result.changedCount;
    const mine = !shared.some((l) => l.myListId === result.myListId);
    const name = names.get(result.myListId);
    const message = result.changedCount === 0
      ? (resourceIds.length === 1 ? `The ${RESOURCE_TYPES[resourceType].singular} is already in “${name}”.` : `All ${count(resourceIds.length, resourceType)} are already in “${name}”.`)
      : `Added ${count(result.changedCount, resourceType)} to “${name}”${skipped ? ` (${skipped} already there)` : ""}.`;
    showBanner(message, {
      kind: "ok", timeout: 8000, link: mine ? { href: `/my-lists/${encodeURIComponent(result.myListId)}`, label: "Open the list" } : null,
    });
  }
  return result;
}
