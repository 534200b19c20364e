// What the page knows of the farm: jobs, workers, the task lists it loaded, last frames.
//
// Filled by a snapshot on every (re)connection and kept by the event stream's deltas. An event
// older than what is known (its `updated` before the row's) is ignored, so events held during a
// snapshot never roll a row back. Events lack some fields (a job's activity, creation time and
// metadata; a worker's platform, tags and task), so the store fetches those: a new job or worker
// once, a job's activity again when its status changes. A worker shows a task only while that
// task is active on it: an idle worker shows none. A worker's vitals come with the list and then
// with their own events. Task lists are loaded for the job that is open; each job's ETA is the
// Manager's (`loadEtas`).

import { get } from "./api.js";
import { loadRuns, withRuns } from "./task_stats.js";
import { FINISHED, parseTime } from "./format.js";

const PAGE = 500;
const MAX_JOBS = 20000;
const PARALLEL = 6;

const JOB_EVENT_SKIP = new Set(["refresh_tasks", "previous_status", "was_deleted"]);

/** True when `incoming` is older than `known` (both RFC 3339; unknown times never count as older). */
function older(incoming, known) {
  const a = parseTime(incoming);
  const b = parseTime(known);
  return !Number.isNaN(a) && !Number.isNaN(b) && a < b;
}

/** Run `work(item)` for every item, at most `n` at once; failures are left out. */
async function parallel(items, n, work) {
  const out = [];
  let next = 0;
  async function lane() {
    while (next < items.length) {
      const item = items[next++];
      try {
        out.push(await work(item));
      } catch {
        /* a row deleted meanwhile, or the Manager went away: the next snapshot tells */
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  return out;
}

function taskOfEvent(d) {
  const task = {
    id: d.id, job_id: d.job_id, name: d.name, updated: d.updated, status: d.status,
    activity: d.activity, steps_completed: d.steps_completed, steps_total: d.steps_total,
  };
  if (d.worker) task.worker = { id: d.worker.uuid || d.worker.id, name: d.worker.name };
  return task;
}

export class Farm {
  constructor() {
    this.jobs = new Map();
    this.workers = new Map();
    this.tasks = new Map(); // job id → Map(task id → task), for the jobs whose tasks are loaded
    this.frames = new Map(); // job id → {info, version}: its last-rendered image
    this.etas = { jobs: {}, reasons: {} }; // the Manager's ETA of each unfinished job, and why not
    this.farmStatus = "unknown";
    this.openJob = null;
    this.listeners = new Set();
    this.changed = { jobs: false, workers: false, tasks: new Set(), frames: new Set(), farm: false };
    this.refetching = new Set();
  }

  on(listener) {
    this.listeners.add(listener);
  }

  _emit() {
    const changed = this.changed;
    this.changed = { jobs: false, workers: false, tasks: new Set(), frames: new Set(), farm: false };
    for (const listener of this.listeners) listener(changed);
  }

  // --- snapshot ----------------------------------------------------------------------------------
  async snapshot() {
    const [jobs, workers, status] = await Promise.all([
      this._allJobs(), get("/api/v3/worker-mgt/workers"), get("/api/v3/status")]);
    this.jobs = new Map(jobs.map((job) => [job.id, job]));
    const known = this.workers;
    this.workers = new Map(workers.workers.map((w) => {
      const was = known.get(w.id);
      return [w.id, was ? { ...was, ...w, status_change: w.status_change || null, vitals: w.vitals || null } : w];
    }));
    this.farmStatus = status.status;
    const loaded = [...this.tasks.keys()].filter((id) => this.jobs.has(id));
    this.tasks = new Map();
    for (const id of this.frames.keys()) if (!this.jobs.has(id)) this.frames.delete(id);
    Object.assign(this.changed, { jobs: true, workers: true, farm: true });
    this._emit();
    const wanted = new Set(loaded);
    if (this.openJob && this.jobs.has(this.openJob)) wanted.add(this.openJob);
    await Promise.all([
      parallel([...wanted], PARALLEL, (id) => this.loadTasks(id)),
      this._workerDetails([...this.workers.keys()]),
    ]);
  }

  async _allJobs() {
    const jobs = [];
    for (let offset = 0; offset < MAX_JOBS; offset += PAGE) {
      const page = await get(`/api/v3/tablao/jobs?limit=${PAGE}&offset=${offset}`);
      jobs.push(...page.jobs);
      if (offset + PAGE >= page.total || !page.jobs.length) break;
    }
    return jobs;
  }

  async _workerDetails(ids) {
    await parallel(ids, PARALLEL, async (id) => {
      const worker = await get(`/api/v3/worker-mgt/workers/${encodeURIComponent(id)}`);
      const was = this.workers.get(id);
      if (!was) return;
      this.workers.set(id, { ...was, platform: worker.platform, tags: worker.tags || [],
        task: worker.task || null, details: true });
      this.changed.workers = true;
    });
    this._emit();
  }

  /** Load (or reload) a job's task list. */
  async loadTasks(jobId) {
    const [body, runs] = await Promise.all([get(`/api/v3/jobs/${encodeURIComponent(jobId)}/tasks`), loadRuns(jobId)]);
    if (!this.jobs.has(jobId)) return;
    this.tasks.set(jobId, new Map(body.tasks.map((t) => [t.id, t])));
    withRuns(this.tasks.get(jobId), runs);
    this.changed.tasks.add(jobId);
    this._emit();
  }

  /** Read the Manager's ETA of every unfinished job (one request; the Manager keeps the answer 2 s). */
  async loadEtas() {
    const body = await get("/api/v3/tablao/jobs/eta");
    this.etas = { jobs: body.jobs || {}, reasons: body.reasons || {} };
  }

  /** `{eta, reason}`: the Manager's ETA of the job, or why it has none; null before it said. */
  etaOf(jobId) {
    const eta = this.etas.jobs[jobId];
    const reason = this.etas.reasons[jobId];
    return eta || reason ? { eta: eta || null, reason: reason || "" } : null;
  }

  /** The job's tasks in job order, or null while they are not loaded. */
  tasksOf(jobId) {
    const tasks = this.tasks.get(jobId);
    return tasks ? [...tasks.values()] : null;
  }

  // --- events ------------------------------------------------------------------------------------
  apply(batch) {
    for (const msg of batch) {
      const d = msg.data || {};
      switch (msg.type) {
        case "job_did_change": this._job(d); break;
        case "task_did_change": this._task(d); break;
        case "worker_did_change": this._worker(d); break;
        case "worker_vitals_did_change": this._vitals(d); break;
        case "last_rendered_did_change": this._frame(d); break;
        case "farm_status_did_change":
        case "manager_did_start":
          if (d.status) { this.farmStatus = d.status; this.changed.farm = true; }
          break;
        default: break;
      }
    }
    this._emit();
  }

  _job(d) {
    if (!d.id) return;
    if (d.was_deleted) {
      this.jobs.delete(d.id);
      this.tasks.delete(d.id);
      this.changed.jobs = true;
      return;
    }
    const old = this.jobs.get(d.id);
    if (old && older(d.updated, old.updated)) return;
    const job = { ...(old || {}), delete_requested_at: null };
    for (const [key, value] of Object.entries(d)) if (!JOB_EVENT_SKIP.has(key)) job[key] = value;
    this.jobs.set(d.id, job);
    this.changed.jobs = true;
    if (!old || d.previous_status) this._refetchJob(d.id); // its creation, metadata; its new activity
    if (FINISHED.has(job.status) && d.id !== this.openJob) this.tasks.delete(d.id); // nobody looks at them
    else if (d.refresh_tasks && this.tasks.has(d.id)) this._reloadTasks(d.id);
  }

  _refetchJob(id) {
    if (this.refetching.has(id)) return;
    this.refetching.add(id);
    setTimeout(async () => {
      this.refetching.delete(id);
      try {
        const job = await get(`/api/v3/jobs/${encodeURIComponent(id)}`);
        const now = this.jobs.get(id);
        if (!now || older(job.updated, now.updated)) return;
        this.jobs.set(id, { ...now, ...job });
        this.changed.jobs = true;
        this._emit();
      } catch {
        /* deleted meanwhile */
      }
    }, 150);
  }

  _reloadTasks(jobId) {
    const key = `tasks:${jobId}`;
    if (this.refetching.has(key)) return;
    this.refetching.add(key);
    setTimeout(() => {
      this.refetching.delete(key);
      this.loadTasks(jobId).catch(() => {});
    }, 150);
  }

  /** A task of a loaded job finished: read its figures 1.5 s later (one read for a burst of them). */
  _reloadRuns(jobId) {
    const key = `runs:${jobId}`;
    if (this.refetching.has(key)) return;
    this.refetching.add(key);
    setTimeout(async () => {
      this.refetching.delete(key);
      const runs = await loadRuns(jobId);
      const list = this.tasks.get(jobId);
      if (!list) return;
      withRuns(list, runs);
      this.changed.tasks.add(jobId);
      this._emit();
    }, 1500);
  }

  _task(d) {
    if (!d.id) return;
    const task = taskOfEvent(d);
    const list = this.tasks.get(d.job_id);
    if (list) {
      const old = list.get(d.id);
      if (!old) {
        this._reloadTasks(d.job_id);
      } else if (!older(d.updated, old.updated)) {
        list.set(d.id, { ...old, ...task, worker: task.worker || old.worker });
        this.changed.tasks.add(d.job_id);
        if (["completed", "failed", "soft-failed"].includes(d.status)) this._reloadRuns(d.job_id);
      }
    }
    this._workerOfTask(task);
  }

  /** A task's change also shows on the worker that runs (or ran) it. */
  _workerOfTask(task) {
    const wid = task.worker && task.worker.id;
    const worker = wid && this.workers.get(wid);
    if (!worker) return;
    if (task.status === "active") {
      // The worker itself reported (or claimed) this: it was seen then.
      if (!worker.last_seen || older(worker.last_seen, task.updated)) worker.last_seen = task.updated;
      worker.task = { ...(worker.task && worker.task.id === task.id ? worker.task : {}), ...task };
      this.changed.workers = true;
    } else if (worker.task && worker.task.id === task.id) {
      worker.task = { ...worker.task, status: task.status };
      this.changed.workers = true;
    }
  }

  _worker(d) {
    if (!d.id) return;
    if (d.deleted_at) {
      this.workers.delete(d.id);
      this.changed.workers = true;
      return;
    }
    const old = this.workers.get(d.id);
    if (old && older(d.updated, old.updated)) return;
    const worker = { ...(old || {}), status_change: null };
    for (const [key, value] of Object.entries(d)) if (key !== "previous_status") worker[key] = value;
    // A status change carries the stored "last seen"; a vitals event may have said a fresher one.
    if (old && old.last_seen && older(worker.last_seen, old.last_seen)) worker.last_seen = old.last_seen;
    this.workers.set(d.id, worker);
    this.changed.workers = true;
    if (!old || !old.details) this._workerDetails([d.id]);
  }

  /** A worker's new vitals; the worker was seen when it sent them. */
  _vitals(d) {
    const worker = d.id && this.workers.get(d.id);
    if (!worker || !d.vitals) return;
    worker.vitals = d.vitals;
    if (d.last_seen && (!worker.last_seen || older(worker.last_seen, d.last_seen))) worker.last_seen = d.last_seen;
    this.changed.workers = true;
  }

  _frame(d) {
    if (!d.job_id || !d.thumbnail) return;
    const was = this.frames.get(d.job_id);
    this.frames.set(d.job_id, { info: d.thumbnail, version: (was ? was.version : 0) + 1 });
    this.changed.frames.add(d.job_id);
  }

  /** The job's last-rendered image info: fetched once, then followed by events. */
  async frameOf(jobId) {
    if (!this.frames.has(jobId)) {
      const info = await get(`/api/v3/jobs/${encodeURIComponent(jobId)}/last-rendered`);
      if (!this.frames.has(jobId)) this.frames.set(jobId, { info, version: 0 });
    }
    return this.frames.get(jobId);
  }

  /** The worker's task while it runs one; null when it is idle. */
  currentTask(worker) {
    const task = worker.task;
    return task && task.status === "active" ? task : null;
  }
}
