// The words of a job's progress: frames, elapsed time and the ETA with its range.

import { estimate } from "./eta.js";
import { FINISHED, duration, elapsed, framesOf, localTime } from "./format.js";

/** `{text, title}` of a job's ETA, from its loaded tasks (null while they are not loaded). */
export function etaWords(job, tasks, now) {
  if (job.status === "completed") return { text: "done", title: "the job is completed" };
  if (FINISHED.has(job.status)) return { text: "—", title: `the job is ${job.status}` };
  if (job.status === "paused") return { text: "paused", title: "no ETA while the job is paused" };
  if (!tasks) return { text: "—", title: job.status === "queued" ? "no task has finished yet" : "" };
  const est = estimate(tasks, now);
  if (est.reason) return { text: "—", title: est.reason.startsWith("after") ? `an ETA comes ${est.reason}` : est.reason };
  const at = new Date(now + est.seconds * 1000).toISOString();
  return {
    text: `${duration(est.seconds)} (${duration(est.low)}–${duration(est.high)})`,
    title: `about ${duration(est.seconds)}, between ${duration(est.low)} and ${duration(est.high)}, ` +
      `from ${est.basis} finished tasks; done around ${localTime(at)}`,
    estimate: est,
  };
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
