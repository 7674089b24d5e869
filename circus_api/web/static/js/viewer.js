/**
 * circus image viewer: a slice viewer for one series (series, case and job-result pages).
 *
 * Pixels come raw from the CIRCUS RS routes (`/rs/series/:uid/...`, little-endian, CT as int16 HU)
 * and are windowed here (a lookup table per window), so window/level drags are instant and the
 * value under the cursor is the real one. Pure ES module, no build step, no framework; style in
 * /static/css/viewer.css. The container decides the size (give it a height).
 *
 *   import { createViewer } from "/static/js/viewer.js";
 *   const viewer = createViewer(element, {
 *     seriesUid,                       // required
 *     pvd: {start: 1, end: 300, delta: 1},   // optional selection (or "1,300,1"); or
 *     images: "1-300",                 // optional selection as an image range (ascending)
 *     api: {token, fetch, base},       // optional: bearer token (string or () => string), a fetch
 *                                      // replacement (url, init) => Promise<Response>, a URL prefix;
 *                                      // default: same-origin fetch with the session cookie.
 *                                      // A function is taken as the fetch replacement.
 *     axis: "axial",                   // initial axis: axial | coronal | sagittal
 *     slice: 0,                        // initial slice index (of `axis`), or "middle"
 *     window: {level, width},          // initial window; default: the DICOM window, else for CT
 *                                      // mediastinum, else the first slice's range
 *     toolbar: true,                   // axis and preset buttons above the image
 *     prefetch: 16,                    // slices fetched ahead in the scroll direction
 *     batch: 8,                        // axial slices per prefetch request (/slices/a-b)
 *     fill: true,                      // when idle, load the rest of the series if it takes at
 *                                      // most half the cache (scrolling is then local)
 *     cacheBytes: undefined,           // sets the budget of the page-wide plane cache (setCacheBudget)
 *   });
 *   await viewer.ready;                // resolves with the metadata once it is here and the first
 *                                      // slice is drawn (rejects on 403/404/...; shown in the viewer)
 *
 * The first axial slice is requested together with the metadata and drawn as soon as it arrives
 * (its response headers carry spacing, modality and window); scrolling, axes and overlays start
 * when the metadata is here.
 *
 * Methods:
 *   viewer.metadata                    // GET /rs/series/:uid/metadata: size [x,y,z], spacing [x,y,z] mm,
 *                                      // imageNumbers, slicePositions (z mm per slice), origin,
 *                                      // direction (3x3, columns = axes), dtype, hounsfield, window, ...
 *   viewer.setSlice(index) / viewer.getSlice() / viewer.sliceCount(axis?)
 *   viewer.setAxis("axial" | "coronal" | "sagittal") / viewer.getAxis()
 *   viewer.setWindow({level, width}) / viewer.getWindow() / viewer.setPreset(name)
 *                                      // name: lung | mediastinum | bone | brain | default
 *   viewer.setZoom(factor) / viewer.resetView()
 *   viewer.goTo({x, y, z})             // voxel coordinates: shows the plane through that voxel
 *                                      // (axial slice z, coronal y, sagittal x), centred when zoomed
 *   viewer.setLabels(labels)           // case labels: a revision series entry's `labels` (spec 5.1),
 *                                      // in volume coordinates (mm = voxel index x spacing). voxel
 *                                      // labels are tinted masks (blob /api/blob/:hash unpacked here,
 *                                      // every axis); cuboid/ellipsoid/point on every axis; rectangle,
 *                                      // ellipse, polyline, ruler on their axial slice. Colour from
 *                                      // data.color/alpha. Returns a Promise settled when blobs are in.
 *   viewer.setMasks(masks)             // voxel masks given directly (nothing fetched), drawn like voxel
 *                                      // labels on every axis, above them: [{origin: [x,y,z] voxels,
 *                                      // size: [x,y,z], bits: Uint8Array (1 bit per voxel of the box,
 *                                      // MSB first, x fastest then y then z: the case labels' packing),
 *                                      // color ("#rrggbb" or "#rrggbbaa"), alpha? (0-1; default the
 *                                      // colour's own, else 0.5), visible? (false: not drawn)}]; masks
 *                                      // whose bits are too short for their size are skipped. Replaces
 *                                      // the previous masks; [] removes them.
 *   viewer.setCandidates(candidates, {onSelect, color, dimmedColor, radius, width})
 *                                      // CAD lesion candidates {location: [x,y,z] voxels, confidence,
 *                                      // rank?, id?} (spec 7.6): a circle of `radius` mm (default 10)
 *                                      // with "rank (score)" on the candidate's slice, dimmed on the
 *                                      // slices it reaches; onSelect(candidate, arrayIndex) on click
 *   viewer.valueAt(i, j)               // raw value (HU for CT) of pixel (i, j) of the plane on screen
 *   viewer.imageToClient(i, j)         // client (page) coordinates of the centre of pixel (i, j)
 *   viewer.on(name, fn) -> unsubscribe // events below; also dispatched on the container as
 *                                      // CustomEvent "circus-viewer:<name>" with the same detail
 *   viewer.timings                     // {firstSlice, metadata}: ms since createViewer, which was
 *                                      // called `created` ms after the page's navigation
 *   viewer.destroy()
 * Module exports besides createViewer: PRESETS, AXES, setCacheBudget(bytes).
 *
 * Events: "ready" {timings}, "slicechange" {axis, index, imageNumber, position},
 *   "axischange" {axis, index}, "windowchange" {level, width}, "render" {axis, index} (a plane
 *   drawn), "candidateselect" {candidate, index}, "error" {message}.
 *
 * Mouse and keys (the viewer takes focus on click): wheel, arrow keys, PageUp/PageDown (10),
 * Home/End and the slider scroll; ctrl+wheel or +/- zoom, 0 resets zoom/pan; right-drag (or
 * shift+left-drag) window/level; middle-drag or space+left-drag pan; 1-4 presets (lung,
 * mediastinum, bone, brain), 5 the series' own window; a/c/s axial/coronal/sagittal. The status
 * line shows the slice, its position (mm), the voxel under the cursor and its value (HU for CT),
 * and W/L. Reformats show the head at the top.
 */

export const PRESETS = Object.freeze({
  lung: Object.freeze({level: -600, width: 1500}),
  mediastinum: Object.freeze({level: 40, width: 400}),
  bone: Object.freeze({level: 400, width: 1800}),
  brain: Object.freeze({level: 40, width: 80}),
});
const PRESET_KEYS = ["lung", "mediastinum", "bone", "brain"];
export const AXES = Object.freeze(["axial", "coronal", "sagittal"]);
const AXIS_KEYS = {a: "axial", c: "coronal", s: "sagittal"};
const TYPED = {
  int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, float32: Float32Array, float64: Float64Array,
};
const LABEL_COLORS = ["#ff0000", "#00ff00", "#0080ff", "#ffff00", "#ff00ff", "#00ffff", "#ff8000"];
const MAX_CONCURRENT = 3; // prefetch connections
const MAX_CONNECTIONS = 6; // with the plane on screen (a browser's per-host limit)

export function createViewer(container, options) {
  return new Viewer(container, options);
}

// Decoded planes, shared by every viewer of the page (a job page shows one viewer per
// candidate, all of one series): least recently used first out past the budget.
const PLANES = {map: new Map(), bytes: 0, budget: 384 << 20};

/** The byte budget of the shared plane cache (default 384 MiB: a 512x512x600 CT in int16). */
export function setCacheBudget(bytes) {
  PLANES.budget = Math.max(8 << 20, Number(bytes) || 0);
  evictPlanes(null);
}

function storePlane(key, plane, keep) {
  if (PLANES.map.has(key)) return;
  PLANES.map.set(key, plane);
  PLANES.bytes += plane.data.byteLength;
  evictPlanes(keep);
}

function evictPlanes(keep) {
  for (const [key, plane] of PLANES.map) {
    if (PLANES.bytes <= PLANES.budget) break;
    if (key === keep) continue;
    PLANES.map.delete(key);
    PLANES.bytes -= plane.data.byteLength;
  }
}

function clamp(v, lo, hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

function hexToRgb(color, fallback = [255, 0, 0]) {
  const m = /^#?([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(String(color || ""));
  if (!m) return {rgb: fallback, alpha: null};
  const n = parseInt(m[1], 16);
  return {rgb: [(n >> 16) & 255, (n >> 8) & 255, n & 255], alpha: m[2] ? parseInt(m[2], 16) / 255 : null};
}

function el(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

class Viewer {
  constructor(container, options = {}) {
    if (!options.seriesUid) throw new Error("createViewer: seriesUid is required");
    this.container = container;
    this.options = options;
    this.seriesUid = options.seriesUid;
    this.api = normaliseApi(options.api);
    this.metadata = null;
    this._t0 = performance.now();
    this.timings = {created: this._t0};
    this._listeners = new Map();
    this._axis = AXES.includes(options.axis) ? options.axis : "axial";
    this._index = {axial: 0, coronal: 0, sagittal: 0};
    this._focus = null; // {x, y, z} voxel the axes switch around
    this._window = null;
    this._defaultWindow = null;
    this._zoom = 1;
    this._pan = [0, 0];
    this._direction = 1; // last scroll direction, for prefetching
    this._planes = PLANES.map; // shared by every viewer: "series?selection|axis:index" -> plane, LRU order
    if (options.cacheBytes) setCacheBudget(options.cacheBytes);
    this._fill = options.fill !== false;
    this._prefetchCount = options.prefetch ?? 16;
    this._pending = new Map(); // key -> {promise, resolve, reject, job} of planes being fetched
    this._queue = []; // jobs {axis, indexes, urgent} waiting for a connection, first served first
    this._active = 0;
    this._batch = options.batch || 8;
    this._lut = null;
    this._lutKey = "";
    this._rendered = {key: "", lutKey: ""};
    this._labels = [];
    this._masks = [];
    this._candidates = [];
    this._candidateOptions = {};
    this._pointer = null; // {i, j} image pixel under the cursor
    this._destroyed = false;
    this._frame = 0;
    this._build();
    this.ready = this._load();
    this.ready.catch((err) => this._fail(err));
  }

  // ---- public API ---------------------------------------------------------------------------

  on(name, fn) {
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(fn);
    return () => this._listeners.get(name).delete(fn);
  }

  getAxis() {
    return this._axis;
  }

  getSlice() {
    return this._index[this._axis];
  }

  sliceCount(axis = this._axis) {
    if (!this.metadata) return 0;
    const [x, y, z] = this.metadata.size;
    return {axial: z, coronal: y, sagittal: x}[axis];
  }

  setSlice(index) {
    if (!this._navigable()) return void this._whenReady(() => this.setSlice(index));
    const count = this.sliceCount();
    const next = clamp(Math.round(index), 0, count - 1);
    const previous = this._index[this._axis];
    if (next === previous) return;
    this._direction = next > previous ? 1 : -1;
    this._index[this._axis] = next;
    this._updateFocusFromSlice();
    this._slider.value = String(next);
    this._request(this._axis, next, true);
    this._prefetch();
    this._emit("slicechange", this._sliceDetail());
    this._schedule();
  }

  setAxis(axis) {
    if (!this._navigable()) return void this._whenReady(() => this.setAxis(axis));
    if (!AXES.includes(axis) || axis === this._axis) return;
    this._axis = axis;
    const f = this._focus;
    this._index[axis] = {axial: f.z, coronal: f.y, sagittal: f.x}[axis];
    this._zoom = 1;
    this._pan = [0, 0];
    this._slider.max = String(this.sliceCount() - 1);
    this._slider.value = String(this.getSlice());
    this._request(axis, this.getSlice(), true);
    this._prefetch();
    this._updateToolbar();
    this._emit("axischange", {axis, index: this.getSlice()});
    this._emit("slicechange", this._sliceDetail());
    this._schedule();
  }

  getWindow() {
    return this._window ? {...this._window} : null;
  }

  setWindow({level, width}) {
    if (!Number.isFinite(level) || !Number.isFinite(width)) return;
    this._window = {level, width: Math.max(1, width)};
    this._windowTouched = true;
    this._updateToolbar();
    this._emit("windowchange", this.getWindow());
    this._schedule();
  }

  setPreset(name) {
    if (name === "default" && this._defaultWindow) return this.setWindow(this._defaultWindow);
    if (PRESETS[name]) this.setWindow(PRESETS[name]);
  }

  setZoom(factor) {
    this._zoom = clamp(factor, 0.1, 40);
    this._schedule();
  }

  resetView() {
    this._zoom = 1;
    this._pan = [0, 0];
    this._schedule();
  }

  goTo({x, y, z}) {
    if (!this._navigable()) return void this._whenReady(() => this.goTo({x, y, z}));
    const [sx, sy, sz] = this.metadata.size;
    this._focus = {x: clamp(Math.round(x), 0, sx - 1), y: clamp(Math.round(y), 0, sy - 1), z: clamp(Math.round(z), 0, sz - 1)};
    const index = {axial: this._focus.z, coronal: this._focus.y, sagittal: this._focus.x}[this._axis];
    const focus = this._focus;
    this.setSlice(index);
    this._focus = focus;
    if (this._zoom > 1) {
      // bring the point to the centre of the canvas
      const [i, j] = this._inPlane(focus);
      const t = this._transform();
      if (t) {
        const [px, py] = [t.a * (i + 0.5) + t.e, t.d * (j + 0.5) + t.f];
        this._pan = [this._pan[0] + t.cw / 2 - px, this._pan[1] + t.ch / 2 - py];
      }
    }
    this._schedule();
  }

  async setLabels(labels) {
    const list = Array.isArray(labels) ? labels : [];
    const token = (this._labelsToken = {});
    const prepared = list.map((label, k) => prepareLabel(label, k));
    this._labels = prepared;
    this._schedule();
    await Promise.all(prepared.filter((l) => l.type === "voxel" && l.hash).map(async (label) => {
      try {
        const response = await this.api.fetch(`/api/blob/${label.hash}`);
        if (!response.ok) throw new Error(`blob ${label.hash}: HTTP ${response.status}`);
        const bits = new Uint8Array(await response.arrayBuffer());
        if (token !== this._labelsToken) return;
        label.bits = bits;
        label.masks.clear();
      } catch (err) {
        label.error = String(err.message || err);
        this._emit("error", {message: label.error});
      }
    }));
    if (token === this._labelsToken) this._schedule();
  }

  setMasks(masks) {
    this._masks = (Array.isArray(masks) ? masks : []).map((mask, k) => prepareMask(mask, k)).filter(Boolean);
    this._schedule();
  }

  setCandidates(candidates, options = {}) {
    this._candidates = (Array.isArray(candidates) ? candidates : []).map((c, k) => ({
      candidate: c,
      index: k,
      number: c.rank ?? k + 1,
      location: Array.isArray(c.location) ? c.location.map(Number) : [0, 0, 0],
    }));
    this._candidateOptions = {
      color: "#ff00ff", dimmedColor: "#ff00ff55", radius: 10, width: 3, ...options,
    };
    this._schedule();
  }

  valueAt(i, j) {
    const plane = this._currentPlane();
    if (!plane || i < 0 || j < 0 || i >= plane.width || j >= plane.height) return null;
    return plane.data[j * plane.width + i];
  }

  imageToClient(i, j) {
    const t = this._transform();
    if (!t) return null;
    const rect = this._canvas.getBoundingClientRect();
    return {x: rect.left + t.a * (i + 0.5) + t.e, y: rect.top + t.d * (j + 0.5) + t.f};
  }

  destroy() {
    this._destroyed = true;
    cancelAnimationFrame(this._frame);
    this._resizeObserver?.disconnect();
    window.removeEventListener("keyup", this._onKeyUp);
    window.removeEventListener("mousemove", this._onMouseMove);
    window.removeEventListener("mouseup", this._onMouseUp);
    for (const pending of this._pending.values()) pending.reject(new Error("cancelled"));
    this._pending.clear();
    this._queue = [];
    this._root.remove();
  }

  // ---- loading ------------------------------------------------------------------------------

  _query() {
    const o = this.options;
    const params = new URLSearchParams();
    if (o.pvd) {
      const p = typeof o.pvd === "string" ? o.pvd : `${o.pvd.start},${o.pvd.end},${o.pvd.delta}`;
      params.set("pvd", p);
    } else if (o.images) {
      params.set("images", o.images);
    }
    const text = params.toString();
    return text ? `?${text}` : "";
  }

  _url(path) {
    return `/rs/series/${encodeURIComponent(this.seriesUid)}/${path}${this._query()}`;
  }

  async _load() {
    const initial = this.options.slice;
    const early = this._axis !== "axial" ? null : initial === undefined ? 0 : Number.isInteger(initial) && initial >= 0 ? initial : null;
    const metadata = this._fetchMetadata();
    if (early !== null) {
      // the first slice needs no metadata: both requests go out at once, and the slice is drawn
      // as soon as it is here (its headers tell its spacing, modality and window)
      const first = this._request("axial", early, true);
      // (a slice past the end fails alone: the metadata then tells the real count)
      const winner = await Promise.race([first.then((plane) => ({plane}), () => null), metadata.then(() => null)]);
      if (winner && !this.metadata) this._drawProvisional(winner.plane, early);
    }
    const meta = await metadata;
    const provisional = this.metadata?.provisional;
    this.metadata = meta;
    this.timings.metadata = performance.now() - this._t0;
    const [sx, sy, sz] = meta.size;
    const focus = {x: sx >> 1, y: sy >> 1, z: this._axis === "axial" ? 0 : sz >> 1};
    // the initial slice is of the initial axis: "middle", a number, or (axial) the first
    const coordinate = {axial: "z", coronal: "y", sagittal: "x"}[this._axis];
    if (initial === "middle") focus[coordinate] = [sx, sy, sz][{x: 0, y: 1, z: 2}[coordinate]] >> 1;
    else if (Number.isInteger(initial)) focus[coordinate] = initial;
    this._focus = {x: clamp(focus.x, 0, sx - 1), y: clamp(focus.y, 0, sy - 1), z: clamp(focus.z, 0, sz - 1)};
    this._index = {axial: this._focus.z, coronal: this._focus.y, sagittal: this._focus.x};
    this._defaultWindow = meta.window || (meta.hounsfield ? PRESETS.mediastinum : null);
    if (!this._window || (provisional && !this._windowTouched)) {
      this._window = this.options.window ? {...this.options.window} : this._defaultWindow ? {...this._defaultWindow} : null;
    }
    this._slider.max = String(this.sliceCount() - 1);
    this._slider.value = String(this.getSlice());
    this._slider.disabled = false;
    this._updateToolbar();
    const plane = await this._request(this._axis, this.getSlice(), true);
    if (!this._window) this._window = autoWindow(plane.data);
    this._draw();
    this.timings.firstSlice ??= performance.now() - this._t0;
    this._progress.hidden = true;
    this._prefetch();
    this._emit("ready", {timings: {...this.timings}});
    return this.metadata;
  }

  async _fetchMetadata() {
    const response = await this.api.fetch(this._url("metadata"));
    if (!response.ok) throw new Error(await errorText(response));
    return response.json();
  }

  /** Draw the first slice with what its own headers say, until the metadata is here. */
  _drawProvisional(plane, index) {
    const info = plane.info || {};
    this.metadata = {
      provisional: true, size: [plane.width, plane.height, index + 1], spacing: [...(info.spacing || [1, 1]), 1],
      dtype: plane.dtype, hounsfield: !!info.hounsfield, modality: info.modality || "", window: info.window,
      direction: null, origin: [0, 0, 0], slicePositions: null, imageNumbers: null,
    };
    this._index.axial = index;
    this._window = this.options.window ? {...this.options.window}
      : info.window || (info.hounsfield ? {...PRESETS.mediastinum} : autoWindow(plane.data));
    this._updateToolbar();
    this._draw();
    this.timings.firstSlice = performance.now() - this._t0;
    this._progress.hidden = true;
  }

  /** Run `fn` once the metadata is here (calls made while the viewer is still loading). */
  _whenReady(fn) {
    this.ready.then(() => { if (!this._destroyed) fn(); }, () => {});
  }

  _navigable() {
    return !!this.metadata && !this.metadata.provisional;
  }

  _key(axis, index) {
    this._prefix ??= `${this.seriesUid}${this._query()}|`;
    return `${this._prefix}${axis}:${index}`;
  }

  /** One plane, from the cache, a fetch under way, or a new fetch (`urgent`: ahead of prefetches). */
  _request(axis, index, urgent = false) {
    const key = this._key(axis, index);
    const cached = this._planes.get(key);
    if (cached) {
      this._planes.delete(key); // LRU: most recently used last
      this._planes.set(key, cached);
      return Promise.resolve(cached);
    }
    const pending = this._pending.get(key);
    if (pending) {
      if (urgent && !pending.job.started) {
        pending.job.urgent = true;
        this._queue.splice(this._queue.indexOf(pending.job), 1);
        this._queue.unshift(pending.job);
        this._pump();
      }
      return pending.promise;
    }
    return this._enqueue(axis, [index], urgent)[0];
  }

  /** One fetch for `indexes` (axial: consecutive ascending, fetched as one /slices answer). */
  _enqueue(axis, indexes, urgent = false) {
    const job = {axis, indexes, started: false, urgent};
    const promises = indexes.map((index) => {
      let resolve, reject;
      const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
      promise.catch(() => {});
      this._pending.set(this._key(axis, index), {promise, resolve, reject, job});
      return promise;
    });
    if (urgent) this._queue.unshift(job); else this._queue.push(job);
    this._pump();
    return promises;
  }

  _pump() {
    if (!this._queue.length && this._active === 0) this._fillNext();
    while (this._queue.length) {
      const job = this._queue[0];
      // prefetches share a few connections; the plane on screen may always go
      if (this._active >= (job.urgent ? MAX_CONNECTIONS : MAX_CONCURRENT)) return;
      this._queue.shift();
      job.started = true;
      this._active++;
      const keys = job.indexes.map((i) => this._key(job.axis, i));
      this._fetchPlanes(job.axis, job.indexes).then((planes) => {
        planes.forEach((plane, k) => {
          this._store(keys[k], plane);
          this._pending.get(keys[k])?.resolve(plane);
        });
      }, (err) => {
        for (const key of keys) this._pending.get(key)?.reject(err);
        if (keys.includes(this._key(this._axis, this.getSlice()))) this._fail(err);
      }).finally(() => {
        for (const key of keys) if (this._pending.get(key)?.job === job) this._pending.delete(key);
        this._active--;
        if (job.axis === this._axis && job.indexes.includes(this.getSlice())) this._schedule();
        this._pump();
      });
    }
  }

  async _fetchPlanes(axis, indexes) {
    const first = indexes[0];
    const last = indexes[indexes.length - 1];
    const path = axis !== "axial" ? `reformat/${axis}/${first}` : first === last ? `slice/${first}` : `slices/${first}-${last}`;
    const response = await this.api.fetch(this._url(path));
    if (!response.ok) throw new Error(await errorText(response));
    const header = (name) => response.headers.get(name);
    const width = Number(header("X-Circus-Width"));
    const height = Number(header("X-Circus-Height"));
    const dtype = header("X-Circus-Dtype") || this.metadata?.dtype || "int16";
    const Typed = TYPED[dtype];
    if (!Typed) throw new Error(`unsupported pixel type ${dtype}`);
    const buffer = await response.arrayBuffer();
    const count = width * height;
    if (buffer.byteLength !== count * Typed.BYTES_PER_ELEMENT * indexes.length) {
      throw new Error(`${path}: ${buffer.byteLength} bytes for ${indexes.length} planes of ${width}x${height} ${dtype}`);
    }
    let info = null;
    if (header("X-Circus-Hounsfield") !== null) {
      const numbers = (text) => (text ? text.split(",").map(Number) : null);
      const window = numbers(header("X-Circus-Window"));
      info = {
        modality: header("X-Circus-Modality") || "", hounsfield: header("X-Circus-Hounsfield") === "1",
        spacing: numbers(header("X-Circus-Pixel-Spacing")), window: window ? {level: window[0], width: window[1]} : null,
      };
    }
    return indexes.map((index, k) => ({
      data: new Typed(buffer, k * count * Typed.BYTES_PER_ELEMENT, count), width, height, dtype, info,
    }));
  }

  _store(key, plane) {
    storePlane(key, plane, this._key(this._axis, this.getSlice()));
  }

  /** When nothing else is fetched: the next run of missing axial slices nearest to the one on
   * screen, so that a series that fits the cache is soon all here (scrolling is then local). */
  _fillNext() {
    if (!this._fill || this._destroyed || !this._navigable() || this._axis !== "axial") return;
    const [x, y, z] = this.metadata.size;
    const bytes = x * y * z * (TYPED[this.metadata.dtype]?.BYTES_PER_ELEMENT || 2);
    if (bytes > PLANES.budget / 2) return;
    const index = this.getSlice();
    const missing = (i) => i >= 0 && i < z && !this._planes.has(this._key("axial", i)) && !this._pending.has(this._key("axial", i));
    for (let d = 0; d < z; d++) {
      for (const i of this._direction > 0 ? [index + d, index - d] : [index - d, index + d]) {
        if (!missing(i)) continue;
        const step = i >= index ? 1 : -1;
        const run = [i];
        while (run.length < this._batch * 2 && missing(run[run.length - 1] + step)) run.push(run[run.length - 1] + step);
        this._enqueue("axial", run.sort((a, b) => a - b));
        return;
      }
    }
  }

  /** Fetch ahead in the scroll direction (and a little behind); drop queued fetches left behind. */
  _prefetch() {
    if (!this._navigable() || this._prefetchCount <= 0) return;
    const axis = this._axis;
    const index = this.getSlice();
    const count = this.sliceCount();
    const wanted = [];
    for (let k = 1; k <= this._prefetchCount; k++) wanted.push(index + k * this._direction);
    for (let k = 1; k <= 2; k++) wanted.push(index - k * this._direction);
    const inside = wanted.filter((i) => i >= 0 && i < count);
    const keep = new Set([index, ...inside].map((i) => this._key(axis, i)));
    this._queue = this._queue.filter((job) => {
      const keys = job.indexes.map((i) => this._key(job.axis, i));
      if (job.urgent || keys.some((key) => keep.has(key))) return true;
      for (const key of keys) {
        this._pending.get(key)?.reject(new Error("cancelled"));
        this._pending.delete(key);
      }
      return false;
    });
    const missing = inside.filter((i) => {
      const key = this._key(axis, i);
      return !this._planes.has(key) && !this._pending.has(key);
    });
    if (axis !== "axial") {
      for (const i of missing) this._enqueue(axis, [i]);
      return;
    }
    // runs of consecutive slices, nearest first, each one /slices request
    let run = [];
    const flush = () => {
      if (run.length) this._enqueue(axis, [...run].sort((a, b) => a - b));
      run = [];
    };
    for (const i of missing) {
      if (run.length && (Math.abs(i - run[run.length - 1]) !== 1 || run.length >= this._batch)) flush();
      run.push(i);
    }
    flush();
  }

  _currentPlane() {
    return this._planes.get(this._key(this._axis, this.getSlice())) || null;
  }

  _fail(err) {
    const message = String(err?.message || err);
    if (message === "cancelled") return;
    this._progress.hidden = true;
    this._error.textContent = message;
    this._error.hidden = false;
    this._emit("error", {message});
  }

  // ---- DOM and input ------------------------------------------------------------------------

  _build() {
    const root = (this._root = el("div", "circus-viewer"));
    root.tabIndex = 0;
    if (this.options.toolbar !== false) {
      const bar = (this._toolbar = el("div", "circus-viewer-toolbar", root));
      this._axisButtons = {};
      for (const axis of AXES) {
        const b = el("button", "circus-viewer-axis", bar);
        b.type = "button";
        b.textContent = axis[0].toUpperCase() + axis.slice(1);
        b.title = `${b.textContent} (${axis[0]})`;
        b.dataset.axis = axis;
        b.addEventListener("click", () => this.setAxis(axis));
        this._axisButtons[axis] = b;
      }
      el("span", "circus-viewer-sep", bar);
      this._presetButtons = {};
      PRESET_KEYS.forEach((name, k) => {
        const b = el("button", "circus-viewer-preset", bar);
        b.type = "button";
        b.textContent = name[0].toUpperCase() + name.slice(1);
        b.title = `W ${PRESETS[name].width} / L ${PRESETS[name].level} (${k + 1})`;
        b.dataset.preset = name;
        b.addEventListener("click", () => this.setPreset(name));
        this._presetButtons[name] = b;
      });
    }
    const stage = (this._stage = el("div", "circus-viewer-stage", root));
    this._canvas = el("canvas", "circus-viewer-canvas", stage);
    this._ctx = this._canvas.getContext("2d");
    this._imageCanvas = document.createElement("canvas");
    this._imageCtx = this._imageCanvas.getContext("2d");
    this._progress = el("div", "circus-viewer-progress", stage);
    el("div", "circus-viewer-progress-bar", this._progress);
    this._progressText = el("div", "circus-viewer-progress-text", this._progress);
    this._progressText.textContent = "Loading series…";
    this._error = el("div", "circus-viewer-error", stage);
    this._error.hidden = true;
    const slider = (this._slider = el("input", "circus-viewer-slider", root));
    slider.type = "range";
    slider.min = "0";
    slider.max = "0";
    slider.disabled = true;
    slider.setAttribute("aria-label", "Slice");
    slider.addEventListener("input", () => this.setSlice(Number(slider.value)));
    this._status = el("div", "circus-viewer-status", root);
    this._status.textContent = "Loading…";
    this.container.appendChild(root);

    this._resizeObserver = new ResizeObserver(() => this._schedule());
    this._resizeObserver.observe(stage);
    this._bindInput();
  }

  _bindInput() {
    const root = this._root;
    const canvas = this._canvas;
    let wheelRest = 0;
    canvas.addEventListener("wheel", (e) => {
      if (!this._navigable()) return;
      e.preventDefault();
      if (e.ctrlKey || e.metaKey) {
        const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.002));
        this._zoomAt(e, factor);
        return;
      }
      const delta = e.deltaMode === 1 ? e.deltaY * 40 : e.deltaMode === 2 ? e.deltaY * 800 : e.deltaY;
      wheelRest += delta;
      // a mouse notch (100-120 px) is one slice; trackpads add up their small deltas
      const steps = Math.trunc(wheelRest / 100) || (Math.abs(delta) >= 50 ? Math.sign(delta) : 0);
      if (steps) {
        wheelRest = 0;
        this.setSlice(this.getSlice() + clamp(steps, -10, 10));
      }
    }, {passive: false});

    let drag = null;
    let space = false;
    this._onKeyUp = (e) => { if (e.key === " ") space = false; };
    window.addEventListener("keyup", this._onKeyUp);
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    canvas.addEventListener("mousedown", (e) => {
      root.focus({preventScroll: true});
      if (!this.metadata) return;
      let mode = null;
      if (e.button === 2 || (e.button === 0 && e.shiftKey)) mode = "window";
      else if (e.button === 1 || (e.button === 0 && space)) mode = "pan";
      else if (e.button === 0) mode = "click";
      if (!mode) return;
      e.preventDefault();
      drag = {mode, x: e.clientX, y: e.clientY, window: this.getWindow(), pan: [...this._pan], moved: false};
    });
    this._onMouseMove = (e) => {
      if (!drag || this._destroyed) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
      if (drag.mode === "window" && drag.window) {
        this.setWindow({level: drag.window.level + dy * Math.max(1, drag.window.width / 400), width: drag.window.width + dx * Math.max(1, drag.window.width / 200)});
      } else if (drag.mode === "pan") {
        this._pan = [drag.pan[0] + dx, drag.pan[1] + dy];
        this._schedule();
      }
    };
    this._onMouseUp = (e) => {
      if (!drag) return;
      if (drag.mode === "click" && !drag.moved) this._click(e);
      drag = null;
    };
    window.addEventListener("mousemove", this._onMouseMove);
    window.addEventListener("mouseup", this._onMouseUp);
    canvas.addEventListener("mousemove", (e) => this._hover(e));
    canvas.addEventListener("mouseleave", () => { this._pointer = null; this._updateStatus(); });

    root.addEventListener("keydown", (e) => {
      if (!this._navigable() || e.altKey) return;
      const key = e.key;
      let handled = true;
      if (key === "ArrowUp" || key === "ArrowLeft") this.setSlice(this.getSlice() - 1);
      else if (key === "ArrowDown" || key === "ArrowRight") this.setSlice(this.getSlice() + 1);
      else if (key === "PageUp") this.setSlice(this.getSlice() - 10);
      else if (key === "PageDown") this.setSlice(this.getSlice() + 10);
      else if (key === "Home") this.setSlice(0);
      else if (key === "End") this.setSlice(this.sliceCount() - 1);
      else if (key === "+" || key === "=") this.setZoom(this._zoom * 1.25);
      else if (key === "-" || key === "_") this.setZoom(this._zoom / 1.25);
      else if (key === "0") this.resetView();
      else if (key >= "1" && key <= "4" && !e.ctrlKey && !e.metaKey) this.setPreset(PRESET_KEYS[Number(key) - 1]);
      else if (key === "5") this.setPreset("default");
      else if (AXIS_KEYS[key.toLowerCase()] && !e.ctrlKey && !e.metaKey) this.setAxis(AXIS_KEYS[key.toLowerCase()]);
      else if (key === " ") space = true;
      else handled = false;
      if (handled) e.preventDefault();
    });
  }

  _zoomAt(e, factor) {
    const t = this._transform();
    const next = clamp(this._zoom * factor, 0.1, 40);
    if (!t) return;
    const rect = this._canvas.getBoundingClientRect();
    // keep the point under the cursor in place
    const mx = e.clientX - rect.left;
    const my = e.clientY - rect.top;
    const ratio = next / this._zoom;
    const cx = t.cw / 2 + this._pan[0];
    const cy = t.ch / 2 + this._pan[1];
    this._pan = [this._pan[0] + (mx - cx) * (1 - ratio), this._pan[1] + (my - cy) * (1 - ratio)];
    this._zoom = next;
    this._schedule();
  }

  _eventPixel(e) {
    const t = this._transform();
    if (!t) return null;
    const rect = this._canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    return {x, y, i: Math.floor((x - t.e) / t.a), j: Math.floor((y - t.f) / t.d), fi: (x - t.e) / t.a, fj: (y - t.f) / t.d};
  }

  _hover(e) {
    const p = this._eventPixel(e);
    if (!p) return;
    const plane = this._currentPlane();
    this._pointer = plane && p.i >= 0 && p.j >= 0 && p.i < plane.width && p.j < plane.height ? {i: p.i, j: p.j} : null;
    this._updateStatus();
  }

  _click(e) {
    const p = this._eventPixel(e);
    if (!p || !this._candidates.length) return;
    const t = this._transform();
    let best = null;
    for (const c of this._visibleCandidates()) {
      const [ci, cj] = this._inPlane({x: c.location[0], y: c.location[1], z: c.location[2]});
      const sx = t.a * (ci + 0.5) + t.e;
      const sy = t.d * (cj + 0.5) + t.f;
      const d = Math.hypot(sx - p.x, sy - p.y);
      const r = Math.max(8, this._candidateOptions.radius * t.scale);
      if (d <= r + 4 && (!best || d < best.d)) best = {d, c};
    }
    if (!best) return;
    const detail = {candidate: best.c.candidate, index: best.c.index};
    this._candidateOptions.onSelect?.(best.c.candidate, best.c.index);
    this._emit("candidateselect", detail);
  }

  _updateToolbar() {
    if (!this._toolbar) return;
    for (const [axis, b] of Object.entries(this._axisButtons)) b.classList.toggle("active", axis === this._axis);
    const w = this._window;
    for (const [name, b] of Object.entries(this._presetButtons)) {
      const p = PRESETS[name];
      b.classList.toggle("active", !!w && w.level === p.level && w.width === p.width);
    }
  }

  // ---- geometry -----------------------------------------------------------------------------

  /** Millimetres per pixel of the current plane, and whether rows run foot to head. */
  _planeLayout(axis = this._axis) {
    const [sx, sy, sz] = this.metadata.spacing;
    // reformat rows follow the volume order; show the head at the top
    const flip = axis !== "axial" && (this.metadata.direction?.[8] ?? -1) > 0;
    if (axis === "axial") return {pw: sx, ph: sy, flip: false};
    if (axis === "coronal") return {pw: sx, ph: sz, flip};
    return {pw: sy, ph: sz, flip};
  }

  /** Screen transform of the current plane: screen = (a*i + e, d*j + f) in CSS pixels. */
  _transform() {
    const plane = this._currentPlane() || this._lastPlane;
    if (!this.metadata || !plane) return null;
    const cw = this._canvas.clientWidth;
    const ch = this._canvas.clientHeight;
    if (!cw || !ch) return null;
    const {pw, ph, flip} = this._planeLayout();
    const fit = Math.min(cw / (plane.width * pw), ch / (plane.height * ph));
    const scale = fit * this._zoom; // CSS px per mm
    const w = plane.width * pw * scale;
    const h = plane.height * ph * scale;
    const left = (cw - w) / 2 + this._pan[0];
    const top = (ch - h) / 2 + this._pan[1];
    const a = pw * scale;
    const d = flip ? -ph * scale : ph * scale;
    return {a, d, e: left, f: flip ? top + h : top, cw, ch, scale, width: plane.width, height: plane.height};
  }

  /** (i, j) in the current plane of a voxel (x, y, z). */
  _inPlane({x, y, z}) {
    if (this._axis === "axial") return [x, y];
    if (this._axis === "coronal") return [x, z];
    return [y, z];
  }

  _planeCoordinate({x, y, z}) {
    return {axial: z, coronal: y, sagittal: x}[this._axis];
  }

  _updateFocusFromSlice() {
    if (!this._focus) return;
    const index = this.getSlice();
    if (this._axis === "axial") this._focus.z = index;
    else if (this._axis === "coronal") this._focus.y = index;
    else this._focus.x = index;
  }

  _slicePosition(axis = this._axis, index = this.getSlice()) {
    const m = this.metadata;
    if (axis === "axial") return m.slicePositions?.[index] ?? index * m.spacing[2];
    const column = axis === "coronal" ? 1 : 0;
    const component = axis === "coronal" ? 1 : 0;
    const d = m.direction || [1, 0, 0, 0, 1, 0, 0, 0, 1];
    return m.origin[component] + d[component * 3 + column] * index * m.spacing[column];
  }

  _sliceDetail() {
    const axis = this._axis;
    const index = this.getSlice();
    const imageNumber = axis === "axial" ? this.metadata.imageNumbers?.[index] ?? null : null;
    return {axis, index, imageNumber, position: this._slicePosition(axis, index)};
  }

  // ---- drawing ------------------------------------------------------------------------------

  _schedule() {
    if (this._frame || this._destroyed) return;
    this._frame = requestAnimationFrame(() => {
      this._frame = 0;
      this._draw();
    });
  }

  _lookup() {
    const w = this._window || {level: 0, width: 1};
    const dtype = this.metadata.dtype;
    const key = `${dtype}:${w.level}:${w.width}`;
    if (key === this._lutKey) return this._lut;
    const ranges = {int8: [-128, 256], uint8: [0, 256], int16: [-32768, 65536], uint16: [0, 65536]};
    const range = ranges[dtype];
    this._lutKey = key;
    if (!range) {
      this._lut = null; // 32-bit or float pixels: windowed per pixel
      return null;
    }
    const [min, size] = range;
    const lut = this._lut && this._lut.length === size ? this._lut : new Uint32Array(size);
    const low = w.level - w.width / 2;
    const k = 255 / w.width;
    for (let n = 0; n < size; n++) {
      const g = clamp(Math.round((n + min - low) * k), 0, 255);
      lut[n] = (0xff000000 | (g << 16) | (g << 8) | g) >>> 0;
    }
    this._lut = lut;
    this._lutOffset = -min;
    return lut;
  }

  _paintPlane(plane) {
    const {data, width, height} = plane;
    if (!this._imageData || this._imageData.width !== width || this._imageData.height !== height) {
      this._imageCanvas.width = width;
      this._imageCanvas.height = height;
      this._imageData = new ImageData(width, height);
      this._out32 = new Uint32Array(this._imageData.data.buffer);
    }
    const out = this._out32;
    const lut = this._lookup();
    const n = data.length;
    if (lut) {
      const off = this._lutOffset;
      for (let i = 0; i < n; i++) out[i] = lut[data[i] + off];
    } else {
      const w = this._window || {level: 0, width: 1};
      const low = w.level - w.width / 2;
      const k = 255 / w.width;
      for (let i = 0; i < n; i++) {
        const g = clamp(Math.round((data[i] - low) * k), 0, 255);
        out[i] = (0xff000000 | (g << 16) | (g << 8) | g) >>> 0;
      }
    }
    this._imageCtx.putImageData(this._imageData, 0, 0);
  }

  _draw() {
    if (this._destroyed || !this.metadata) return;
    const canvas = this._canvas;
    const dpr = window.devicePixelRatio || 1;
    const cw = canvas.clientWidth;
    const ch = canvas.clientHeight;
    if (canvas.width !== Math.round(cw * dpr) || canvas.height !== Math.round(ch * dpr)) {
      canvas.width = Math.round(cw * dpr);
      canvas.height = Math.round(ch * dpr);
    }
    const ctx = this._ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const current = this._currentPlane();
    const key = this._key(this._axis, this.getSlice());
    const plane = current || (this._lastPlane && this._lastPlaneAxis === this._axis ? this._lastPlane : null);
    if (!plane) {
      // a new axis: its first plane may need the server to build the volume (about a second)
      this._progressText.textContent = `Loading ${this._axis} view…`;
      this._progress.hidden = !this._error.hidden;
      this._updateStatus();
      return;
    }
    if (this._navigable()) this._progress.hidden = true;
    const lutKey = `${this.metadata.dtype}:${this._window?.level}:${this._window?.width}`;
    const planeKey = current ? key : this._rendered.key;
    if (this._rendered.key !== planeKey || this._rendered.lutKey !== lutKey || this._rendered.plane !== plane) {
      this._paintPlane(plane);
      this._rendered = {key: planeKey, lutKey, plane};
    }
    this._lastPlane = plane;
    this._lastPlaneAxis = this._axis;
    const t = this._transform();
    if (!t) return;
    ctx.setTransform(t.a * dpr, 0, 0, t.d * dpr, t.e * dpr, t.f * dpr);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(this._imageCanvas, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (this._navigable()) { // overlays need the volume's geometry
      ctx.setTransform(t.a * dpr, 0, 0, t.d * dpr, t.e * dpr, t.f * dpr);
      this._drawLabels(t, dpr);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      this._drawShapes(t);
      this._drawCandidates(t);
    }
    if (!current) {
      ctx.fillStyle = "rgba(255,255,255,0.7)";
      ctx.font = "12px system-ui, sans-serif";
      ctx.fillText("loading…", 8, 18);
    }
    this._updateStatus();
    if (current) this._emit("render", {axis: this._axis, index: this.getSlice()});
  }

  _drawLabels(t, dpr) {
    const ctx = this._ctx;
    for (const label of [...this._labels, ...this._masks]) {
      if (label.type !== "voxel" || !label.bits) continue;
      const mask = this._labelMask(label);
      if (!mask) continue;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(mask.canvas, mask.i, mask.j);
    }
    ctx.imageSmoothingEnabled = true;
  }

  /** The label's box cut by the current plane, as a tinted canvas at (i, j) of the plane. */
  _labelMask(label) {
    const axis = this._axis;
    const index = this.getSlice();
    const cacheKey = `${axis}:${index}`;
    if (label.masks.has(cacheKey)) return label.masks.get(cacheKey);
    const [ox, oy, oz] = label.origin;
    const [sx, sy, sz] = label.size;
    const bits = label.bits;
    let result = null;
    let w, h, bit;
    const local = index - (axis === "axial" ? oz : axis === "coronal" ? oy : ox);
    const depth = axis === "axial" ? sz : axis === "coronal" ? sy : sx;
    if (local >= 0 && local < depth && sx > 0 && sy > 0 && sz > 0) {
      if (axis === "axial") { w = sx; h = sy; bit = (u, v) => local * sx * sy + v * sx + u; }
      else if (axis === "coronal") { w = sx; h = sz; bit = (u, v) => v * sx * sy + local * sx + u; }
      else { w = sy; h = sz; bit = (u, v) => v * sx * sy + u * sx + local; }
      const image = new ImageData(w, h);
      const out = new Uint32Array(image.data.buffer);
      const [r, g, b] = label.rgb;
      const a = Math.round(255 * label.alpha);
      const tint = ((a << 24) | (b << 16) | (g << 8) | r) >>> 0;
      let any = false;
      for (let v = 0; v < h; v++) {
        for (let u = 0; u < w; u++) {
          const k = bit(u, v);
          if (bits[k >> 3] & (0x80 >> (k & 7))) { out[v * w + u] = tint; any = true; }
        }
      }
      if (any) {
        const canvas = document.createElement("canvas");
        canvas.width = w;
        canvas.height = h;
        canvas.getContext("2d").putImageData(image, 0, 0);
        result = {canvas, i: axis === "sagittal" ? oy : ox, j: axis === "axial" ? oy : oz};
      }
    }
    if (label.masks.size > 64) label.masks.clear();
    label.masks.set(cacheKey, result);
    return result;
  }

  _toScreen(t, i, j) {
    return [t.a * i + t.e, t.d * j + t.f];
  }

  _drawShapes(t) {
    const ctx = this._ctx;
    const m = this.metadata;
    const [sx, sy, sz] = m.spacing;
    const axis = this._axis;
    const index = this.getSlice();
    // label coordinates are mm in the volume (voxel index x spacing); (u, v) plane axes in voxels
    const toPlane = (mm) => {
      const v = [mm[0] / sx, mm[1] / sy, mm[2] / sz];
      return axis === "axial" ? [v[0], v[1], v[2]] : axis === "coronal" ? [v[0], v[2], v[1]] : [v[1], v[2], v[0]];
    };
    const onSlice = (c) => Math.abs(c - index) <= 0.5;
    ctx.lineWidth = 2;
    for (const label of this._labels) {
      const d = label.data;
      const color = `rgba(${label.rgb.join(",")},${Math.max(label.alpha, 0.8)})`;
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      if ((label.type === "cuboid" || label.type === "ellipsoid") && isVec(d.min, 3) && isVec(d.max, 3)) {
        const lo = toPlane(d.min);
        const hi = toPlane(d.max);
        const [a0, a1] = [Math.min(lo[2], hi[2]), Math.max(lo[2], hi[2])];
        if (index < a0 - 0.5 || index > a1 + 0.5) continue;
        if (label.type === "cuboid") this._strokeRect(t, lo[0], lo[1], hi[0], hi[1]);
        else {
          const c = (a0 + a1) / 2;
          const r = (a1 - a0) / 2;
          const f = r > 0 ? 1 - ((index - c) / r) ** 2 : 1;
          if (f <= 0) continue;
          this._strokeEllipse(t, lo[0], lo[1], hi[0], hi[1], Math.sqrt(f));
        }
      } else if ((label.type === "rectangle" || label.type === "ellipse") && isVec(d.min, 2) && isVec(d.max, 2)) {
        if (axis !== "axial" || !onSlice(Number(d.z) / sz)) continue;
        const [x0, y0, x1, y1] = [d.min[0] / sx, d.min[1] / sy, d.max[0] / sx, d.max[1] / sy];
        if (label.type === "rectangle") this._strokeRect(t, x0, y0, x1, y1);
        else this._strokeEllipse(t, x0, y0, x1, y1, 1);
      } else if (label.type === "polyline" && Array.isArray(d.points) && d.points.length) {
        if (axis !== "axial" || !onSlice(Number(d.z) / sz)) continue;
        ctx.beginPath();
        d.points.forEach(([x, y], k) => {
          const [px, py] = this._toScreen(t, x / sx, y / sy);
          if (k) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        });
        ctx.closePath();
        ctx.stroke();
      } else if (label.type === "point" && isVec(d.location, 3)) {
        const p = toPlane(d.location);
        if (!onSlice(p[2])) continue;
        const [px, py] = this._toScreen(t, p[0], p[1]);
        ctx.beginPath();
        ctx.arc(px, py, 4, 0, 2 * Math.PI);
        ctx.fill();
      } else if (label.type === "ruler" && isVec(d.start, 3) && isVec(d.end, 3)) {
        const p = toPlane(d.start);
        const q = toPlane(d.end);
        if (!onSlice(p[2]) && !onSlice(q[2])) continue;
        const [px, py] = this._toScreen(t, p[0], p[1]);
        const [qx, qy] = this._toScreen(t, q[0], q[1]);
        ctx.beginPath();
        ctx.moveTo(px, py);
        ctx.lineTo(qx, qy);
        ctx.stroke();
        const length = Math.hypot(d.end[0] - d.start[0], d.end[1] - d.start[1], d.end[2] - d.start[2]);
        this._text(`${length.toFixed(1)} mm`, (px + qx) / 2 + 6, (py + qy) / 2 - 6, color);
      }
    }
  }

  _strokeRect(t, i0, j0, i1, j1) {
    const [x0, y0] = this._toScreen(t, i0, j0);
    const [x1, y1] = this._toScreen(t, i1, j1);
    this._ctx.strokeRect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
  }

  _strokeEllipse(t, i0, j0, i1, j1, factor) {
    const [x0, y0] = this._toScreen(t, i0, j0);
    const [x1, y1] = this._toScreen(t, i1, j1);
    const ctx = this._ctx;
    ctx.beginPath();
    ctx.ellipse((x0 + x1) / 2, (y0 + y1) / 2, (Math.abs(x1 - x0) / 2) * factor, (Math.abs(y1 - y0) / 2) * factor, 0, 0, 2 * Math.PI);
    ctx.stroke();
  }

  _text(text, x, y, color) {
    const ctx = this._ctx;
    ctx.font = "bold 13px system-ui, sans-serif";
    ctx.lineWidth = 3;
    ctx.strokeStyle = "rgba(0,0,0,0.8)";
    ctx.strokeText(text, x, y);
    ctx.fillStyle = color;
    ctx.fillText(text, x, y);
  }

  _visibleCandidates() {
    if (!this._candidates.length || !this.metadata) return [];
    const spacing = {axial: this.metadata.spacing[2], coronal: this.metadata.spacing[1], sagittal: this.metadata.spacing[0]}[this._axis];
    const reach = this._candidateOptions.radius / spacing;
    const index = this.getSlice();
    return this._candidates.filter((c) => {
      const d = Math.abs(this._planeCoordinate({x: c.location[0], y: c.location[1], z: c.location[2]}) - index);
      return d <= reach;
    });
  }

  _drawCandidates(t) {
    const ctx = this._ctx;
    const o = this._candidateOptions;
    const index = this.getSlice();
    const spacing = {axial: this.metadata.spacing[2], coronal: this.metadata.spacing[1], sagittal: this.metadata.spacing[0]}[this._axis];
    for (const c of this._visibleCandidates()) {
      const voxel = {x: c.location[0], y: c.location[1], z: c.location[2]};
      const [i, j] = this._inPlane(voxel);
      const [x, y] = this._toScreen(t, i + 0.5, j + 0.5);
      const distance = Math.abs(this._planeCoordinate(voxel) - index) * spacing; // mm off the plane
      const exact = distance < spacing / 2;
      const radius = Math.sqrt(Math.max(0, o.radius ** 2 - distance ** 2)) * t.scale;
      if (radius < 1) continue;
      ctx.beginPath();
      ctx.lineWidth = o.width;
      ctx.strokeStyle = exact ? o.color : o.dimmedColor;
      ctx.arc(x, y, radius, 0, 2 * Math.PI);
      ctx.stroke();
      if (exact) {
        const score = Number.isFinite(Number(c.candidate.confidence)) ? ` (${Number(c.candidate.confidence).toFixed(2)})` : "";
        this._text(`${c.number}${score}`, x + radius * 0.75 + 3, y - radius * 0.75 - 3, o.color);
      }
    }
  }

  _updateStatus() {
    if (!this.metadata) return;
    const axis = this._axis;
    const index = this.getSlice();
    const count = this.sliceCount();
    const parts = [`${axis[0].toUpperCase()}${axis.slice(1)} ${index + 1}/${count}`];
    const position = this._slicePosition(axis, index);
    const name = axis === "axial" ? "z" : axis === "coronal" ? "y" : "x";
    parts.push(`${name} ${Number(position).toFixed(2)} mm`);
    if (axis === "axial" && this.metadata.imageNumbers) parts.push(`image ${this.metadata.imageNumbers[index]}`);
    const p = this._pointer;
    if (p) {
      const voxel = axis === "axial" ? [p.i, p.j, index] : axis === "coronal" ? [p.i, index, p.j] : [index, p.i, p.j];
      const value = this.valueAt(p.i, p.j);
      parts.push(`x ${voxel[0]} y ${voxel[1]} z ${voxel[2]}`);
      if (value !== null) parts.push(`${this.metadata.hounsfield ? "HU" : "value"} ${value}`);
    }
    const w = this._window;
    if (w) parts.push(`W ${Math.round(w.width)} L ${Math.round(w.level)}`);
    if (this._zoom !== 1) parts.push(`zoom ${this._zoom.toFixed(2)}×`);
    const text = parts.join(" · ");
    if (this._status.textContent !== text) this._status.textContent = text;
    this._status.dataset.value = p && this.valueAt(p.i, p.j) !== null ? String(this.valueAt(p.i, p.j)) : "";
  }

  _emit(name, detail) {
    for (const fn of this._listeners.get(name) || []) {
      try { fn(detail); } catch (err) { console.error(err); }
    }
    this.container.dispatchEvent(new CustomEvent(`circus-viewer:${name}`, {detail}));
  }
}

function isVec(v, n) {
  return Array.isArray(v) && v.length >= n && v.slice(0, n).every((x) => Number.isFinite(Number(x)));
}

function prepareLabel(label, k) {
  const data = label?.data || {};
  const {rgb, alpha: hexAlpha} = hexToRgb(data.color, hexToRgb(LABEL_COLORS[k % LABEL_COLORS.length]).rgb);
  const alpha = Number.isFinite(Number(data.alpha)) && data.alpha !== null ? clamp(Number(data.alpha), 0, 1) : hexAlpha ?? 0.5;
  const prepared = {type: label?.type, name: label?.name ?? null, data, rgb, alpha, masks: new Map(), bits: null};
  if (label?.type === "voxel") {
    prepared.hash = typeof data.voxels === "string" ? data.voxels : null;
    prepared.origin = isVec(data.origin, 3) ? data.origin.map(Number) : [0, 0, 0];
    prepared.size = isVec(data.size, 3) ? data.size.map(Number) : [0, 0, 0];
    prepared.alpha = Math.min(prepared.alpha, 0.6); // a mask is a tint over the image
  }
  return prepared;
}

/** A mask of setMasks, shaped like a prepared voxel label (so _labelMask draws both); null when
 * hidden or when its bits do not cover its size. */
function prepareMask(mask, k) {
  if (!mask || mask.visible === false || !(mask.bits instanceof Uint8Array) || !isVec(mask.size, 3)) return null;
  const size = mask.size.map((n) => Math.round(Number(n)));
  if (size.some((n) => !(n > 0)) || mask.bits.length * 8 < size[0] * size[1] * size[2]) return null;
  const {rgb, alpha: hexAlpha} = hexToRgb(mask.color, hexToRgb(LABEL_COLORS[k % LABEL_COLORS.length]).rgb);
  const alpha = mask.alpha !== undefined && mask.alpha !== null && Number.isFinite(Number(mask.alpha))
    ? clamp(Number(mask.alpha), 0, 1) : hexAlpha ?? 0.5;
  const origin = isVec(mask.origin, 3) ? mask.origin.map((n) => Math.round(Number(n))) : [0, 0, 0];
  return {type: "voxel", name: mask.name ?? null, origin, size, bits: mask.bits, rgb, alpha, masks: new Map()};
}

function autoWindow(data) {
  let min = Infinity;
  let max = -Infinity;
  const step = Math.max(1, Math.floor(data.length / 65536));
  for (let i = 0; i < data.length; i += step) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min)) return {level: 0, width: 1};
  return {level: (min + max) / 2, width: Math.max(1, max - min)};
}

async function errorText(response) {
  try {
    const body = await response.json();
    if (body && body.error) return `${body.error} (HTTP ${response.status})`;
  } catch {
    // not JSON
  }
  return `HTTP ${response.status}`;
}

function normaliseApi(api) {
  if (typeof api === "function") return {fetch: api};
  const base = api?.base || "";
  const token = api?.token;
  const custom = api?.fetch;
  return {
    fetch(url, init = {}) {
      const headers = new Headers(init.headers || {});
      const value = typeof token === "function" ? token() : token;
      if (value && !headers.has("Authorization")) headers.set("Authorization", `Bearer ${value}`);
      const request = {credentials: "same-origin", ...init, headers};
      return custom ? custom(base + url, request) : fetch(base + url, request);
    },
  };
}
