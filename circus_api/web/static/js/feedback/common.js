// Small helpers of the result displays (static/js/feedback/*.js).

/** "bob" for bob@example.com: readers are named by the local part of their e-mail. */
export function readerName(email) {
  return String(email || "").split("@")[0] || String(email || "");
}

/** A value at a dotted path ("results.lesionCandidates") of an object. */
export function atPath(obj, path) {
  return String(path || "").split(".").filter(Boolean).reduce((v, key) => (v == null ? undefined : v[key]), obj);
}

export function formatNumber(value, digits = 2) {
  const n = Number(value);
  if (value === null || value === undefined || value === "" || !Number.isFinite(n)) return value == null ? "" : String(value);
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

export const IMAGE_FILE = /\.(png|jpe?g|gif|webp|svg|bmp)$/i;
