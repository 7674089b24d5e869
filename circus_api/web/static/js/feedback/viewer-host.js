// The job page's image viewer, shared by the result displays: one viewer (static/js/viewer.js)
// on one of the job's volumes at a time, with the job's partial volume descriptor and the
// plug-in's display window (results.metadata.displayOptions).
//
//   const host = new ViewerHost(element, job, { windowFor: (volumeId) => ({level, width}) });
//   host.setCandidates(volumeId, candidates, { markStyle, onSelect });   // the viewer's markers
//   host.select({ volumeId, location, radius });      // go there and ring it (null: no ring)
//   host.setPoints("locator", [{ volumeId, location, label, color }]);  // extra cross marks
//   host.setOverlays("overlay", [{ volumeId, origin, size, bits, color, visible }]);
//                                                     // voxel masks (viewer.setMasks), per source
//   host.startPicking((pick) => ...) / host.stopPicking()   // a click in the image -> voxel
//
// Marks of its own (the ring of the chosen candidate, locator points) are drawn as SVG over the
// viewer's canvas from its public API (imageToClient, the "render" event), so the viewer itself
// needs nothing for them. Candidates and overlays are the viewer's own (setCandidates, setMasks):
// the host keeps them per volume and gives the viewer those of the volume it shows, whenever it
// switches. Voxel coordinates are [x, y, z] of the volume the descriptor makes.

import { createViewer } from "../viewer.js";
import { h } from "../dom.js";

const SVG = "http://www.w3.org/2000/svg";
const RING_COLOR = "#ffd43b";

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** (i, j) in the plane of `axis` and the plane's own coordinate, for voxel [x, y, z]. */
function inPlane(axis, [x, y, z]) {
  if (axis === "axial") return { i: x, j: y, k: z };
  if (axis === "coronal") return { i: x, j: z, k: y };
  return { i: y, j: z, k: x };
}

function fromPlane(axis, i, j, k) {
  if (axis === "axial") return [i, j, k];
  if (axis === "coronal") return [i, k, j];
  return [k, i, j];
}

export class ViewerHost {
  constructor(container, job, { windowFor = () => null } = {}) {
    this.container = container;
    this.job = job;
    this.windowFor = windowFor;
    this.volumeId = null;
    this.viewer = null;
    this.candidates = new Map(); // volumeId -> {list, options}
    this.points = new Map(); // source -> [{volumeId, location, label, color}]
    this.overlays = new Map(); // source -> [{volumeId, origin, size, bits, color, visible}]
    this.selected = null;
    this.picking = null;
    this.listeners = new Set();
    this.stage = h("div", { class: "job-viewer-stage" });
    this.switcher = h("div", { class: "job-viewer-volumes", hidden: (job.series || []).length < 2 });
    this.hint = h("div", { class: "job-viewer-hint", hidden: true });
    container.append(this.switcher, this.stage, this.hint);
    this.overlay = svg("svg", { class: "job-viewer-overlay", "aria-hidden": "true" });
    this.renderSwitcher();
  }

  renderSwitcher() {
    this.switcher.replaceChildren(...(this.job.series || []).map((s, index) => h("button", {
      type: "button", class: `volume-tab${index === this.volumeId ? " active" : ""}`, title: s.seriesUid,
      onclick: () => this.show(index),
    }, `Volume ${index}`)));
  }

  /** Show volume `volumeId` (creates its viewer); resolves when its first slice is drawn. */
  async show(volumeId) {
    if (volumeId === this.volumeId && this.viewer) {
      const viewer = this.viewer;
      return viewer.ready.then(() => viewer, () => null);
    }
    const series = (this.job.series || [])[volumeId];
    if (!series) return null;
    this.viewer?.destroy();
    this.stage.replaceChildren();
    this.volumeId = volumeId;
    this.renderSwitcher();
    const options = { seriesUid: series.seriesUid, pvd: series.partialVolumeDescriptor, slice: "middle" };
    const window = this.windowFor(volumeId);
    if (window) options.window = window;
    const viewer = (this.viewer = createViewer(this.stage, options));
    viewer.on("render", () => this.drawOverlay());
    this.applyCandidates();
    this.applyOverlays();
    this.attachOverlay(viewer);
    try {
      await viewer.ready;
    } catch {
      return null; // the viewer shows its own error
    }
    if (viewer !== this.viewer) return null;
    this.drawOverlay();
    this.emit("ready", { volumeId });
    return viewer;
  }

  attachOverlay(viewer) {
    const stage = this.stage.querySelector(".circus-viewer-stage") || this.stage;
    stage.append(this.overlay);
    const canvas = this.stage.querySelector("canvas");
    if (!canvas) return;
    let down = null;
    canvas.addEventListener("mousedown", (e) => { down = e.button === 0 && !e.shiftKey ? { x: e.clientX, y: e.clientY } : null; });
    canvas.addEventListener("click", (e) => {
      if (!this.picking || !down || Math.hypot(e.clientX - down.x, e.clientY - down.y) > 3 || viewer !== this.viewer) return;
      const voxel = this.voxelAt(e.clientX, e.clientY);
      if (voxel) this.picking({ volumeId: this.volumeId, location: voxel });
    });
  }

  on(name, fn) {
    const entry = { name, fn };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  emit(name, detail) {
    for (const entry of this.listeners) if (entry.name === name) entry.fn(detail);
  }

  // ---- candidates and selection ------------------------------------------------------------------

  setCandidates(volumeId, list, options = {}) {
    this.candidates.set(volumeId, { list, options });
    if (volumeId === this.volumeId) this.applyCandidates();
  }

  applyCandidates() {
    if (!this.viewer) return;
    const entry = this.candidates.get(this.volumeId);
    const style = entry?.options.markStyle || {};
    this.viewer.setCandidates(entry ? entry.list : [], {
      color: style.color || "#ff00ff", dimmedColor: style.dimmedColor || "#ff00ff55",
      radius: style.radius || 10, width: style.width || 3,
      onSelect: (candidate) => entry?.options.onSelect?.(candidate),
    });
  }

  /** Show a voxel (and ring it when `ring`): switches volume when needed. */
  async select(target, { ring = true } = {}) {
    this.selected = target && ring ? target : null;
    if (!target) {
      this.drawOverlay();
      return;
    }
    const viewer = await this.show(target.volumeId ?? 0);
    if (!viewer || viewer !== this.viewer) return;
    const [x, y, z] = target.location.map(Number);
    viewer.goTo({ x, y, z });
    this.drawOverlay();
  }

  setPoints(source, list) {
    this.points.set(source, list || []);
    this.drawOverlay();
  }

  // ---- voxel masks (VolumeOverlay) ---------------------------------------------------------------

  /** The masks of `source` (replacing its previous ones): drawn on the volume of their `volumeId`
   * (default 0) while it is shown; `visible: false` keeps one listed but undrawn. */
  setOverlays(source, list) {
    this.overlays.set(source, list || []);
    this.applyOverlays();
  }

  applyOverlays() {
    if (!this.viewer) return;
    const masks = [...this.overlays.values()].flat().filter((o) => (o.volumeId ?? 0) === this.volumeId);
    this.viewer.setMasks(masks);
  }

  // ---- picking a voxel (Locator) -----------------------------------------------------------------

  startPicking(callback, hint = "Click the lesion in the image. Esc stops.") {
    this.picking = callback;
    this.container.classList.add("picking");
    this.hint.textContent = hint;
    this.hint.hidden = false;
  }

  stopPicking() {
    this.picking = null;
    this.container.classList.remove("picking");
    this.hint.hidden = true;
  }

  /** The voxel [x, y, z] under client point (cx, cy) of the plane on screen, or null. */
  voxelAt(cx, cy) {
    const viewer = this.viewer;
    const size = viewer?.metadata?.size;
    if (!size) return null;
    const p0 = viewer.imageToClient(0, 0);
    const p1 = viewer.imageToClient(1, 1);
    if (!p0 || !p1 || p1.x === p0.x || p1.y === p0.y) return null;
    const i = Math.round((cx - p0.x) / (p1.x - p0.x));
    const j = Math.round((cy - p0.y) / (p1.y - p0.y));
    const voxel = fromPlane(viewer.getAxis(), i, j, viewer.getSlice());
    return voxel.every((v, n) => v >= 0 && v < size[n]) ? voxel : null;
  }

  // ---- the SVG overlay ---------------------------------------------------------------------------

  /** Screen position (relative to the overlay) and pixel scale of voxel `location`, with its
   * distance in slices from the plane on screen; null when the plane is not ready. */
  project(location) {
    const viewer = this.viewer;
    if (!viewer?.metadata?.size || !viewer.metadata.spacing) return null;
    const axis = viewer.getAxis();
    const { i, j, k } = inPlane(axis, location.map(Number));
    const a = viewer.imageToClient(i, j);
    const b = viewer.imageToClient(i + 1, j + 1);
    if (!a || !b) return null;
    const rect = this.overlay.getBoundingClientRect();
    const spacing = viewer.metadata.spacing;
    const [si, sj, sk] = axis === "axial" ? [spacing[0], spacing[1], spacing[2]]
      : axis === "coronal" ? [spacing[0], spacing[2], spacing[1]] : [spacing[1], spacing[2], spacing[0]];
    return { x: a.x - rect.left, y: a.y - rect.top, pxPerMmX: Math.abs(b.x - a.x) / si, pxPerMmY: Math.abs(b.y - a.y) / sj,
      offMm: Math.abs(k - viewer.getSlice()) * sk };
  }

  drawOverlay() {
    const overlay = this.overlay;
    overlay.replaceChildren();
    if (!this.viewer || !overlay.isConnected) return;
    const ring = this.selected;
    if (ring && (ring.volumeId ?? 0) === this.volumeId) {
      const p = this.project(ring.location);
      const radius = (ring.radius || 10) * 1.6;
      if (p && p.offMm <= radius) {
        const rx = radius * p.pxPerMmX;
        const ry = radius * p.pxPerMmY;
        const dashed = p.offMm > 0.5 * (ring.radius || 10);
        const group = svg("g", { class: "selected-ring", "data-volume": this.volumeId });
        group.append(svg("ellipse", { cx: p.x, cy: p.y, rx, ry, fill: "none", stroke: RING_COLOR, "stroke-width": 1.5,
          "stroke-dasharray": dashed ? "4 4" : "none" }));
        for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
          group.append(svg("line", { x1: p.x + dx * rx, y1: p.y + dy * ry, x2: p.x + dx * (rx + 7), y2: p.y + dy * (ry + 7),
            stroke: RING_COLOR, "stroke-width": 2 }));
        }
        overlay.append(group);
      }
    }
    for (const list of this.points.values()) {
      for (const point of list) {
        if ((point.volumeId ?? 0) !== this.volumeId) continue;
        const p = this.project(point.location);
        if (!p || p.offMm > 3) continue;
        const color = point.color || "#3bc9db";
        const exact = p.offMm < 0.75;
        const group = svg("g", { class: "locator-mark", opacity: exact ? 1 : 0.5 });
        const r = 7;
        group.append(svg("circle", { cx: p.x, cy: p.y, r, fill: "none", stroke: color, "stroke-width": 1.5 }));
        group.append(svg("line", { x1: p.x - r - 4, y1: p.y, x2: p.x - 3, y2: p.y, stroke: color, "stroke-width": 1.5 }));
        group.append(svg("line", { x1: p.x + 3, y1: p.y, x2: p.x + r + 4, y2: p.y, stroke: color, "stroke-width": 1.5 }));
        group.append(svg("line", { x1: p.x, y1: p.y - r - 4, x2: p.x, y2: p.y - 3, stroke: color, "stroke-width": 1.5 }));
        group.append(svg("line", { x1: p.x, y1: p.y + 3, x2: p.x, y2: p.y + r + 4, stroke: color, "stroke-width": 1.5 }));
        if (point.label) {
          const text = svg("text", { x: p.x + r + 5, y: p.y - r - 2, fill: color, "font-size": 12, "font-weight": 600,
            stroke: "#000", "stroke-width": 3, "paint-order": "stroke" });
          text.textContent = point.label;
          group.append(text);
        }
        overlay.append(group);
      }
    }
  }

  destroy() {
    this.viewer?.destroy();
    this.viewer = null;
  }
}
