// The worker list: each worker's status (and a requested change), its task while it runs one, its
// vitals (CPU, memory, GPU, Blender, the frame it renders: "—" for a worker that sends none), when it
// was last seen, its platform, version and tags.

import { ago, fraction } from "./format.js";
import { VirtualTable, status, text } from "./table.js";
import {
  blenderText, cpuText, cpuTitle, gib, gpuText, gpuTitle, memoryText, renderText, sortNumber, vitalsOf,
} from "./vitals.js";

function requested(worker) {
  const change = worker.status_change;
  if (!change || !change.status) return "";
  return `→ ${change.status}${change.is_lazy ? " after its task" : ""}`;
}

export class WorkersView {
  constructor(farm, clock) {
    this.farm = farm;
    this.count = document.getElementById("worker-count");
    this.empty = document.getElementById("workers-empty");
    const columns = [
      { key: "name", title: "Name", fill: (c, w) => text(c, w.name), sort: (w) => (w.name || "").toLowerCase() },
      { key: "status", title: "Status", fill: (c, w) => this._status(c, w), sort: (w) => w.status },
      { key: "task", title: "Task", fill: (c, w) => this._task(c, w) },
      { key: "cpu", title: "CPU", fill: (c, w) => this._cpu(c, vitalsOf(w, clock())),
        sort: (w) => sortNumber(vitalsOf(w, clock())?.cpu_percent) },
      { key: "memory", title: "Memory", fill: (c, w) => this._memory(c, vitalsOf(w, clock())),
        sort: (w) => sortNumber(vitalsOf(w, clock())?.memory_used) },
      { key: "gpu", title: "GPU", fill: (c, w) => this._gpu(c, vitalsOf(w, clock())) },
      { key: "blender", title: "Blender", fill: (c, w) => text(c, blenderText(vitalsOf(w, clock()))),
        sort: (w) => vitalsOf(w, clock())?.blender_version || "" },
      // The list's summaries carry no task (its details add one): until then the frame is trusted.
      { key: "render", title: "Frame", fill: (c, w) => text(c, renderText(vitalsOf(w, clock()),
        w.task === undefined || !!farm.currentTask(w))) },
      { key: "seen", title: "Last seen", fill: (c, w) => text(c, ago(w.last_seen, clock()), w.last_seen || "never"),
        sort: (w) => w.last_seen || "" },
      { key: "platform", title: "Platform", fill: (c, w) => text(c, w.platform ?? "…"), sort: (w) => w.platform || "" },
      { key: "version", title: "Version", fill: (c, w) => text(c, w.version) },
      { key: "tags", title: "Tags", fill: (c, w) => text(c, (w.tags || []).map((t) => t.name).join(", ") || "—") },
    ];
    this.table = new VirtualTable(document.getElementById("workers-table"), columns, {
      key: (w) => w.id,
      href: (w) => {
        const task = farm.currentTask(w);
        return task && task.job_id ? `#/jobs/${encodeURIComponent(task.job_id)}/tasks/${encodeURIComponent(task.id)}`
          : "#/workers";
      },
      sortKey: "name",
      label: "Workers",
    });
  }

  _status(cell, worker) {
    status(cell, worker.status);
    let change = cell.children[1];
    if (!change) {
      change = document.createElement("span");
      change.className = "requested";
      cell.append(change);
    }
    change.textContent = requested(worker);
  }

  _cpu(cell, vitals) {
    text(cell, cpuText(vitals), cpuTitle(vitals));
  }

  _memory(cell, vitals) {
    const render = vitals && typeof vitals.render_memory === "number"
      ? `the worker and its renders use ${gib(vitals.render_memory)} GiB` : undefined;
    text(cell, memoryText(vitals), render);
  }

  _gpu(cell, vitals) {
    text(cell, gpuText(vitals), gpuTitle(vitals));
  }

  _task(cell, worker) {
    const task = this.farm.currentTask(worker);
    if (!task) {
      text(cell, "—", "no task: the worker is idle");
      return;
    }
    const job = this.farm.jobs.get(task.job_id);
    const pct = task.steps_total ? ` · ${Math.floor(fraction(task) * 100)}%` : "";
    text(cell, `${job ? `${job.name} › ` : ""}${task.name}${pct}`);
  }

  update() {
    this.table.setRows([...this.farm.workers.values()]);
    const n = this.farm.workers.size;
    this.count.textContent = `${n} worker${n === 1 ? "" : "s"}`;
    this.empty.hidden = n > 0;
  }

  redraw() {
    this.table.schedule();
  }
}
