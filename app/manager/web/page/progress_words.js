// The words of a job's progress: frames, elapsed time and the ETA with its range.

import { etaText } from "./eta.js";
import { FINISHED, duration, elapsed, framesOf } from "./format.js";

/** `{text, title}` of a job's ETA: the Manager's (`known`: `{eta, reason}`, null before it said). */
export function etaWords(job, known, now) {
  if (job.status === "completed") return { text: "done", title: "the job is completed" };
  if (FINISHED.has(job.status)) return { text: "—", title: `the job is ${job.status}` };
  if (job.status === "paused") return { text: "paused", title: "no ETA while the job is paused" };
  return etaText(known && known.eta, known && known.reason, now);
}

export function elapsedWords(job, now) {
  const s = elapsed(job, now);
  if (Number.isNaN(s)) return { text: "", title: "" };
  const finished = FINISHED.has(job.status);
  return { text: duration(s), title: finished ? `took ${duration(s)} from submission` : "since it was submitted" };
}

export function framesWords(job) {
  const f = framesOf(job);
  const text = f.unit === "frames" ? `${f.done} / ${f.total}` : `${f.done} / ${f.total} steps`;
  return { text, title: `${f.done} of ${f.total} ${f.unit} done`, ...f };
}
