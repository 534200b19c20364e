// Words and numbers as the page shows them: times, durations, frames, submitters, progress.
// Pure functions of their arguments (the clock is passed in), so they are tested in the browser.

/** Milliseconds since the epoch of an RFC 3339 time, or NaN. */
export function parseTime(text) {
  return typeof text === "string" && text ? Date.parse(text) : NaN;
}

const pad = (n) => String(n).padStart(2, "0");

/** "2026-12-05 14:03" in this browser's time zone; "" when unknown. */
export function localTime(text) {
  const ms = parseTime(text);
  if (Number.isNaN(ms)) return "";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Short for a table: "14:03:27" today, "Dec 5 14:03" this year, "2025-12-05" before. */
export function shortTime(text, now) {
  const ms = parseTime(text);
  if (Number.isNaN(ms)) return "";
  const d = new Date(ms);
  const today = new Date(now);
  if (d.toDateString() === today.toDateString()) {
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  if (d.getFullYear() === today.getFullYear()) {
    return `${MONTHS[d.getMonth()]} ${d.getDate()} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
  return localTime(text).slice(0, 10);
}

/** "just now", "5 min ago", "3 h ago", "2 d ago"; "never" when unknown. */
export function ago(text, now) {
  const ms = parseTime(text);
  if (Number.isNaN(ms)) return "never";
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** "45 s", "12 min", "1 h 05 min", "2 d 3 h". */
export function duration(seconds) {
  if (!Number.isFinite(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s < 600 && s % 60 ? ` ${pad(s % 60)} s` : ""}`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** How many frames a frame list such as "1-100,150,200-210" names; null when it is not one. */
export function countFrames(spec) {
  if (typeof spec !== "string" || !spec.trim()) return null;
  let total = 0;
  for (const part of spec.split(",")) {
    const m = /^\s*(-?\d+)\s*(?:(?:-|\.\.)\s*(-?\d+)\s*)?$/.exec(part);
    if (!m) return null;
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) return null;
    total += last - first + 1;
  }
  return total;
}

/** 0..1: how far a job or task is, by its steps. */
export function fraction(row) {
  const total = row.steps_total || 0;
  if (total <= 0) return row.status === "completed" ? 1 : 0;
  return Math.max(0, Math.min(1, (row.steps_completed || 0) / total));
}

export const percent = (row) => `${Math.floor(fraction(row) * 100)}%`;

/**
 * Frames done and in all of a job, from its `frames` setting and its steps (a render task's steps are
 * its frames; a preview video adds one last step). Jobs without frames count steps.
 */
export function framesOf(job) {
  const frames = countFrames(job.settings && job.settings.frames);
  const done = job.steps_completed || 0;
  if (frames !== null && (job.steps_total || 0) >= frames) {
    return { done: Math.min(done, frames), total: frames, unit: "frames" };
  }
  return { done, total: job.steps_total || 0, unit: "steps" };
}

/** "alice@studio-pc", from the job's metadata (`user.name`, and the host where the submitter sent it). */
export function submitter(job) {
  const meta = job.metadata || {};
  const user = meta["user.name"] || meta.user || "";
  const host = meta["user.host"] || meta.host || meta.hostname || "";
  if (user && host) return `${user}@${host}`;
  return user || host || "";
}

/** A hub's job: `{text, title}` of the site that runs it (or that it waits at the hub); null from a Manager. */
export function siteWords(job) {
  if (typeof job.site !== "string") return null;
  const hub = job.hub || {};
  return { text: job.site || "waiting at the hub", title: hub.why || hub.route_reason || job.site };
}

export const FINISHED = new Set(["completed", "canceled", "failed"]);

/** Seconds a job has run: from its creation to now, or to its last change once it finished. */
export function elapsed(job, now) {
  const start = parseTime(job.created);
  if (Number.isNaN(start)) return NaN;
  const end = FINISHED.has(job.status) ? parseTime(job.updated) : now;
  return Math.max(0, ((Number.isNaN(end) ? now : end) - start) / 1000);
}
