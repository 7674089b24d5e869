// Display formats shared by the pages: dates in the reader's time zone, sizes, durations.

const pad = (n) => String(n).padStart(2, "0");

function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** 2024-05-01 */
export function date(value) {
  const d = toDate(value);
  return d ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` : "";
}

/** 2024-05-01 13:45 */
export function dateTime(value) {
  const d = toDate(value);
  return d ? `${date(d)} ${pad(d.getHours())}:${pad(d.getMinutes())}` : "";
}

/** 2024-05-01 13:45:07 */
export function dateTimeSeconds(value) {
  const d = toDate(value);
  return d ? `${dateTime(d)}:${pad(d.getSeconds())}` : "";
}

/** "12 s", "5 min", "3 h", "2 d": a duration given in seconds. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** "12 s ago": the age of an ISO date (or Date) relative to now (or to `now`). */
export function ago(value, now = new Date()) {
  const d = toDate(value);
  return d ? `${duration((now - d) / 1000)} ago` : "";
}

/** 1.2 MB */
export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = Number(n);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** 12,345 */
export function number(n) {
  return n === null || n === undefined ? "" : Number(n).toLocaleString("en-US");
}
