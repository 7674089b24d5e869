// The results of a finished job rendered per the plug-in's `displayStrategy` (spec 7.6), and
// the feedback form around them (spec 7.7).
//
//   const review = new Review(element, { job, plugin, userEmail, roles, viewer, attachments,
//                                        preferMode, onRegistered });
//   review.view(entry)          // show one feedback entry read-only (from the feedback list)
//
// Modes: personal first (POST /api/plugin-jobs/:id/feedback/personal), then consensual for
// readers with inputConsensualFeedback (pre-filled from the personal opinions, each reader's
// choice shown). A registered entry is shown read-only; once the consensual entry exists
// nothing more can be added. `data` is keyed by each display's `feedbackKey`; the action log
// records what the reader did ({date, action, data?}).

import { api, showBanner } from "../api.js";
import { clear, h } from "../dom.js";
import * as format from "../format.js";
import { confirmDialog } from "../forms.js";
import { bind } from "../keys.js";
import { readerName } from "./common.js";
import { createChoice, summarizeChoice } from "./choice.js";
import { createDump, createGallery, createUnsupported } from "./gallery.js";
import { createNumeric, createTags, createText } from "./inputs.js";
import { createLesionCandidates, summarizeLesionCandidates } from "./lesion-candidates.js";
import { createLocator, summarizeLocator } from "./locator.js";
import { createVolumeOverlay } from "./volume-overlay.js";

export const DISPLAYS = {
  LesionCandidates: createLesionCandidates,
  Choice: createChoice,
  Locator: createLocator,
  Text: createText,
  Numeric: createNumeric,
  Tags: createTags,
  Gallery: createGallery,
  Dump: createDump,
  VolumeOverlay: createVolumeOverlay,
};

const SUMMARIES = {
  LesionCandidates: summarizeLesionCandidates,
  Locator: summarizeLocator,
  Choice: summarizeChoice,
  Numeric: (def, value) => (typeof value === "number" ? format.number(value) : ""),
  Text: (def, value) => (value ? `“${value}”` : ""),
  Tags: (def, value) => (Array.isArray(value) ? value.join(", ") : ""),
};

/** One line describing a feedback entry's data, display by display. */
export function summarizeEntry(plugin, entry) {
  const parts = [];
  for (const def of plugin.displayStrategy || []) {
    const key = def.feedbackKey;
    if (!key || !entry.data || !(key in entry.data)) continue;
    const summary = SUMMARIES[def.type]?.(def, entry.data[key], { consensual: entry.isConsensual });
    if (summary) parts.push(summary);
  }
  return parts.join(" · ") || (entry.data && Object.keys(entry.data).length ? JSON.stringify(entry.data).slice(0, 80) : "—");
}

export class Review {
  constructor(container, { job, plugin, userEmail, roles, viewer, attachments, preferMode = "", onRegistered }) {
    this.container = container;
    this.job = job;
    this.plugin = plugin;
    this.userEmail = userEmail;
    this.roles = new Set(roles || []);
    this.viewer = viewer;
    this.attachments = attachments;
    this.onRegistered = onRegistered;
    this.entries = job.feedbacks || [];
    this.displays = [];
    this.viewing = null;
    this.actionLog = [];
    this.unbind = bind("ctrl+Enter", "Register the feedback", () => this.register(), { group: "Feedback" });
    this.mode = this.consensualEntry() || (preferMode === "consensual" && (this.canConsensual() || this.consensualEntry())) ? "consensual" : "personal";
    this.render();
  }

  // ---- state -----------------------------------------------------------------------------------

  consensualEntry() {
    return this.entries.find((e) => e.isConsensual) || null;
  }

  personalEntries() {
    return this.entries.filter((e) => !e.isConsensual);
  }

  myEntry() {
    return this.personalEntries().find((e) => e.userEmail === this.userEmail) || null;
  }

  canPersonal() {
    return this.roles.has("inputPersonalFeedback");
  }

  canConsensual() {
    return this.roles.has("inputConsensualFeedback");
  }

  collectsFeedback() {
    return (this.plugin.displayStrategy || []).some((d) => d.feedbackKey && ["LesionCandidates", "Choice", "Locator", "Text", "Numeric", "Tags"].includes(d.type));
  }

  /** What the form shows: {entry (read-only data) | null, editable, note, action?}. */
  formState() {
    const consensual = this.consensualEntry();
    const mine = this.myEntry();
    const closedJob = this.job.status !== "finished";
    if (this.viewing) {
      const e = this.viewing;
      return { entry: e, editable: false, note: `${e.isConsensual ? "Consensual" : `${readerName(e.userEmail)}’s personal`} feedback, registered ${format.dateTime(e.createdAt)}.` };
    }
    if (this.mode === "personal") {
      if (mine) {
        const action = !consensual && this.canConsensual() ? { label: "Continue with the consensual feedback", run: () => this.setMode("consensual") } : null;
        return { entry: mine, editable: false, note: `Your personal feedback, registered ${format.dateTime(mine.createdAt)}.`, action };
      }
      if (consensual) return { entry: null, editable: false, note: "The consensual feedback is registered: personal feedback is closed." };
      if (!this.canPersonal()) return { entry: null, editable: false, note: "You do not have permission to input personal feedback on this plug-in." };
      if (closedJob) return { entry: null, editable: false, note: `The job is ${this.job.status}: no feedback can be given.` };
      return { entry: null, editable: true, note: "" };
    }
    if (consensual) {
      return { entry: consensual, editable: false, note: `Consensual feedback, registered by ${readerName(consensual.userEmail)} ${format.dateTime(consensual.createdAt)}. The job's feedback is closed.` };
    }
    if (!this.canConsensual()) return { entry: null, editable: false, note: "You do not have permission to input consensual feedback on this plug-in." };
    if (closedJob) return { entry: null, editable: false, note: `The job is ${this.job.status}: no feedback can be given.` };
    const readers = this.personalEntries().map((e) => readerName(e.userEmail));
    return { entry: null, editable: true, note: readers.length
      ? `Consensual mode: pre-filled from the personal feedback of ${readers.join(", ")}; where they agree the choice is made already.`
      : "Consensual mode: nobody has registered personal feedback yet." };
  }

  setMode(mode) {
    this.mode = mode;
    this.viewing = null;
    this.actionLog = [];
    this.render();
  }

  view(entry) {
    this.viewing = entry;
    this.render();
    this.container.scrollIntoView({ block: "start", behavior: "smooth" });
  }

  log(action, data) {
    const item = { date: new Date().toISOString(), action };
    if (data && typeof data === "object") item.data = data;
    this.actionLog.push(item);
  }

  // ---- rendering ---------------------------------------------------------------------------------

  destroyDisplays() {
    for (const d of this.displays) d.instance.destroy?.();
    this.displays = [];
  }

  render() {
    this.destroyDisplays();
    const state = (this.state = this.formState());
    if (!this.collectsFeedback()) Object.assign(state, { editable: false, note: "", action: null });
    clear(this.container);
    this.container.append(this.renderBar(state));
    const note = h("div", { class: `review-note${state.editable ? " editable" : ""}` });
    if (state.note) note.append(h("span", {}, state.note));
    if (state.action) note.append(h("button", { type: "button", class: "button small primary", onclick: state.action.run }, state.action.label));
    if (this.viewing) note.append(h("button", { type: "button", class: "button small", onclick: () => { this.viewing = null; this.render(); } }, "Back"));
    if (state.note || state.action) this.container.append(note);
    let keysTaken = false;
    const opinionsOf = (key) => this.personalEntries().map((e) => ({ userEmail: e.userEmail, value: e.data?.[key] })).filter((o) => o.value !== undefined);
    const consensualView = this.viewing ? this.viewing.isConsensual : this.mode === "consensual";
    for (const def of this.plugin.displayStrategy || []) {
      const create = DISPLAYS[def.type] || createUnsupported;
      const key = def.feedbackKey;
      const ctx = {
        job: this.job, plugin: this.plugin, viewer: this.viewer, attachments: this.attachments, userEmail: this.userEmail,
        mode: consensualView ? "consensual" : "personal",
        editable: state.editable,
        initial: state.entry && key ? state.entry.data?.[key] : undefined,
        opinions: consensualView && key ? opinionsOf(key) : [],
        onChange: () => this.updateBar(),
        log: (action, data) => this.log(action, { ...(key ? { key } : {}), ...(data || {}) }),
        ownsKeys: () => (keysTaken ? false : (keysTaken = true)),
      };
      let instance;
      try {
        instance = create(def, ctx);
      } catch (error) {
        console.error(error);
        instance = { element: h("p", { class: "field-error" }, `This display cannot be shown: ${error.message}`), collects: false };
      }
      this.displays.push({ def, instance });
      this.container.append(h("section", { class: `display display-${String(def.type || "unknown").replace(/[^A-Za-z0-9-]/g, "")}`, dataset: { key: key || "" } },
        h("h3", { class: "display-title" }, def.caption || key || def.type || "Results"), instance.element));
    }
    if (!(this.plugin.displayStrategy || []).length) {
      this.container.append(h("section", { class: "display" }, h("h3", { class: "display-title" }, "Results"), createDump({ options: { maxHeight: 420 } }, { job: this.job }).element));
    }
    this.updateBar();
  }

  renderBar(state) {
    const consensual = this.consensualEntry();
    const showConsensual = Boolean(consensual) || this.canConsensual();
    const tab = (mode, label, extra) => h("label", {}, h("input", { type: "radio", name: "feedback-mode", value: mode, checked: !this.viewing && this.mode === mode,
      onchange: () => this.setMode(mode) }), h("span", {}, label, extra ? h("span", { class: "tab-extra" }, extra) : null));
    const personalCount = this.personalEntries().length;
    this.status = h("span", { class: "review-status small" });
    this.registerButton = h("button", { type: "button", class: "button primary", hidden: !state.editable || !this.collectsFeedback(), onclick: () => this.register(),
      title: "Register the feedback (ctrl+Enter)" }, this.mode === "consensual" ? "Register consensual feedback" : "Register personal feedback");
    const bar = h("div", { class: "review-bar" },
      this.collectsFeedback() ? h("div", { class: "segmented mode-tabs", role: "radiogroup", "aria-label": "Feedback mode" },
        tab("personal", "Personal", personalCount ? String(personalCount) : null),
        showConsensual ? tab("consensual", "Consensual", consensual ? "✓" : null) : null) : h("span", { class: "muted small" }, "This plug-in collects no feedback."),
      this.status, this.registerButton);
    return bar;
  }

  problems() {
    return this.displays.filter((d) => d.instance.collects && d.def.feedbackKey).map((d) => d.instance.error()).filter(Boolean);
  }

  updateBar() {
    if (!this.status) return;
    const state = this.state;
    clear(this.status);
    if (!state.editable) {
      this.status.textContent = "";
      return;
    }
    const problems = this.problems();
    const progress = this.displays.map((d) => d.instance.progress?.()).find(Boolean);
    if (progress) this.status.append(h("b", {}, `${progress.done} of ${progress.total}`), " judged");
    if (problems.length) {
      this.status.title = problems.join("\n");
      if (!progress) this.status.append(problems[0]);
    } else {
      this.status.title = "";
      this.status.append(progress ? " · ready to register" : "Ready to register");
    }
    this.status.classList.toggle("ready", !problems.length);
    this.registerButton.disabled = problems.length > 0;
  }

  data() {
    const data = {};
    for (const { def, instance } of this.displays) {
      if (instance.collects && def.feedbackKey) data[def.feedbackKey] = instance.value();
    }
    return data;
  }

  async register() {
    const state = this.state;
    if (!state?.editable || this.registering) return;
    const problems = this.problems();
    if (problems.length) {
      showBanner("The feedback is not complete.", { kind: "error", details: problems });
      return;
    }
    const consensual = this.mode === "consensual";
    const ok = await confirmDialog({
      title: consensual ? "Register the consensual feedback" : "Register your personal feedback",
      message: consensual
        ? ["The consensual feedback closes the job's feedback: nobody can add feedback afterwards.", "Registered feedback cannot be changed."]
        : ["Registered feedback cannot be changed."],
      confirmLabel: "Register",
    });
    if (!ok) return;
    this.registering = true;
    this.registerButton.disabled = true;
    try {
      this.log("register");
      const kind = consensual ? "consensual" : "personal";
      await api.post(`/plugin-jobs/${encodeURIComponent(this.job.jobId)}/feedback/${kind}`, { data: this.data(), actionLog: this.actionLog });
      this.entries = await api.get(`/plugin-jobs/${encodeURIComponent(this.job.jobId)}/feedback`);
      this.job.feedbacks = this.entries;
      this.actionLog = [];
      showBanner(consensual ? "The consensual feedback is registered." : "Your personal feedback is registered.", { kind: "ok", timeout: 6000 });
      this.render();
      this.onRegistered?.(this.entries);
    } catch (error) {
      this.actionLog.pop();
      if (error.name !== "ApiError") throw error;
      this.updateBar();
    } finally {
      this.registering = false;
    }
  }

  destroy() {
    this.destroyDisplays();
    this.unbind();
  }
}
