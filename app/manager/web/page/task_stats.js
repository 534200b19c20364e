// What each finished task of the open job measured: its render time and peak memory, from the
// Manager's latest run of it (`/api/v3/tablao/jobs/{id}/task-stats`). They ride on each task as
// `run`; a task event merged into a task keeps it. A Manager without the route gives none.

import { get } from "./api.js";

/** "12.5 s", "1m 16s", "2h 02m"; "" when nothing was measured. */
export function renderTimeWords(seconds) {
  if (typeof seconds !== "number") return "";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  let minutes = Math.floor(Math.round(seconds) / 60);
  const secs = Math.round(seconds) % 60;
  if (minutes < 60) return `${minutes}m ${String(secs).padStart(2, "0")}s`;
  const hours = Math.floor(minutes / 60);
  minutes %= 60;
  return `${hours}h ${String(minutes).padStart(2, "0")}m`;
}

/** "812 MB", "2.00 GB"; "" when nothing was measured. */
export function memoryWords(mb) {
  if (typeof mb !== "number") return "";
  return mb < 1024 ? `${Math.round(mb)} MB` : `${(mb / 1024).toFixed(2)} GB`;
}

/** The latest run of each finished task of the job, by task id (empty when the Manager has none). */
export async function loadRuns(jobId) {
  try {
    const body = await get(`/api/v3/tablao/jobs/${encodeURIComponent(jobId)}/task-stats`);
    return new Map((body.tasks || []).map((run) => [run.task_id, run]));
  } catch {
    return new Map();
  }
}

/** Put each task's run on it (tasks: Map of task id → task, changed in place). */
export function withRuns(tasks, runs) {
  for (const [id, run] of runs) {
    const task = tasks.get(id);
    if (task) tasks.set(id, { ...task, run });
  }
}

/** Render time and peak memory columns for the task table; the render time's tip names the worker. */
export function runColumns(text) {
  const run = (t) => t.run || {};
  return [
    { key: "render", title: "Render time",
      fill: (c, t) => text(c, renderTimeWords(run(t).render_time_s), t.run ? `${t.run.outcome} on ${t.run.worker_name}` : ""),
      sort: (t) => run(t).render_time_s ?? -1 },
    { key: "memory", title: "Peak memory", fill: (c, t) => text(c, memoryWords(run(t).peak_memory_mb)),
      sort: (t) => run(t).peak_memory_mb ?? -1 },
  ];
}
