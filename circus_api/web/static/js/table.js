// A dense, sortable, pageable table fed by a search endpoint ({items, totalItems, page}).
//
//   import { DataTable } from "/static/js/table.js";
//   const table = new DataTable(document.getElementById("table"), {
//     name: "Series",                                   // shortcut group in the "?" list
//     endpoint: "/series",                              // API path (under /api)
//     columns: [
//       { key: "seriesUid", label: "Series UID", sortable: true, className: "mono clip" },
//       { key: "seriesDate", label: "Date", sortable: true, render: (s) => format.date(s.seriesDate) },
//     ],
//     rowKey: (s) => s.seriesUid,
//     sort: { key: "createdAt", order: -1 },
//     filters: [{ name: "modality", label: "Modality", type: "select", options: [["", "Any"], ["CT", "CT"]] }],
//     buildFilter: (values) => (values.modality ? { modality: values.modality } : {}),
//     selectable: true,
//     bulkActions: [{ label: "Export", run: (items, table) => ... }],
//     rowActions: [{ label: "Open", href: (s) => `/series/${s.seriesUid}` },
//                  { label: "Delete", danger: true, confirm: "Delete this series?", run: (s, table) => ... }],
//     onOpen: (s) => location.assign(`/series/${s.seriesUid}`),
//     urlState: true,
//   });
//
// Modes. Server (default): each page is one GET `endpoint` with `filter` (JSON from
// buildFilter), `sort` (JSON {key: 1|-1}), `limit`, `page`, plus `query` (object, or a function
// of the filter values). Client (`clientSide: true`): every item is fetched once (pages of 200)
// and filtered (`filter.test(item, value)`, text filters search the row's text), sorted and paged
// in the browser: for small admin lists whose endpoints ignore filters. `load(params)` replaces
// the fetch altogether (must answer {items, totalItems, page}).
//
// Column options: key (dotted path), label, sortable, sortKey (if not key), render(item, table)
// (string, Element or array; strings are text, never HTML), text(item) (for client-side search),
// className ("num", "mono", "clip", "wrap"), title(item).
// Other options: pageSize (25), pageSizes, empty (text), detail(item) -> Element (a row that
// expands below on click), toolbar ([Element] at the toolbar's end), autoRefresh (seconds,
// paused while the tab is hidden), keyboard (true: j/k, Enter, x, [ ] while no field has focus).
// Methods: reload({ quiet }), setFilters(values), selectedItems(), clearSelection(); properties
// items, totalItems, page. The container receives a "dt:loaded" event after each load.

import { api } from "./api.js";
import { $$, append, clear, debounce, getPath, h } from "./dom.js";
import { bind } from "./keys.js";
import { confirmDialog } from "./forms.js";
import { number } from "./format.js";

const CLIENT_PAGE = 200;
let keyboardOwner = null;

function defaultCell(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined || a === "") return 1;
  if (b === null || b === undefined || b === "") return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
}

export class DataTable {
  constructor(container, options) {
    this.container = container;
    this.options = { pageSize: 25, pageSizes: [25, 50, 100, 200], empty: "Nothing to show.", keyboard: true, ...options };
    this.columns = this.options.columns;
    this.rowKey = this.options.rowKey || ((item) => JSON.stringify(item));
    this.sort = this.options.sort ? { ...this.options.sort } : null;
    this.page = 1;
    this.pageSize = this.options.pageSize;
    this.values = Object.fromEntries((this.options.filters || []).map((f) => [f.name, f.value ?? (f.type === "checkbox" ? false : "")]));
    this.items = [];
    this.totalItems = 0;
    this.selected = new Map();
    this.cursor = -1;
    this.expanded = new Set();
    this.sequence = 0;
    this.all = null; // client mode: every item
    if (this.options.urlState) this.readUrl();
    this.build();
    if (this.options.keyboard && keyboardOwner === null) this.bindKeys();
    this.reload();
    if (this.options.autoRefresh) this.startAutoRefresh(this.options.autoRefresh);
  }

  // ---- structure ------------------------------------------------------------------------------

  build() {
    clear(this.container);
    this.root = h("div", { class: "dt" });
    this.inputs = {};
    const filters = (this.options.filters || []).map((f) => this.filterControl(f));
    const end = h("div", { class: "dt-toolbar-end" }, this.options.toolbar || []);
    if (filters.length || (this.options.toolbar || []).length) {
      this.root.append(h("div", { class: "dt-toolbar" }, filters, end));
    }
    this.bulkBar = h("div", { class: "dt-bulk", hidden: true });
    this.loadingBar = h("div", { class: "dt-loading" });
    this.thead = h("thead");
    this.tbody = h("tbody");
    this.table = h("table", { class: "grid" }, this.thead, this.tbody);
    this.footer = h("div", { class: "dt-footer" });
    this.root.append(this.bulkBar, this.loadingBar, h("div", { class: "dt-scroll" }, this.table), this.footer);
    this.container.append(this.root);
    this.renderHead();
    this.tbody.append(h("tr", {}, h("td", { class: "empty", colSpan: this.columnCount() }, "Loading…")));
  }

  filterControl(filter) {
    const apply = () => {
      this.page = 1;
      this.reload({ refetch: false });
    };
    let input;
    if (filter.type === "select") {
      input = h("select", { name: filter.name, onchange: (e) => { this.values[filter.name] = e.target.value; apply(); } },
        filter.options.map(([v, caption]) => h("option", { value: v, selected: String(v) === String(this.values[filter.name]) }, caption)));
    } else if (filter.type === "checkbox") {
      input = h("input", { type: "checkbox", name: filter.name, checked: Boolean(this.values[filter.name]),
        onchange: (e) => { this.values[filter.name] = e.target.checked; apply(); } });
      this.inputs[filter.name] = input;
      return h("label", { class: "dt-filter checkbox" }, input, h("span", {}, filter.label));
    } else {
      const later = debounce(apply, 300);
      input = h("input", { type: "search", name: filter.name, placeholder: filter.placeholder || "", value: this.values[filter.name] || "",
        "data-search": filter.search === false ? null : "", style: filter.width ? { width: filter.width } : null,
        oninput: (e) => { this.values[filter.name] = e.target.value; later(); },
        onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); apply(); } if (e.key === "Escape") e.target.blur(); } });
    }
    this.inputs[filter.name] = input;
    return h("label", { class: "dt-filter" }, h("span", {}, filter.label), input);
  }

  columnCount() {
    return this.columns.length + (this.options.selectable ? 1 : 0) + (this.options.rowActions ? 1 : 0);
  }

  renderHead() {
    const row = h("tr");
    if (this.options.selectable) {
      this.allBox = h("input", { type: "checkbox", "aria-label": "Select all rows on this page", onchange: (e) => this.selectPage(e.target.checked) });
      row.append(h("th", { class: "check" }, this.allBox));
    }
    for (const column of this.columns) {
      const sortKey = column.sortKey || column.key;
      const active = this.sort && this.sort.key === sortKey;
      const mark = h("span", { class: "sort-mark", "aria-hidden": "true" }, active ? (this.sort.order === 1 ? "▲" : "▼") : "");
      const th = h("th", { class: [column.className?.includes("num") ? "num" : "", column.sortable ? "sortable" : ""].join(" ").trim(),
        scope: "col", "aria-sort": active ? (this.sort.order === 1 ? "ascending" : "descending") : null, style: column.width ? { width: column.width } : null },
      column.label, column.sortable ? mark : null);
      if (column.sortable) th.addEventListener("click", () => this.toggleSort(sortKey));
      row.append(th);
    }
    if (this.options.rowActions) row.append(h("th", { class: "actions" }, h("span", { class: "sr-only" }, "")));
    clear(this.thead).append(row);
  }

  toggleSort(key) {
    this.sort = this.sort && this.sort.key === key ? { key, order: -this.sort.order } : { key, order: 1 };
    this.page = 1;
    this.renderHead();
    this.reload({ refetch: false });
  }

  // ---- data -----------------------------------------------------------------------------------

  extraQuery() {
    const query = this.options.query;
    return typeof query === "function" ? query(this.values) : query || {};
  }

  async fetchPage() {
    const filter = this.options.buildFilter ? this.options.buildFilter(this.values) : null;
    const params = { ...this.extraQuery(), limit: this.pageSize, page: this.page };
    if (filter && Object.keys(filter).length) params.filter = filter;
    if (this.sort) params.sort = { [this.sort.key]: this.sort.order };
    if (this.options.load) return this.options.load({ ...params, values: this.values });
    return api.get(this.options.endpoint, params, { quiet: true });
  }

  async fetchAll() {
    const items = [];
    for (let page = 1; ; page += 1) {
      const body = await api.get(this.options.endpoint, { ...this.extraQuery(), limit: CLIENT_PAGE, page }, { quiet: true });
      items.push(...body.items);
      if (body.items.length < CLIENT_PAGE || items.length >= body.totalItems) return items;
    }
  }

  clientPage() {
    const texts = (this.options.filters || []).filter((f) => f.type !== "select" && f.type !== "checkbox" && !f.test);
    let rows = this.all.filter((item) => (this.options.filters || []).every((f) => {
      const value = this.values[f.name];
      if (value === "" || value === false || value === undefined) return true;
      if (f.test) return f.test(item, value);
      if (texts.includes(f)) return this.rowText(item).includes(String(value).toLowerCase());
      return String(getPath(item, f.name)) === String(value);
    }));
    if (this.sort) {
      const { key, order } = this.sort;
      const column = this.columns.find((c) => (c.sortKey || c.key) === key);
      const value = column && column.sortValue ? column.sortValue : (item) => getPath(item, key);
      rows = [...rows].sort((a, b) => order * compare(value(a), value(b)));
    }
    const start = (this.page - 1) * this.pageSize;
    return { items: rows.slice(start, start + this.pageSize), totalItems: rows.length, page: this.page };
  }

  rowText(item) {
    return this.columns.map((c) => (c.text ? c.text(item) : defaultCell(getPath(item, c.key)))).join(" ").toLowerCase();
  }

  /** Fetch and show the current page. `quiet`: no "loading" state (auto-refresh). */
  async reload({ quiet = false, refetch = true } = {}) {
    const sequence = ++this.sequence;
    if (!quiet) this.root.classList.add("loading");
    if (this.options.urlState) this.writeUrl();
    try {
      let body;
      if (this.options.clientSide) {
        if (refetch || this.all === null) this.all = await this.fetchAll();
        if (sequence !== this.sequence) return;
        body = this.clientPage();
      } else {
        body = await this.fetchPage();
      }
      if (sequence !== this.sequence) return; // a newer request was made meanwhile
      this.items = body.items;
      this.totalItems = body.totalItems;
      const lastPage = Math.max(1, Math.ceil(this.totalItems / this.pageSize));
      if (this.page > lastPage && this.totalItems > 0) {
        this.page = lastPage;
        this.reload({ quiet, refetch: false });
        return;
      }
      this.cursor = Math.min(this.cursor, this.items.length - 1);
      this.renderBody();
      this.renderFooter();
      this.container.dispatchEvent(new CustomEvent("dt:loaded", { detail: body }));
    } catch (error) {
      if (sequence !== this.sequence) return;
      this.renderError(error);
    } finally {
      if (sequence === this.sequence) this.root.classList.remove("loading");
    }
  }

  setFilters(values) {
    Object.assign(this.values, values);
    for (const [name, value] of Object.entries(values)) {
      const input = this.inputs[name];
      if (!input) continue;
      if (input.type === "checkbox") input.checked = Boolean(value);
      else input.value = value;
    }
    this.page = 1;
    this.reload({ refetch: false });
  }

  // ---- rendering ------------------------------------------------------------------------------

  renderError(error) {
    const retry = h("button", { type: "button", class: "link-button", onclick: () => this.reload() }, "Try again");
    clear(this.tbody).append(h("tr", {}, h("td", { class: "empty", colSpan: this.columnCount() },
      h("div", { class: "field-error" }, error.message || String(error)), retry)));
  }

  renderBody() {
    clear(this.tbody);
    if (!this.items.length) {
      this.tbody.append(h("tr", {}, h("td", { class: "empty", colSpan: this.columnCount() }, this.options.empty)));
    }
    this.items.forEach((item, index) => {
      const key = this.rowKey(item);
      const tr = h("tr", { dataset: { key }, class: [this.selected.has(key) ? "selected" : "", index === this.cursor ? "cursor" : "",
        this.options.onOpen || this.options.detail ? "clickable" : ""].join(" ").trim() });
      if (this.options.selectable) {
        tr.append(h("td", { class: "check" }, h("input", { type: "checkbox", checked: this.selected.has(key), "aria-label": "Select row",
          onchange: (e) => this.select(item, e.target.checked) })));
      }
      for (const column of this.columns) {
        const content = column.render ? column.render(item, this) : defaultCell(getPath(item, column.key));
        const td = append(h("td", { class: column.className || null }), [content]);
        if (column.title) td.title = column.title(item) || "";
        else if (column.className?.includes("clip") && typeof content === "string") td.title = content;
        tr.append(td);
      }
      if (this.options.rowActions) tr.append(h("td", { class: "actions" }, this.actionButtons(item)));
      tr.addEventListener("click", (event) => {
        if (event.target.closest("a, button, input, select, label, textarea")) return;
        this.cursor = index;
        this.markCursor();
        this.open(item);
      });
      this.tbody.append(tr);
      if (this.options.detail && this.expanded.has(key)) {
        this.tbody.append(h("tr", { class: "detail" }, h("td", { colSpan: this.columnCount() }, this.options.detail(item))));
      }
    });
    this.updateSelectionUi();
  }

  actionButtons(item) {
    return this.options.rowActions.filter((a) => !a.visible || a.visible(item)).map((action) => {
      const label = typeof action.label === "function" ? action.label(item) : action.label;
      if (action.href) return h("a", { href: action.href(item) }, label);
      return h("button", { type: "button", class: `link-button${action.danger ? " danger" : ""}`, onclick: () => this.runAction(action, item) }, label);
    });
  }

  async runAction(action, item) {
    if (action.confirm) {
      const message = typeof action.confirm === "function" ? action.confirm(item) : action.confirm;
      const label = typeof action.label === "function" ? action.label(item) : action.label;
      if (!(await confirmDialog({ title: label, message, confirmLabel: label, danger: action.danger }))) return;
    }
    try {
      await action.run(item, this);
    } catch (error) {
      // api() has shown the error in the banner already
      if (!error || error.name !== "ApiError") throw error;
    }
  }

  open(item) {
    if (this.options.onOpen) {
      this.options.onOpen(item, this);
    } else if (this.options.detail) {
      const key = this.rowKey(item);
      if (this.expanded.has(key)) this.expanded.delete(key);
      else this.expanded.add(key);
      this.renderBody();
    }
  }

  renderFooter() {
    const lastPage = Math.max(1, Math.ceil(this.totalItems / this.pageSize));
    const first = this.totalItems ? (this.page - 1) * this.pageSize + 1 : 0;
    const last = Math.min(this.totalItems, this.page * this.pageSize);
    const size = h("select", { "aria-label": "Rows per page", onchange: (e) => { this.pageSize = Number(e.target.value); this.page = 1; this.reload({ refetch: false }); } },
      this.options.pageSizes.map((n) => h("option", { value: n, selected: n === this.pageSize }, `${n} / page`)));
    const go = (page) => { this.page = page; this.cursor = -1; this.reload({ refetch: false }); };
    const count = h("span", { class: "dt-count" }, this.totalItems ? `${number(first)}–${number(last)} of ${number(this.totalItems)}` : "0 items");
    // one page that the smallest page size holds: no pager to show
    if (lastPage === 1 && this.totalItems <= Math.min(...this.options.pageSizes)) {
      clear(this.footer).append(count);
      return;
    }
    clear(this.footer).append(
      count,
      h("div", { class: "dt-pager" }, size,
        h("button", { type: "button", class: "button small", disabled: this.page <= 1, onclick: () => go(this.page - 1), title: "Previous page ([)" }, "‹ Prev"),
        h("span", {}, `Page ${number(this.page)} of ${number(lastPage)}`),
        h("button", { type: "button", class: "button small", disabled: this.page >= lastPage, onclick: () => go(this.page + 1), title: "Next page (])" }, "Next ›")));
  }

  // ---- selection ------------------------------------------------------------------------------

  select(item, on) {
    const key = this.rowKey(item);
    if (on) this.selected.set(key, item);
    else this.selected.delete(key);
    this.updateSelectionUi();
  }

  selectPage(on) {
    for (const item of this.items) this.select(item, on);
  }

  selectedItems() {
    return [...this.selected.values()];
  }

  clearSelection() {
    this.selected.clear();
    this.updateSelectionUi();
  }

  updateSelectionUi() {
    if (!this.options.selectable) return;
    for (const tr of $$("tbody tr[data-key]", this.table)) {
      const on = this.selected.has(tr.dataset.key);
      tr.classList.toggle("selected", on);
      const box = tr.querySelector("td.check input");
      if (box) box.checked = on;
    }
    const onPage = this.items.filter((item) => this.selected.has(this.rowKey(item))).length;
    this.allBox.checked = onPage > 0 && onPage === this.items.length;
    this.allBox.indeterminate = onPage > 0 && onPage < this.items.length;
    const count = this.selected.size;
    clear(this.bulkBar);
    this.bulkBar.hidden = count === 0;
    if (count) {
      this.bulkBar.append(h("span", {}, `${number(count)} selected`),
        ...(this.options.bulkActions || []).map((action) => h("button", { type: "button", class: `button small${action.danger ? " danger" : ""}`,
          onclick: () => action.run(this.selectedItems(), this) }, action.label)),
        h("button", { type: "button", class: "link-button", onclick: () => this.clearSelection() }, "Clear selection"));
    }
    this.options.onSelectionChange?.(this.selectedItems(), this);
  }

  // ---- keyboard -------------------------------------------------------------------------------

  markCursor() {
    $$("tbody tr[data-key]", this.table).forEach((tr, i) => tr.classList.toggle("cursor", i === this.cursor));
    const row = $$("tbody tr[data-key]", this.table)[this.cursor];
    row?.scrollIntoView({ block: "nearest" });
  }

  moveCursor(delta) {
    if (!this.items.length) return;
    this.cursor = Math.max(0, Math.min(this.items.length - 1, this.cursor + delta));
    this.markCursor();
  }

  bindKeys() {
    keyboardOwner = this;
    const group = this.options.name || "Table";
    const lastPage = () => Math.max(1, Math.ceil(this.totalItems / this.pageSize));
    bind("j", "Next row", () => this.moveCursor(1), { group });
    bind("k", "Previous row", () => this.moveCursor(-1), { group });
    if (this.options.onOpen || this.options.detail) {
      bind("Enter", this.options.onOpen ? "Open the row" : "Show the row's details", () => this.items[this.cursor] && this.open(this.items[this.cursor]), { group });
    }
    if (this.options.selectable) {
      bind("x", "Select or unselect the row", () => {
        const item = this.items[this.cursor];
        if (item) this.select(item, !this.selected.has(this.rowKey(item)));
      }, { group });
    }
    bind("]", "Next page", () => { if (this.page < lastPage()) { this.page += 1; this.cursor = -1; this.reload({ refetch: false }); } }, { group });
    bind("[", "Previous page", () => { if (this.page > 1) { this.page -= 1; this.cursor = -1; this.reload({ refetch: false }); } }, { group });
    bind("r", "Reload", () => this.reload(), { group });
  }

  // ---- URL state and auto-refresh -------------------------------------------------------------

  readUrl() {
    const params = new URLSearchParams(location.search);
    if (params.has("page")) this.page = Math.max(1, Number.parseInt(params.get("page"), 10) || 1);
    if (params.has("limit")) this.pageSize = Number.parseInt(params.get("limit"), 10) || this.pageSize;
    if (params.has("sort")) {
      const raw = params.get("sort");
      this.sort = raw.startsWith("-") ? { key: raw.slice(1), order: -1 } : { key: raw, order: 1 };
    }
    for (const filter of this.options.filters || []) {
      if (params.has(filter.name)) this.values[filter.name] = filter.type === "checkbox" ? params.get(filter.name) === "1" : params.get(filter.name);
    }
  }

  writeUrl() {
    const params = new URLSearchParams();
    if (this.page > 1) params.set("page", this.page);
    if (this.pageSize !== this.options.pageSize) params.set("limit", this.pageSize);
    const initial = this.options.sort;
    if (this.sort && (!initial || initial.key !== this.sort.key || initial.order !== this.sort.order)) {
      params.set("sort", (this.sort.order === -1 ? "-" : "") + this.sort.key);
    }
    for (const [name, value] of Object.entries(this.values)) {
      if (value === true) params.set(name, "1");
      else if (value !== "" && value !== false && value !== undefined) params.set(name, value);
    }
    const query = params.toString();
    history.replaceState(history.state, "", location.pathname + (query ? `?${query}` : ""));
  }

  startAutoRefresh(seconds) {
    this.stopAutoRefresh();
    this.timer = setInterval(() => {
      if (!this.container.isConnected) return this.stopAutoRefresh();
      if (document.visibilityState === "visible" && !document.querySelector("dialog[open]")) this.reload({ quiet: true });
    }, seconds * 1000);
  }

  stopAutoRefresh() {
    clearInterval(this.timer);
  }
}
