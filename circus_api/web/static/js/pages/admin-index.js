// /admin: a figure on each card, from one cheap request per section (failures stay silent).

import { api } from "../api.js";
import { $ } from "../dom.js";
import { number } from "../format.js";

function show(slug, text) {
  const el = $(`[data-figure="${slug}"]`);
  if (el) el.textContent = text;
}

const count = (path, query = {}) => api.get(path, { limit: 1, ...query }, { quiet: true }).then((b) => b.totalItems);

const figures = {
  users: () => count("/admin/users").then((n) => `${number(n)} users`),
  groups: () => count("/admin/groups").then((n) => `${number(n)} groups`),
  projects: () => count("/admin/projects").then((n) => `${number(n)} projects`),
  plugins: () => count("/admin/plugins").then((n) => `${number(n)} plug-ins`),
  "job-manager": () => api.get("/admin/plugin-job-manager", {}, { quiet: true }).then((s) => {
    const alive = s.managers.filter((m) => m.alive).length;
    return `${s.status === "running" ? "running" : "stopped"} · ${alive} alive`;
  }),
  queue: () => count("/admin/plugin-job-queue", { state: "all" }).then((n) => `${number(n)} queued`),
  "server-params": () => api.get("/admin/server-params", {}, { quiet: true }).then((p) => `${Object.keys(p).length} keys`),
  quarantine: () => count("/admin/quarantine").then((n) => `${number(n)} files`),
};

for (const [slug, load] of Object.entries(figures)) {
  load().then((text) => show(slug, text), () => show(slug, ""));
}
