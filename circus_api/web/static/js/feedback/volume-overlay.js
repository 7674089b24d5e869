// `VolumeOverlay` (spec 7.6): the plug-in's segmentation volumes, drawn as tinted masks over the
// job's viewer (feedback/viewer-host.js -> viewer.setMasks). No feedback.
//
// Options: `volumeId` (0: the volume of entries without their own), `dataPath` (results.volumes),
// `colorMap` (name -> "#rrggbb" or "#rrggbbaa"), `defaultColor` (#ffff0088), `only` (names to
// show; the others are not listed). Each entry {volumeId?, name, origin [x, y, z], size [x, y, z],
// rawFile?} (voxels of the job's volume) loads the attachment `rawFile` or `<name>.raw.gz`,
// gunzipped when its name ends in .gz (unless the bytes are not gzip: the browser may have
// decoded them already).
//
// The spec leaves the voxel format open, so both are taken, told apart by the length for the
// box's sx*sy*sz voxels: sx*sy*sz bytes is a mask of one byte per voxel (non-zero = inside),
// ceil(sx*sy*sz / 8) bytes is packed one bit per voxel (MSB first, x fastest then y then z, the
// packing of the case labels). Any other length is an error shown on the volume's row, and the
// volume is not drawn. Each row: a show/hide checkbox, the colour, the name (a click goes to the
// mask's centre of mass), volume, origin, size, the file, and the load state (voxel count).

import { trackProgress } from "../api.js";
import { h } from "../dom.js";
import * as format from "../format.js";
import { atPath } from "./common.js";

const DEFAULT_PATH = "results.volumes";
const DEFAULT_COLOR = "#ffff0088";
const COLOR = /^#?[0-9a-f]{6}([0-9a-f]{2})?$/i;

let displays = 0; // each display instance owns an overlay source of the viewer host
const files = new Map(); // attachment URL -> Promise<Uint8Array> (the file, gunzipped), per page

function isTriple(v) {
  return Array.isArray(v) && v.length === 3 && v.every((x) => Number.isFinite(Number(x)));
}

async function gunzip(bytes) {
  if (typeof DecompressionStream !== "function") throw new Error("this browser cannot decompress gzip files");
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  try {
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch {
    throw new Error("not a valid gzip file");
  }
}

/** The attachment's bytes, gunzipped when its name ends in .gz (shared by the page's displays). */
function loadFile(url, file) {
  if (!files.has(url)) {
    const promise = (async () => {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      const gzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
      return /\.gz$/i.test(file) && gzip ? gunzip(bytes) : bytes;
    })();
    files.set(url, promise);
    promise.catch(() => files.delete(url)); // a later rendering tries again
  }
  return files.get(url);
}

/** Bits (1 per voxel, MSB first) of a mask given as 1 byte or 1 bit per voxel; null for another
 * length. */
export function maskBits(bytes, size) {
  const n = size[0] * size[1] * size[2];
  if (bytes.length === n) {
    const bits = new Uint8Array(Math.ceil(n / 8));
    for (let k = 0; k < n; k++) if (bytes[k]) bits[k >> 3] |= 0x80 >> (k & 7);
    return { bits, format: "1 byte per voxel" };
  }
  if (bytes.length === Math.ceil(n / 8)) return { bits: bytes, format: "1 bit per voxel" };
  return null;
}

/** Voxels inside and their centre of mass [x, y, z] in the box (null when empty). */
function summarize(bits, size) {
  const [sx, sy] = size;
  const n = size[0] * size[1] * size[2];
  let count = 0;
  let x = 0;
  let y = 0;
  let z = 0;
  for (let b = 0; b < bits.length; b++) {
    const byte = bits[b];
    if (!byte) continue;
    for (let bit = 0; bit < 8; bit++) {
      const k = b * 8 + bit;
      if (k >= n || !(byte & (0x80 >> bit))) continue;
      count += 1;
      x += k % sx;
      y += Math.floor(k / sx) % sy;
      z += Math.floor(k / (sx * sy));
    }
  }
  return { count, centre: count ? [x / count, y / count, z / count] : null };
}

export function createVolumeOverlay(def, ctx) {
  const options = def.options || {};
  const source = `volume-overlay:${(displays += 1)}`;
  const only = options.only === undefined || options.only === null ? null : [].concat(options.only).map(String);
  const colorMap = options.colorMap && typeof options.colorMap === "object" ? options.colorMap : {};
  const fallbackColor = COLOR.test(String(options.defaultColor || "")) ? options.defaultColor : DEFAULT_COLOR;
  const present = new Set(ctx.attachments?.files() || []);
  const all = atPath(ctx.job.results, options.dataPath || DEFAULT_PATH);
  const entries = (Array.isArray(all) ? all : []).filter((v) => v && typeof v === "object" && (!only || only.includes(String(v.name))));
  let destroyed = false;

  const items = entries.map((entry, index) => {
    const name = entry.name === undefined || entry.name === null ? `(volume ${index + 1})` : String(entry.name);
    const file = entry.rawFile ? String(entry.rawFile) : `${name}.raw.gz`;
    const mapped = colorMap[name];
    const color = COLOR.test(String(mapped || "")) ? mapped : fallbackColor;
    const volumeId = Number(entry.volumeId ?? options.volumeId ?? 0);
    const origin = isTriple(entry.origin) ? entry.origin.map(Number) : null;
    const size = isTriple(entry.size) ? entry.size.map((v) => Math.round(Number(v))) : null;
    const item = { name, file, color, volumeId, origin, size, bits: null, visible: true, centre: null };
    item.checkbox = h("input", { type: "checkbox", checked: true, disabled: true, "aria-label": `Show ${name}`,
      onchange: () => { item.visible = item.checkbox.checked; item.li.classList.toggle("hidden-overlay", !item.visible); apply(); } });
    item.state = h("span", { class: "overlay-state small", "aria-live": "polite" }, "Loading…");
    const meta = [`volume ${volumeId}`, `origin [${origin ? origin.join(", ") : "?"}]`, `size [${size ? size.join(", ") : "?"}]`].join(" · ");
    item.li = h("li", { class: "overlay-item loading", dataset: { name } },
      h("label", { class: "overlay-toggle", title: `Show or hide ${name}` }, item.checkbox,
        h("span", { class: "swatch", style: { background: color }, "aria-hidden": "true" })),
      h("button", { type: "button", class: "link-button overlay-name", title: `Show ${name} in volume ${volumeId}`, onclick: () => goTo(item) }, name),
      item.state,
      h("span", { class: "overlay-meta muted small" }, meta, " · ",
        present.has(file) ? h("a", { href: ctx.attachments.url(file), target: "_blank", rel: "noopener" }, file) : h("span", { class: "faint" }, `${file} (missing)`)));
    return item;
  });

  function fail(item, message) {
    item.li.classList.remove("loading");
    item.li.classList.add("failed");
    item.checkbox.checked = false;
    item.checkbox.disabled = true;
    item.state.className = "overlay-state small field-error";
    item.state.textContent = message;
  }

  async function load(item) {
    if (!item.size || item.size.some((n) => n <= 0)) return fail(item, `${item.name}: no valid size [x, y, z] in the results.`);
    if (!item.origin) return fail(item, `${item.name}: no valid origin [x, y, z] in the results.`);
    if (!present.has(item.file)) return fail(item, `${item.file} is not among the job's files.`);
    if (!ctx.viewer) return fail(item, "There is no viewer to draw it in.");
    let bytes;
    try {
      bytes = await trackProgress(loadFile(ctx.attachments.url(item.file), item.file));
    } catch (error) {
      if (!destroyed) fail(item, `${item.file}: ${error.message || error}`);
      return;
    }
    if (destroyed) return;
    const mask = maskBits(bytes, item.size);
    if (!mask) {
      const n = item.size[0] * item.size[1] * item.size[2];
      return fail(item, `${item.file}: ${format.number(bytes.length)} bytes, expected ${format.number(n)} (1 byte per voxel) or ${format.number(Math.ceil(n / 8))} (1 bit per voxel) for size [${item.size.join(", ")}]`);
    }
    const { count, centre } = summarize(mask.bits, item.size);
    item.bits = mask.bits;
    item.centre = centre && centre.map((v, n) => Math.round(item.origin[n] + v));
    item.li.classList.remove("loading");
    item.checkbox.disabled = false;
    item.state.className = "overlay-state small muted";
    item.state.textContent = `${format.number(count)} ${count === 1 ? "voxel" : "voxels"}`;
    item.state.title = mask.format;
    apply();
  }

  function apply() {
    if (destroyed || !ctx.viewer) return;
    ctx.viewer.setOverlays(source, items.filter((item) => item.bits).map((item) => ({
      volumeId: item.volumeId, origin: item.origin, size: item.size, bits: item.bits, color: item.color, visible: item.visible,
    })));
  }

  function goTo(item) {
    if (!ctx.viewer) return;
    const location = item.centre || (item.origin && item.size ? item.origin.map((v, n) => Math.round(v + (item.size[n] - 1) / 2)) : null);
    if (!location) return;
    if (!item.visible && item.bits) {
      item.checkbox.checked = true;
      item.checkbox.dispatchEvent(new Event("change"));
    }
    ctx.viewer.select({ volumeId: item.volumeId, location }, { ring: false });
  }

  for (const item of items) load(item);

  const element = h("div", { class: "display-overlay" },
    h("p", { class: "muted small" }, "Segmentation volumes of the plug-in, drawn over the image; a name goes to its volume."),
    items.length ? h("ul", { class: "overlay-list" }, items.map((item) => item.li)) : h("p", { class: "muted" }, "None."));
  return {
    element,
    collects: false,
    destroy: () => {
      destroyed = true;
      ctx.viewer?.setOverlays(source, []);
    },
  };
}
