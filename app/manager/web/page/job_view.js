// One job: its facts, last frame, actions, tasks, and the selected task's live log tail.

import { JOB_ACTIONS, TASK_ACTIONS, showActions } from "./actions.js";
import { get } from "./api.js";
import { showFrame } from "./frames.js";
import { fraction, localTime, percent, shortTime, siteWords, submitter } from "./format.js";
import { elapsedWords, etaWords, framesWords } from "./progress_words.js";
import { VirtualTable, progress, status, text } from "./table.js";
import { runColumns } from "./task_stats.js";

const LOG_KEEP = 64 * 1024; // characters of log kept on screen

const $ = (id) => document.getElementById(id);

export class JobView {
  constructor(farm, live, clock, { isAdmin, report }) {
    Object.assign(this, { farm, live, clock, isAdmin, report });
    this.jobId = null;
    this.taskId = null;
    this.logTask = null;
    this.tasksShown = null;
    const columns = [
      { key: "index", title: "#", fill: (c, t) => text(c, t.index_in_job), sort: (t) => t.index_in_job ?? 0 },
      { key: "status", title: "Status", fill: (c, t) => status(c, t.status), sort: (t) => t.status },
      { key: "name", title: "Name", fill: (c, t) => text(c, t.name), sort: (t) => t.name },
      { key: "progress", title: "Progress", fill: (c, t) => progress(c, fraction(t), percent(t)), sort: fraction },
      { key: "worker", title: "Worker", fill: (c, t) => text(c, t.worker ? t.worker.name : ""),
        sort: (t) => (t.worker ? t.worker.name : "") },
      ...runColumns(text),
      { key: "activity", title: "Activity", fill: (c, t) => text(c, t.activity) },
      { key: "updated", title: "Updated", fill: (c, t) => text(c, shortTime(t.updated, clock()), localTime(t.updated)),
        sort: (t) => t.updated || "" },
    ];
    this.tasks = new VirtualTable($("tasks-table"), columns, {
      key: (t) => t.id,
      href: (t) => `#/jobs/${encodeURIComponent(t.job_id || this.jobId)}/tasks/${encodeURIComponent(t.id)}`,
      sortKey: "index",
      label: "Tasks",
      onDraw: (table) => this._drawn(table),
    });
  }

  /** Show this job (and task), or nothing. */
  open(jobId, taskId) {
    if (jobId !== this.jobId) {
      this.jobId = jobId;
      this.farm.openJob = jobId;
      this.tasksShown = null;
      this.tasks.setRows([]);
      $("job-frame-img").hidden = true;
      $("job-frame").dataset.empty = "yes";
      if (jobId) {
        performance.mark("tablao:job-opened", { detail: { job: jobId } });
        if (!this.farm.tasksOf(jobId)) this.farm.loadTasks(jobId).catch((exc) => this.report(exc.message));
      }
      this.frameKey = null;
    }
    this.taskId = taskId || null;
    this.tasks.select(this.taskId);
    this._followLog();
    this.update();
    this.updateTasks();
  }

  /** The job (or its frame) changed: draw its facts again. */
  update() {
    const job = this.jobId && this.farm.jobs.get(this.jobId);
    if (!this.jobId) return;
    if (!job) {
      $("job-name").textContent = this.farm.jobs.size ? "This job is not on the farm (deleted?)" : "Loading…";
      $("job-status").hidden = true;
      $("job-facts").replaceChildren();
      return;
    }
    const now = this.clock();
    $("job-name").textContent = job.name;
    $("job-name").title = job.id;
    $("job-status").hidden = false;
    $("job-status").textContent = job.status;
    $("job-status").dataset.status = job.status;
    const eta = etaWords(job, this.farm.etaOf(job.id), now);
    const elapsed = elapsedWords(job, now);
    const frames = framesWords(job);
    const site = siteWords(job);
    this._facts([
      ["Progress", percent(job)],
      [frames.unit === "frames" ? "Frames" : "Steps", `${frames.done} / ${frames.total}`, frames.title],
      ["Elapsed", elapsed.text, elapsed.title],
      ["ETA", eta.text, eta.title],
      ["Activity", job.activity || "", ""],
      ...(site ? [["Site", site.text, site.title]] : []),
      ["Submitter", submitter(job) || "(not given)", `submitted from ${job.submitter_platform || "?"}`],
      ["Type", job.type],
      ["Priority", String(job.priority)],
      ["Created", localTime(job.created), job.created],
      ["Updated", localTime(job.updated), job.updated],
    ]);
    showActions($("job-actions"), JOB_ACTIONS, job, `/api/v3/jobs/${encodeURIComponent(job.id)}`,
      this.isAdmin(), this.report);
    this._frame();
    this._task();
  }

  _facts(rows) {
    const dl = $("job-facts");
    if (dl.children.length !== rows.length * 2) {
      dl.replaceChildren();
      for (const [label] of rows) {
        const dt = document.createElement("dt");
        dt.textContent = label;
        const dd = document.createElement("dd");
        dd.dataset.fact = label.toLowerCase();
        dl.append(dt, dd);
      }
    }
    rows.forEach(([label, value, title], i) => {
      const dt = dl.children[i * 2];
      if (dt.textContent !== label) dt.textContent = label;
      const dd = dl.children[i * 2 + 1];
      dd.dataset.fact = label.toLowerCase();
      if (dd.textContent !== value) dd.textContent = value;
      dd.title = title ?? value;
    });
  }

  _frame() {
    const frame = this.farm.frames.get(this.jobId);
    const key = `${this.jobId}:${frame ? frame.version : "?"}`;
    if (this.frameKey === key) return;
    this.frameKey = key;
    const caption = $("job-frame-caption");
    showFrame(this.farm, $("job-frame-img"), this.jobId, "full", (shown, why) => {
      caption.textContent = shown ? "Last rendered frame" : why ? `No frame shown: ${why}` : "No frame rendered yet";
      $("job-frame").dataset.empty = shown ? "" : "yes";
    });
  }

  /** The job's tasks changed. */
  updateTasks() {
    const tasks = this.jobId ? this.farm.tasksOf(this.jobId) : null;
    this.tasks.setRows(tasks || []);
    this.tasks.root.style.setProperty("--rows", String(Math.max(3, (tasks || []).length)));
    this.tasksLoaded = Boolean(tasks);
    this._task();
  }

  redraw() {
    this.tasks.schedule();
    this.update();
  }

  _drawn(table) {
    if (this.tasksLoaded && this.tasksShown !== this.jobId) {
      this.tasksShown = this.jobId;
      const detail = { job: this.jobId, tasks: table.shown.length };
      requestAnimationFrame(() => setTimeout(() => performance.mark("tablao:tasks-shown", { detail })));
      if (this.taskId) table.reveal(this.taskId);
    }
  }

  // --- the selected task ---------------------------------------------------------------------------
  _currentTask() {
    const tasks = this.farm.tasks.get(this.jobId);
    return tasks && this.taskId ? tasks.get(this.taskId) : null;
  }

  _task() {
    const task = this._currentTask();
    $("task-title").textContent = task ? task.name : this.taskId ? "Loading the task…" : "Pick a task to follow its log";
    $("task-status").hidden = !task;
    if (task) {
      $("task-status").textContent = task.status;
      $("task-status").dataset.status = task.status;
    }
    const who = task && task.worker ? ` on ${task.worker.name}` : "";
    $("task-activity").textContent = task ? `${task.activity || ""}${who}` : "";
    showActions($("task-actions"), TASK_ACTIONS, task, task ? `/api/v3/tasks/${encodeURIComponent(task.id)}` : "",
      this.isAdmin(), this.report);
  }

  _followLog() {
    if (this.logTask === this.taskId) return;
    if (this.logTask) this.live.unfollowTaskLog(this.logTask);
    this.logTask = this.taskId;
    const pre = $("task-log");
    pre.textContent = "";
    this.logPending = [];
    if (!this.taskId) return;
    const taskId = this.taskId;
    this.live.followTaskLog(taskId); // first, so the tail fetched next misses nothing
    get(`/api/v3/tasks/${encodeURIComponent(taskId)}/logtail`).then((tail) => {
      if (this.logTask !== taskId) return;
      const held = this.logPending;
      this.logPending = null;
      let textNow = tail || "";
      for (const chunk of held) if (!textNow.endsWith(chunk)) textNow += chunk;
      pre.textContent = textNow || "(no log yet)";
      pre.dataset.empty = textNow ? "" : "yes";
      pre.scrollTop = pre.scrollHeight;
    }).catch((exc) => {
      if (this.logTask === taskId) pre.textContent = `The log could not be read: ${exc.message}`;
    });
  }

  /** Live log lines of the followed task. */
  onEvents(batch) {
    const pre = $("task-log");
    let added = "";
    for (const msg of batch) {
      if (msg.type !== "task_log_did_append" || !msg.data || msg.data.task_id !== this.logTask) continue;
      const chunk = String(msg.data.log || "");
      if (this.logPending) this.logPending.push(chunk);
      else added += chunk;
    }
    if (!added) return;
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    let now = pre.dataset.empty === "yes" ? added : pre.textContent + added;
    if (now.length > LOG_KEEP) now = now.slice(now.indexOf("\n", now.length - LOG_KEEP) + 1);
    pre.textContent = now;
    pre.dataset.empty = "";
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  }
}
