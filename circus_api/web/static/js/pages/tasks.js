// /tasks: the reader's tasks (GET /api/tasks), live progress from the tasks panel's stream,
// downloads and dismissal.

import { api, showBanner } from "../api.js";
import { $, h } from "../dom.js";
import * as format from "../format.js";
import { DataTable } from "../table.js";
import { downloadUrl, forget, markSeen, onTaskEvent, progressBar, progressText, taskState } from "../tasks-panel.js";

const STATUS = {
  processing: ["running", "neutral"],
  finished: ["finished", "ok"],
  error: ["failed", "danger"],
};

function live(task) {
  // the stream's state (counts, latest message) over the document's
  const state = taskState(task.taskId);
  if (!state || task.status !== "processing") return { ...task, message: task.status === "error" ? task.errorMessage : task.finishedMessage };
  return { ...task, ...state, name: task.name };
}

function statusBadge(task) {
  const [text, kind] = STATUS[task.status] || [task.status, "neutral"];
  return h("span", { class: `badge ${kind}` }, task.dismissed ? `${text}, dismissed` : text);
}

function progressCell(doc) {
  const task = live(doc);
  return h("div", {}, task.status === "processing" ? progressBar(task) : null,
    h("span", { class: `task-message${task.status === "error" ? " error" : ""}` }, progressText(task)));
}

function duration(task) {
  if (!task.createdAt) return "";
  const end = task.endedAt ? new Date(task.endedAt) : new Date();
  return format.duration((end - new Date(task.createdAt)) / 1000);
}

async function dismiss(task, table) {
  await api.patch(`/tasks/${encodeURIComponent(task.taskId)}`, { dismissed: true });
  forget(task.taskId);
  showBanner(`“${task.name}” dismissed${task.downloadFileType ? "; its download file was deleted" : ""}.`, { kind: "ok", timeout: 5000 });
  table.reload({ quiet: true });
}

const table = new DataTable($("#table"), {
  name: "Tasks",
  endpoint: "/tasks",
  columns: [
    { key: "name", label: "Task", sortable: true, render: (t) => h("b", {}, t.name) },
    { key: "status", label: "Status", sortable: true, render: statusBadge },
    { key: "message", label: "Progress and outcome", className: "task-cell", render: progressCell },
    { key: "createdAt", label: "Started", sortable: true, render: (t) => format.dateTime(t.createdAt) },
    { key: "endedAt", label: "Took", className: "num muted", render: duration },
    { key: "downloadFileType", label: "Download", render: (t) => (t.downloadFileType
      ? (t.status === "finished" && !t.dismissed ? h("a", { class: "button small primary", href: downloadUrl(t.taskId), download: "" }, t.downloadFileType.includes("zip") ? "Download .zip" : "Download .tar.gz")
        : h("span", { class: "faint" }, t.dismissed ? "deleted" : "—"))
      : "") },
  ],
  rowKey: (t) => t.taskId,
  sort: { key: "createdAt", order: -1 },
  filters: [
    { name: "status", label: "Status", type: "select", options: [["", "Any"], ["processing", "Running"], ["finished", "Finished"], ["error", "Failed"]] },
    { name: "dismissed", label: "Show dismissed", type: "checkbox" },
  ],
  buildFilter: (v) => {
    const filter = {};
    if (v.status) filter.status = v.status;
    if (!v.dismissed) filter.dismissed = false;
    return filter;
  },
  rowActions: [
    { label: "Dismiss", visible: (t) => t.status === "finished" && !t.dismissed,
      confirm: (t) => (t.downloadFileType ? `Dismiss “${t.name}”? Its download file is deleted.` : `Dismiss “${t.name}”?`), run: dismiss },
  ],
  urlState: true,
  empty: "No task. Uploads on the Series page and exports on the Cases page appear here.",
});

// live: counts and messages as the stream reports them; a reload when a task starts or ends
let frame = 0;
onTaskEvent((kind, task) => {
  const known = table.items.some((t) => t.taskId === task.taskId);
  if (!known || kind === "finish" || kind === "error") {
    table.reload({ quiet: true });
    return;
  }
  cancelAnimationFrame(frame);
  frame = requestAnimationFrame(() => table.renderBody());
});

// the reader has seen the ended tasks listed here: the header stops announcing them
$("#table").addEventListener("dt:loaded", () => markSeen(table.items));
