// The Manager's ETA of a job, in words. The Manager works it out (app/manager/jobs/job_eta.py) from
// the farm's finished tasks and its workers' measured speed, and every client shows that one figure:
// the page only counts down to the times it gave (`at`, and the range's `low` and `high`).

import { duration, localTime, parseTime } from "./format.js";

const SOURCES = {
  job: "of this job",
  file: "of earlier jobs of this .blend file",
  type: "of earlier jobs of this type",
};

/** `{text, title, estimate}` of the Manager's `eta` at `now` (ms), or `{text: "—", title: reason}`. */
export function etaText(eta, reason, now) {
  if (!eta) return { text: "—", title: reason || "the Manager has no ETA for it yet" };
  const left = (iso) => Math.max(0, (parseTime(iso) - now) / 1000);
  const seconds = left(eta.at);
  const low = left(eta.low);
  const high = left(eta.high);
  const basis = `${eta.basis} finished task${eta.basis === 1 ? "" : "s"} ${SOURCES[eta.source] || ""}`.trim();
  const count = (eta.workers || []).length;
  const workers = count ? ` and ${count} worker${count === 1 ? "" : "s"}` : "";
  return {
    text: `${duration(seconds)} (${duration(low)}–${duration(high)})`,
    title: `about ${duration(seconds)}, between ${duration(low)} and ${duration(high)}, from ${basis}` +
      `${workers}; done around ${localTime(eta.at)}`,
    estimate: { seconds, low, high, basis: eta.basis, source: eta.source },
  };
}
