// /admin/users: every account; create, edit (password reset included), enable or disable.

import { api } from "../api.js";
import { $ } from "../dom.js";
import * as format from "../format.js";
import { formDialog } from "../forms.js";
import { DataTable } from "../table.js";
import { badge, chips, everything, newButton } from "./admin-common.js";

const groups = await everything(api, "/admin/groups");
const groupName = new Map(groups.map((g) => [g.groupId, g.groupName]));
const groupOptions = groups.map((g) => [g.groupId, g.groupName]);

function fields(isNew) {
  return [
    isNew ? { name: "userEmail", label: "E-mail", type: "email", required: true }
      : { name: "userEmail", label: "E-mail", type: "readonly" },
    { name: "loginId", label: "Login ID", required: true, help: "What the user types to sign in; no spaces." },
    { name: "description", label: "Name", help: "Shown as the user's name." },
    { name: "groups", label: "Groups", type: "checkboxes", options: groupOptions, valueType: "int" },
    { name: "loginEnabled", label: "Can sign in", type: "checkbox" },
    isNew ? { name: "password", label: "Password", type: "password", required: true }
      : { name: "password", label: "New password", type: "password", omitEmpty: true, help: "Leave empty to keep the current password." },
  ];
}

async function editUser(user) {
  const saved = await formDialog({
    title: `Edit ${user.loginId}`,
    fields: fields(false),
    values: user,
    submit: (values) => api.patch(`/admin/users/${encodeURIComponent(user.userEmail)}`, values, { quiet: true }),
  });
  if (saved) table.reload();
}

async function newUser() {
  const saved = await formDialog({
    title: "New user",
    submitLabel: "Create",
    fields: fields(true),
    values: { loginEnabled: true, groups: [], description: "" },
    submit: (values) => api.post("/admin/users", values, { quiet: true }),
  });
  if (saved) table.reload();
}

const table = new DataTable($("#table"), {
  name: "Users",
  endpoint: "/admin/users",
  clientSide: true,
  urlState: true,
  columns: [
    { key: "loginId", label: "Login ID", sortable: true, className: "mono" },
    { key: "description", label: "Name", sortable: true },
    { key: "userEmail", label: "E-mail", sortable: true },
    { key: "groups", label: "Groups", render: (u) => chips(u.groups.map((id) => groupName.get(id) ?? `#${id}`)),
      text: (u) => u.groups.map((id) => groupName.get(id) ?? "").join(" ") },
    { key: "loginEnabled", label: "Sign-in", sortable: true, render: (u) => (u.loginEnabled ? badge("enabled", "ok") : badge("disabled", "danger")) },
    { key: "lastLoginTime", label: "Last sign-in", sortable: true, render: (u) => format.dateTime(u.lastLoginTime) },
  ],
  rowKey: (u) => u.userEmail,
  sort: { key: "loginId", order: 1 },
  filters: [
    { name: "q", label: "Search", placeholder: "login, name, e-mail, group" },
    { name: "disabled", label: "Disabled only", type: "checkbox", test: (u) => u.loginEnabled === false },
  ],
  onOpen: editUser,
  rowActions: [
    { label: "Edit", run: editUser },
    {
      label: (u) => (u.loginEnabled ? "Disable" : "Enable"),
      danger: false,
      run: async (u, t) => {
        await api.patch(`/admin/users/${encodeURIComponent(u.userEmail)}`, { loginEnabled: !u.loginEnabled });
        t.reload();
      },
    },
  ],
  empty: "No user matches.",
});

newButton("New user", newUser);
