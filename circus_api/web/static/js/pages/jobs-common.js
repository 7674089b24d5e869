// Pieces shared by the plug-in job pages (/jobs, /jobs/new, /jobs/:jobId).

import { h } from "../dom.js";
import * as format from "../format.js";

export const STATUS = {
  in_queue: { label: "in queue", kind: "neutral" },
  processing: { label: "processing", kind: "info" },
  finished: { label: "finished", kind: "ok" },
  failed: { label: "failed", kind: "danger" },
  cancelled: { label: "cancelled", kind: "neutral" },
  invalidated: { label: "invalidated", kind: "warn" },
};
export const ACTIVE = new Set(["in_queue", "processing"]);
export const TERMINAL = new Set(["finished", "failed", "cancelled", "invalidated"]);

export function statusBadge(status) {
  const s = STATUS[status] || { label: status || "unknown", kind: "neutral" };
  return h("span", { class: `badge ${s.kind} job-badge`, dataset: { status: status || "" } },
    ACTIVE.has(status) ? h("span", { class: "pulse", "aria-hidden": "true" }) : null, s.label);
}

/** "Lung nodule detector 1.0.0" from a plug-in map, else a shortened ID. */
export function pluginLabel(plugins, pluginId) {
  const p = plugins.get(pluginId);
  return p ? `${p.pluginName} ${p.version}` : `${String(pluginId).slice(0, 12)}…`;
}

/** A plug-in's icon: its glyph's first letter on its colours (CIRCUS's glyph font is not here). */
export function pluginIcon(plugin, size = 22) {
  const icon = (plugin && plugin.icon) || {};
  const letter = (plugin?.pluginName || "?").trim().charAt(0).toUpperCase();
  return h("span", { class: "plugin-icon", "aria-hidden": "true", title: icon.glyph || "",
    style: { background: icon.backgroundColor || "#008800", color: icon.color || "#ffffff", width: `${size}px`, height: `${size}px`,
      fontSize: `${Math.round(size * 0.5)}px` } }, letter);
}

export function pvdText(pvd) {
  if (!pvd || typeof pvd !== "object") return String(pvd ?? "");
  const count = Math.floor((pvd.end - pvd.start) / pvd.delta) + 1;
  const step = pvd.delta === 1 || pvd.delta === -1 ? "" : `, every ${Math.abs(pvd.delta)}`;
  return `images ${pvd.start}–${pvd.end}${step} (${count})`;
}

/** "64–1" (every image), "1–9 /2" (every second image). */
export function pvdShort(pvd) {
  if (!pvd || typeof pvd !== "object") return String(pvd ?? "");
  return `${pvd.start}–${pvd.end}${Math.abs(pvd.delta) === 1 ? "" : ` /${Math.abs(pvd.delta)}`}`;
}

/** The run time of a job ("42 s"), or how long it has been running. */
export function runTime(job, now = new Date()) {
  if (!job.startedAt) return "";
  const end = job.finishedAt ? new Date(job.finishedAt) : job.status === "processing" ? now : null;
  if (!end) return "";
  return format.duration((end - new Date(job.startedAt)) / 1000);
}

export function shortUid(uid, keep = 18) {
  const text = String(uid || "");
  return text.length > keep + 2 ? `…${text.slice(-keep).replace(/^\./, "")}` : text;
}

export function escapeRegex(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
