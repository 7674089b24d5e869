// What the upload panel knows of a file before sending it: DICOM (with its series UID, modality
// and description, read from the first bytes; never patient data), an archive the server unpacks
// (zip, tar.gz), or something else (not sent). And how to collect files from a drop, folders
// included.

const HEAD_BYTES = 256 * 1024;
const LONG_VRS = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]);
const WANTED = new Map([
  [0x0008_0060, "modality"],
  [0x0008_103e, "seriesDescription"],
  [0x0020_000e, "seriesUid"],
  [0x0020_0013, "instanceNumber"],
]);
const IMPLICIT_LE = "1.2.840.10008.1.2";
const DEFLATED = "1.2.840.10008.1.2.1.99";
const UNDEFINED = 0xffffffff;
const latin1 = new TextDecoder("latin1");

/** The data elements of the first bytes we care about, or null when they are not DICOM. */
export function parseDicomHead(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const size = bytes.length;
  if (size < 132 || latin1.decode(bytes.subarray(128, 132)) !== "DICM") return null;
  const out = {};

  function header(p, explicit) {
    if (p + 8 > size) return null;
    const group = view.getUint16(p, true);
    const element = view.getUint16(p + 2, true);
    if (group === 0xfffe || !explicit) return { group, element, vr: null, length: view.getUint32(p + 4, true), value: p + 8 };
    const vr = String.fromCharCode(bytes[p + 4], bytes[p + 5]);
    if (LONG_VRS.has(vr)) {
      if (p + 12 > size) return null;
      return { group, element, vr, length: view.getUint32(p + 8, true), value: p + 12 };
    }
    return { group, element, vr, length: view.getUint16(p + 6, true), value: p + 8 };
  }

  // an undefined-length value (a sequence): its items, up to the sequence delimiter
  function skipSequence(p, explicit) {
    for (;;) {
      const hd = header(p, explicit);
      if (!hd || hd.group !== 0xfffe) return -1;
      if (hd.element === 0xe0dd) return hd.value;
      if (hd.element !== 0xe000) return -1;
      p = hd.length === UNDEFINED ? skipItem(hd.value, explicit) : hd.value + hd.length;
      if (p < 0) return -1;
    }
  }

  function skipItem(p, explicit) {
    for (;;) {
      const hd = header(p, explicit);
      if (!hd) return -1;
      if (hd.group === 0xfffe && hd.element === 0xe00d) return hd.value;
      p = hd.length === UNDEFINED ? skipSequence(hd.value, explicit) : hd.value + hd.length;
      if (p < 0) return -1;
    }
  }

  let p = 132;
  let explicit = true;
  let meta = true;
  let transferSyntax = "";
  for (;;) {
    if (p + 4 > size) break;
    if (meta && view.getUint16(p, true) !== 0x0002) {
      meta = false;
      if (transferSyntax === DEFLATED) break;
      explicit = transferSyntax !== IMPLICIT_LE;
    }
    const hd = header(p, explicit);
    if (!hd) break;
    const tag = (hd.group << 16 | hd.element) >>> 0;
    if (!meta && tag > 0x0020_0013) break;
    if (hd.length === UNDEFINED) {
      p = skipSequence(hd.value, explicit);
      if (p < 0) break;
      continue;
    }
    if (hd.value + hd.length > size) break;
    const text = () => latin1.decode(bytes.subarray(hd.value, hd.value + hd.length)).replace(/[\0 ]+$/, "").trim();
    if (tag === 0x0002_0010) transferSyntax = text();
    else if (WANTED.has(tag)) out[WANTED.get(tag)] = text();
    p = hd.value + hd.length;
  }
  return out;
}

/** {kind: "dicom" | "archive" | "other", head?} of a File, from its first bytes. */
export async function sniff(file) {
  let buffer;
  try {
    buffer = await file.slice(0, HEAD_BYTES).arrayBuffer();
  } catch {
    return { kind: "unreadable" };
  }
  const b = new Uint8Array(buffer);
  if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && [0x0304, 0x0506, 0x0708].includes((b[2] << 8) | b[3])) return { kind: "archive", format: "zip" };
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return { kind: "archive", format: "tar.gz" };
  const head = parseDicomHead(buffer);
  return head ? { kind: "dicom", head } : { kind: "other" };
}

/** Sniff many files, a few at a time; `onEach(done, total)` as they complete. */
export async function sniffAll(entries, onEach) {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < entries.length) {
      const entry = entries[next++];
      Object.assign(entry, await sniff(entry.file));
      done += 1;
      onEach?.(done, entries.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, entries.length) }, worker));
  return entries;
}

// ---- collecting files ---------------------------------------------------------------------------

function entryFile(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

function readBatch(reader) {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

async function walk(entry, out) {
  if (entry.isFile) {
    try {
      out.push({ file: await entryFile(entry), name: entry.fullPath.replace(/^\//, "") });
    } catch {
      // unreadable (permissions): left out
    }
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {
      const batch = await readBatch(reader); // at most 100 at a time: read until empty
      if (!batch.length) break;
      for (const child of batch) await walk(child, out);
    }
  }
}

/** Files of a drop, folders walked (DataTransferItem.webkitGetAsEntry); call it in the drop handler. */
export function filesFromDrop(dataTransfer) {
  const items = [...(dataTransfer.items || [])].filter((item) => item.kind === "file");
  const entries = items.map((item) => item.webkitGetAsEntry?.()).filter(Boolean); // synchronously, before the event ends
  if (!entries.length) return Promise.resolve([...dataTransfer.files].map((file) => ({ file, name: file.name })));
  return (async () => {
    const out = [];
    for (const entry of entries) await walk(entry, out);
    return out;
  })();
}

/** Files of an <input type=file> (with webkitdirectory, their paths inside the folder). */
export function filesFromInput(input) {
  return [...input.files].map((file) => ({ file, name: file.webkitRelativePath || file.name }));
}
