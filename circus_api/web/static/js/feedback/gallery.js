// Displays that collect no feedback (spec 7.6): `Gallery` (image attachments inline), `Dump`
// (the results as JSON), and the stand-in for display types this interface does not have
// (custom `@Name` displays, which need CIRCUS's React module federation). `VolumeOverlay`, which
// draws into the job's viewer, is in volume-overlay.js.

import { h } from "../dom.js";
import { IMAGE_FILE, atPath } from "./common.js";

export function createGallery(def, ctx) {
  const options = def.options || {};
  const files = ctx.attachments.files();
  const info = Array.isArray(options.imageInfo) && options.imageInfo.length
    ? options.imageInfo
    : files.filter((f) => IMAGE_FILE.test(f)).map((fileName) => ({ fileName }));
  const perRow = Number(options.imageCountsPerColumn) || Math.min(2, info.length) || 1;
  const figures = info.map((item) => {
    const present = files.includes(item.fileName);
    const labels = (item.labelData || []).map((l) => l.customLabel ?? (l.dataPath ? atPath(ctx.job.results, l.dataPath) : "")).filter((v) => v !== undefined && v !== "");
    const style = { maxHeight: item.maxHeight ? `${item.maxHeight}px` : null };
    return h("figure", { class: "gallery-item", style: { maxWidth: item.maxWidth ? `${item.maxWidth}px` : null } },
      present
        ? h("a", { href: ctx.attachments.url(item.fileName), target: "_blank", rel: "noopener", title: `Open ${item.fileName}` },
          h("img", { src: ctx.attachments.url(item.fileName), alt: item.fileName, loading: "lazy", style }))
        : h("div", { class: "gallery-missing muted small" }, `${item.fileName} is not among the job's files.`),
      h("figcaption", { class: "muted small" }, item.fileName, labels.length ? ` · ${labels.join(" · ")}` : ""));
  });
  const element = h("div", { class: "display-gallery", style: { gridTemplateColumns: `repeat(${perRow}, minmax(0, 1fr))` } },
    figures.length ? figures : h("p", { class: "muted" }, "The job has no image to show."));
  return { element, collects: false };
}

export function createDump(def, ctx) {
  const options = def.options || {};
  const pre = h("pre", { class: "dump", style: { maxHeight: `${options.maxHeight || 300}px` } }, JSON.stringify(ctx.job.results ?? null, null, 2));
  return { element: pre, collects: false };
}

export function createUnsupported(def, ctx) {
  const custom = String(def.type || "").startsWith("@");
  return {
    element: h("div", { class: "display-unsupported" },
      h("p", { class: "note warn" }, custom
        ? `“${def.type}” is a custom display of the plug-in, which this interface cannot run. The raw results follow.`
        : `Unknown display type “${def.type ?? "(none)"}”. The raw results follow.`),
      createDump({ options: { maxHeight: 240 } }, ctx).element),
    collects: false,
  };
}
