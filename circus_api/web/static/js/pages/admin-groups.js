// /admin/groups: global privileges, DICOM domains, and per-project and per-plug-in roles.

import { api } from "../api.js";
import { $ } from "../dom.js";
import { formDialog } from "../forms.js";
import { DataTable } from "../table.js";
import { chips, everything, newButton, roleMatrix } from "./admin-common.js";

const PROJECT_ROLES = [
  ["readProjects", "Read"], ["writeProjects", "Write"], ["addSeriesProjects", "Add series"],
  ["viewPersonalInfoProjects", "Personal info"], ["moderateProjects", "Moderate"],
];
const PLUGIN_ROLES = [
  ["readPlugin", "Read"], ["executePlugin", "Execute"], ["manageJobs", "Manage jobs"],
  ["inputPersonalFeedback", "Personal feedback"], ["inputConsensualFeedback", "Consensual feedback"],
  ["manageFeedback", "Manage feedback"], ["viewPersonalInfo", "Personal info"],
];

const [privileges, projects, plugins, params] = await Promise.all([
  api.get("/admin/global-privileges"),
  everything(api, "/admin/projects"),
  everything(api, "/admin/plugins"),
  api.get("/admin/server-params"),
]);
const privilegeCaption = new Map(privileges.map((p) => [p.privilege, p.caption]));
const projectRows = projects.map((p) => [p.projectId, p.projectName]);
const pluginRows = plugins.map((p) => [p.pluginId, `${p.pluginName} ${p.version}`]);

function domainOptions(current) {
  // the server parameter `domains`, plus every domain some group already has
  const inUse = (table.all || []).flatMap((g) => g.domains || []);
  const known = new Set([...(Array.isArray(params.domains) ? params.domains : []), ...inUse, ...current]);
  return [...known].sort().map((d) => [d, d]);
}

function fields(group) {
  return [
    { name: "groupName", label: "Name", required: true },
    { name: "privileges", label: "Global privileges", type: "checkboxes", options: privileges.map((p) => [p.privilege, p.caption]) },
    { name: "domains", label: "DICOM domains", type: "checkboxes", options: domainOptions(group.domains || []),
      emptyText: "No domains: add them to the server parameter “domains”.", help: "Series of these domains are visible to members." },
    roleMatrix("projectRoles", "Project roles", projectRows, PROJECT_ROLES, "No projects yet."),
    roleMatrix("pluginRoles", "Plug-in roles", pluginRows, PLUGIN_ROLES, "No plug-ins yet."),
  ];
}

function body(values) {
  const { projectRoles, pluginRoles, ...rest } = values;
  return { ...rest, ...projectRoles, ...pluginRoles };
}

function formValues(group) {
  const pick = (roles) => Object.fromEntries(roles.map(([field]) => [field, group[field] || []]));
  return { ...group, projectRoles: pick(PROJECT_ROLES), pluginRoles: pick(PLUGIN_ROLES) };
}

async function editGroup(group) {
  const saved = await formDialog({
    title: `Edit group ${group.groupName}`,
    wide: true,
    fields: fields(group),
    values: formValues(group),
    submit: (values) => api.patch(`/admin/groups/${group.groupId}`, body(values), { quiet: true }),
  });
  if (saved) table.reload();
}

async function newGroup() {
  const empty = { groupName: "", privileges: [], domains: [] };
  const saved = await formDialog({
    title: "New group",
    submitLabel: "Create",
    wide: true,
    fields: fields(empty),
    values: formValues(empty),
    submit: (values) => api.post("/admin/groups", body(values), { quiet: true }),
  });
  if (saved) table.reload();
}

const countRoles = (group, roles) => new Set(roles.flatMap(([field]) => group[field] || [])).size;

const table = new DataTable($("#table"), {
  name: "Groups",
  endpoint: "/admin/groups",
  clientSide: true,
  urlState: true,
  columns: [
    { key: "groupId", label: "ID", sortable: true, className: "num" },
    { key: "groupName", label: "Name", sortable: true },
    { key: "privileges", label: "Global privileges", render: (g) => chips(g.privileges.map((p) => privilegeCaption.get(p) ?? p)) },
    { key: "domains", label: "Domains", render: (g) => chips(g.domains) },
    { key: "projects", label: "Projects", className: "num", render: (g) => String(countRoles(g, PROJECT_ROLES)),
      title: () => "Projects this group has at least one role in" },
    { key: "plugins", label: "Plug-ins", className: "num", render: (g) => String(countRoles(g, PLUGIN_ROLES)),
      title: () => "Plug-ins this group has at least one role on" },
  ],
  rowKey: (g) => String(g.groupId),
  sort: { key: "groupId", order: 1 },
  filters: [{ name: "q", label: "Search", placeholder: "name, privilege, domain" }],
  onOpen: editGroup,
  rowActions: [{ label: "Edit", run: editGroup }],
  empty: "No group matches.",
});

newButton("New group", newGroup);
