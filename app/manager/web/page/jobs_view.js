// The job list: every job with its status, progress, frames, elapsed time, ETA and last frame.

import { showFrame } from "./frames.js";
import { fraction, localTime, percent, shortTime, siteWords, submitter } from "./format.js";
import { elapsedWords, etaWords, framesWords } from "./progress_words.js";
import { VirtualTable, progress, status, text } from "./table.js";

export class JobsView {
  constructor(farm, clock) {
    this.farm = farm;
    this.clock = clock;
    this.search = document.getElementById("job-search");
    this.count = document.getElementById("job-count");
    this.empty = document.getElementById("jobs-empty");
    this.shownOnce = false;
    const now = () => this.clock();
    const columns = [
      { key: "frame", title: "", fill: (cell, job) => this._thumb(cell, job) },
      { key: "name", title: "Name", fill: (cell, job) => text(cell, job.name), sort: (j) => (j.name || "").toLowerCase() },
      // Only a hub's jobs have a site: the column shows once one is listed (`update`).
      { key: "site", title: "Site", fill: (cell, job) => this._words(cell, siteWords(job) || { text: "" }),
        sort: (j) => (siteWords(j) || { text: "" }).text },
      { key: "status", title: "Status", fill: (cell, job) => status(cell, job.status), sort: (j) => j.status },
      { key: "progress", title: "Progress", fill: (cell, job) => progress(cell, fraction(job), percent(job)),
        sort: fraction },
      { key: "frames", title: "Frames", fill: (cell, job) => this._words(cell, framesWords(job)),
        sort: (j) => j.steps_completed || 0 },
      { key: "elapsed", title: "Elapsed", fill: (cell, job) => this._words(cell, elapsedWords(job, now())) },
      { key: "eta", title: "ETA", fill: (cell, job) => this._words(cell, etaWords(job, farm.etaOf(job.id), now())) },
      { key: "submitter", title: "Submitter", fill: (cell, job) => text(cell, submitter(job)), sort: submitter },
      { key: "priority", title: "Prio", fill: (cell, job) => text(cell, job.priority), sort: (j) => j.priority },
      { key: "created", title: "Created", fill: (cell, job) => text(cell, shortTime(job.created, now()),
        localTime(job.created)), sort: (j) => j.created || "" },
      { key: "updated", title: "Updated", fill: (cell, job) => text(cell, shortTime(job.updated, now()),
        localTime(job.updated)), sort: (j) => j.updated || "" },
    ];
    this.table = new VirtualTable(document.getElementById("jobs-table"), columns, {
      key: (job) => job.id,
      href: (job) => `#/jobs/${encodeURIComponent(job.id)}`,
      sortKey: "created",
      sortDescending: true,
      label: "Jobs",
      onDraw: () => this._drawn(),
    });
    this.search.addEventListener("input", () => this._filter());
  }

  _words(cell, words) {
    text(cell, words.text, words.title);
  }

  _thumb(cell, job) {
    let img = cell.firstElementChild;
    if (!img) {
      img = document.createElement("img");
      img.alt = "";
      img.hidden = true;
      const none = document.createElement("span");
      none.className = "no-frame";
      none.title = "no frame rendered yet";
      cell.append(img, none);
    }
    const frame = this.farm.frames.get(job.id);
    const key = `${job.id}:${frame ? frame.version : "?"}`;
    if (img.dataset.key === key) return;
    img.dataset.key = key;
    if (img.dataset.job !== job.id) { // a recycled row: never show another job's frame meanwhile
      img.hidden = true;
      img.nextElementSibling.hidden = false;
    }
    showFrame(this.farm, img, job.id, "tiny", (shown) => { img.nextElementSibling.hidden = shown; });
  }

  _filter() {
    const words = this.search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    this.table.setFilter(words.length ? (job) => {
      const hay = `${job.name} ${job.status} ${job.type} ${submitter(job)} ${job.site ?? ""}`.toLowerCase();
      return words.every((w) => hay.includes(w));
    } : null);
  }

  /** The jobs changed (added, removed or updated). */
  update() {
    const jobs = [...this.farm.jobs.values()];
    this.table.root.classList.toggle("with-sites", jobs.some((job) => typeof job.site === "string"));
    this.table.setRows(jobs);
    const n = this.farm.jobs.size;
    this.count.textContent = `${n} job${n === 1 ? "" : "s"}`;
    this.empty.hidden = n > 0;
    this.ready = true;
  }

  /** Only what is drawn changed (times, ETAs, frames). */
  redraw() {
    this.table.schedule();
  }

  select(id) {
    this.table.select(id);
    if (id) this.table.reveal(id);
  }

  _drawn() {
    if (this.ready && !this.shownOnce) {
      this.shownOnce = true;
      const jobs = this.farm.jobs.size;
      // After the frame that shows them is painted.
      requestAnimationFrame(() => setTimeout(() => performance.mark("tablao:jobs-shown", { detail: { jobs } })));
    }
  }
}
