// When will a job be done? An estimate from the job's own finished tasks, with a range.
//
// The farm's pace on this job is the work (steps: a render task's frames) its tasks finished
// between the first and the last finish, divided by that time: it counts every worker that helped,
// queueing and all. The remaining work is what the unfinished tasks have left. The range widens the
// pace both by how it varied over the job (windows of consecutive finishes, their 10th and 90th
// percentiles) and by how few finishes it rests on (a count of n is uncertain by about 1/sqrt(n)).

import { parseTime } from "./format.js";

const UNFINISHED = new Set(["queued", "active", "soft-failed", "paused"]);

function percentile(sorted, p) {
  const at = Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))));
  return sorted[at];
}

/** The pace (steps per second) of the window of finishes [from, to], or NaN when it spans no time. */
function pace(done, from, to) {
  const span = (done[to].t - done[from].t) / 1000;
  if (span <= 0) return NaN;
  let steps = 0;
  for (let i = from + 1; i <= to; i += 1) steps += done[i].steps;
  return steps / span;
}

/**
 * The estimate for a job's tasks at `now` (ms): `{seconds, low, high, basis}` (seconds from now;
 * `basis` is how many finished tasks it rests on), or `{reason}` when there is none yet.
 */
export function estimate(tasks, now) {
  const done = [];
  let remaining = 0;
  for (const task of tasks) {
    const steps = Math.max(1, task.steps_total || 0);
    if (task.status === "completed") {
      const t = parseTime(task.updated);
      if (!Number.isNaN(t)) done.push({ t, steps });
    } else if (UNFINISHED.has(task.status)) {
      remaining += Math.max(0, steps - (task.steps_completed || 0));
    }
  }
  if (remaining === 0) return { reason: "nothing left to render" };
  if (done.length < 2) return { reason: "after two finished tasks" };
  done.sort((a, b) => a.t - b.t);
  const n = done.length;
  const overall = pace(done, 0, n - 1);
  if (!(overall > 0)) return { reason: "after two finished tasks" };
  const size = Math.min(20, Math.max(2, Math.round(n / 3)));
  const paces = [];
  for (let from = 0; from + size - 1 < n; from += 1) {
    const p = pace(done, from, from + size - 1);
    if (p > 0) paces.push(p);
  }
  paces.sort((a, b) => a - b);
  const spread = 1 / Math.sqrt(n);
  const fast = Math.max(paces.length ? percentile(paces, 0.9) : overall, overall * (1 + spread));
  const slow = Math.min(paces.length ? percentile(paces, 0.1) : overall, overall * Math.max(0.1, 1 - spread));
  return {
    seconds: remaining / overall,
    low: remaining / fast,
    high: remaining / slow,
    basis: n,
  };
}
