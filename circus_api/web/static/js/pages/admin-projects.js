// /admin/projects: case projects; tags, window presets and attribute schemas are edited as text.

import { api } from "../api.js";
import { $, h } from "../dom.js";
import * as format from "../format.js";
import { FieldError, formDialog } from "../forms.js";
import { DataTable } from "../table.js";
import { newButton } from "./admin-common.js";

const PRIORITIES = ["dicom,preset,auto", "dicom,auto", "preset,dicom,auto", "preset,auto", "auto"];
const COLOR = /^#[0-9a-f]{6}$/;

/** A textarea field of one item per line, parsed by `parseLine` (which throws a message). */
function linesField(name, label, help, toLine, parseLine) {
  return {
    name, label, type: "custom",
    render: (value) => h("textarea", { id: `f-${name}`, rows: 4, class: "code", spellcheck: "false" }, (value || []).map(toLine).join("\n")),
    read: (el) => el.value.split("\n").map((l) => l.trim()).filter(Boolean).map((line, i) => {
      try {
        return parseLine(line);
      } catch (message) {
        throw new FieldError(name, `Line ${i + 1}: ${message}`);
      }
    }),
    help,
  };
}

const tagsField = linesField("tags", "Tags", "One tag per line: caption #rrggbb", (t) => `${t.caption} ${t.color}`, (line) => {
  const m = line.match(/^(.*\S)\s+(#[0-9a-fA-F]{6})$/);
  if (!m) throw "expected a caption and a colour like #ff8800";
  return { caption: m[1], color: m[2].toLowerCase() };
});

const presetsField = linesField("windowPresets", "Window presets", "One preset per line: label level width (e.g. Lung -600 1500)",
  (p) => `${p.label} ${p.level} ${p.width}`, (line) => {
    const m = line.match(/^(.*\S)\s+(-?\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)$/);
    if (!m) throw "expected a label, a level and a width";
    return { label: m[1], level: Number(m[2]), width: Number(m[3]) };
  });

function iconField() {
  return {
    name: "icon", label: "Icon", type: "custom",
    render: (icon) => h("div", { id: "f-icon", style: { display: "flex", gap: "8px", alignItems: "center" } },
      h("input", { type: "text", name: "glyph", value: icon.glyph, style: { width: "140px" }, "aria-label": "Glyph", placeholder: "glyph" }),
      h("label", { class: "muted" }, "colour ", h("input", { type: "color", name: "color", value: icon.color })),
      h("label", { class: "muted" }, "background ", h("input", { type: "color", name: "backgroundColor", value: icon.backgroundColor }))),
    read: (el) => {
      const icon = Object.fromEntries([...el.querySelectorAll("input")].map((i) => [i.name, i.value.trim()]));
      if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(icon.glyph)) throw new FieldError("icon", "The glyph is a kebab-case name such as “lung”.");
      if (!COLOR.test(icon.color) || !COLOR.test(icon.backgroundColor)) throw new FieldError("icon", "Colours are #rrggbb.");
      return icon;
    },
    help: "A glyph name of CIRCUS's icon set and its colours.",
  };
}

const FIELDS = [
  { name: "projectName", label: "Name", required: true },
  { name: "description", label: "Description", type: "textarea", rows: 2 },
  iconField(),
  { name: "windowPriority", label: "Window priority", type: "select", options: PRIORITIES.map((p) => [p, p]),
    help: "Where the viewer takes the initial window from, in order." },
  tagsField,
  presetsField,
  { name: "caseAttributesSchema", label: "Case attributes", type: "json", rows: 5, help: "A JSON schema of the case attributes ({} for none)." },
  { name: "labelAttributesSchema", label: "Label attributes", type: "json", rows: 5, help: "A JSON schema of the label attributes ({} for none)." },
];

const NEW_PROJECT = {
  projectName: "", description: "", icon: { glyph: "lung", color: "#ffffff", backgroundColor: "#2f6f9f" },
  windowPriority: "dicom,preset,auto", tags: [], windowPresets: [], caseAttributesSchema: {}, labelAttributesSchema: {},
};

async function editProject(project) {
  const saved = await formDialog({
    title: `Edit ${project.projectName}`, wide: true, fields: FIELDS, values: project,
    submit: (values) => api.patch(`/admin/projects/${encodeURIComponent(project.projectId)}`, values, { quiet: true }),
  });
  if (saved) table.reload();
}

async function newProject() {
  const saved = await formDialog({
    title: "New project", submitLabel: "Create", wide: true, fields: FIELDS, values: NEW_PROJECT,
    submit: (values) => api.post("/admin/projects", values, { quiet: true }),
  });
  if (saved) table.reload();
}

function iconSwatch(icon) {
  return h("span", { class: "chip", style: { background: icon?.backgroundColor, color: icon?.color, borderColor: "transparent" } }, icon?.glyph || "");
}

const table = new DataTable($("#table"), {
  name: "Projects",
  endpoint: "/admin/projects",
  clientSide: true,
  urlState: true,
  columns: [
    { key: "projectName", label: "Name", sortable: true, render: (p) => [iconSwatch(p.icon), " ", p.projectName] , text: (p) => p.projectName },
    { key: "projectId", label: "Project ID", className: "mono" },
    { key: "description", label: "Description", className: "clip" },
    { key: "tags", label: "Tags", render: (p) => (p.tags || []).map((t) => h("span", { class: "chip", style: { borderColor: t.color } }, t.caption)),
      text: (p) => (p.tags || []).map((t) => t.caption).join(" ") },
    { key: "windowPriority", label: "Window priority", className: "mono" },
    { key: "updatedAt", label: "Updated", sortable: true, render: (p) => format.dateTime(p.updatedAt) },
  ],
  rowKey: (p) => p.projectId,
  sort: { key: "updatedAt", order: -1 },
  filters: [{ name: "q", label: "Search", placeholder: "name, ID, description, tag" }],
  onOpen: editProject,
  rowActions: [{ label: "Edit", run: editProject }],
  empty: "No project matches.",
});

newButton("New project", newProject);
