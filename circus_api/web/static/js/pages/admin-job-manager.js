// /admin/job-manager: the switch (with confirmation) and every manager's heartbeat, refreshed
// every few seconds while the tab is visible.

import { api } from "../api.js";
import { $, h } from "../dom.js";
import * as format from "../format.js";
import { confirmDialog } from "../forms.js";
import { bind } from "../keys.js";
import { DataTable } from "../table.js";
import { badge } from "./admin-common.js";

const REFRESH_S = 3;
let state = null;
let loadedAt = null;

function slots(m) {
  const running = (m.runningJobs || []).length;
  return `${running} / ${m.slots}` + (m.gpuSlots ? ` (GPU ${m.gpuSlots})` : "");
}

const managers = new DataTable($("#managers"), {
  name: "Managers",
  load: async () => {
    state = await api.get("/admin/plugin-job-manager", {}, { quiet: true });
    loadedAt = new Date();
    showSwitch();
    showAge();
    return { items: state.managers, totalItems: state.managers.length, page: 1 };
  },
  columns: [
    { key: "managerId", label: "Manager", className: "mono" },
    { key: "host", label: "Host", render: (m) => `${m.host} · pid ${m.pid}` },
    { key: "heartbeatAt", label: "Heartbeat", render: (m) => [m.alive ? badge("alive", "ok") : badge("no heartbeat", "danger"), " ", format.ago(m.heartbeatAt)],
      title: (m) => format.dateTimeSeconds(m.heartbeatAt) },
    { key: "slots", label: "Jobs / slots", className: "num", render: slots },
    { key: "runningJobs", label: "Running jobs", className: "wrap", render: (m) => (m.runningJobs || []).length
      ? m.runningJobs.map((id) => h("a", { href: `/jobs/${encodeURIComponent(id)}`, class: "mono", style: { marginRight: "8px" } }, id))
      : h("span", { class: "muted" }, "idle") },
    { key: "dockerAvailable", label: "Docker", className: "wrap", render: (m) => [m.dockerAvailable ? badge("ready", "ok") : badge("unavailable", "danger"),
      m.dockerAvailable ? "" : h("div", { class: "small muted" }, m.dockerMessage || ""), m.gpuRuntime ? [" ", badge("GPU", "neutral")] : ""] },
    { key: "startedAt", label: "Started", render: (m) => format.dateTime(m.startedAt) },
  ],
  rowKey: (m) => m.managerId,
  pageSize: 100,
  pageSizes: [100],
  empty: "No job manager is registered. Start one with `circus job-manager` (circus up starts one).",
  autoRefresh: REFRESH_S,
});

function showSwitch() {
  const running = state.status === "running";
  $("#switch-status").textContent = running ? "running" : "stopped";
  $("#switch-dot").className = `state-dot ${state.status}`;
  const alive = state.managers.filter((m) => m.alive).length;
  $("#switch-explain").textContent = running
    ? `Managers take new jobs from the queue. ${alive} of ${state.managers.length} manager(s) answer.`
    : "No new job is started; running jobs finish. Jobs wait in the queue until the manager is started again.";
  const button = $("#switch-button");
  button.textContent = running ? "Stop taking jobs" : "Start taking jobs";
  button.className = `button ${running ? "danger" : "primary"}`;
  button.disabled = false;
}

async function toggle() {
  if (!state) return;
  const running = state.status === "running";
  const confirmed = await confirmDialog(running
    ? { title: "Stop the job manager?", message: ["Managers will start no new job. Jobs already running finish; queued jobs wait."], confirmLabel: "Stop taking jobs", danger: true }
    : { title: "Start the job manager?", message: ["Managers will take jobs from the queue again."], confirmLabel: "Start taking jobs" });
  if (!confirmed) return;
  $("#switch-button").disabled = true;
  try {
    await api.put("/admin/plugin-job-manager/switch", { status: running ? "stopped" : "running" });
  } finally {
    await managers.reload();
  }
}

$("#switch-button").addEventListener("click", toggle);
bind("s", "Start or stop the job manager", toggle, { group: "This page" });

function showAge() {
  if (loadedAt) $("#refresh-state").textContent = `Updated ${format.ago(loadedAt)} · every ${REFRESH_S} s`;
}

setInterval(showAge, 1000);
