// The status page: wires the farm's store, the live stream and the views, and follows the address
// (#/jobs, #/jobs/ID, #/jobs/ID/tasks/ID, #/workers) so a job can be sent as a link.

import { checkAdminToken, get, tokens } from "./api.js";
import { Farm } from "./farm.js";
import { JobView } from "./job_view.js";
import { JobsView } from "./jobs_view.js";
import { Live } from "./live.js";
import { askToken } from "./token_dialog.js";
import { WorkersView } from "./workers_view.js";

const $ = (id) => document.getElementById(id);
const clock = () => Date.now();
const TICK_MS = 5000; // elapsed times, ETAs and "seen 3 min ago" move on by themselves
const ETA_EVERY_MS = 5000; // the Manager's ETAs (GET /api/v3/tablao/jobs/eta)
const WORKERS_EVERY_MS = 30000; // last-seen times are not events: read them again now and then

const farm = new Farm();
let admin = false;

function report(message) {
  const notice = $("notice");
  notice.textContent = message;
  notice.hidden = !message;
  clearTimeout(report.timer);
  if (message) report.timer = setTimeout(() => { notice.hidden = true; }, 12000);
}

const live = new Live({
  state: showLink,
  snapshot: async () => {
    await farm.snapshot();
    loadEtas();
  },
  events: (batch) => {
    farm.apply(batch);
    jobView.onEvents(batch);
  },
  refused: askAccess,
});

async function askAccess() {
  if (await askToken("access")) live.restart();
}
const jobsView = new JobsView(farm, clock);
const jobView = new JobView(farm, live, clock, { isAdmin: () => admin, report });
const workersView = new WorkersView(farm, clock);

function showLink(kind, words, until) {
  const el = $("link-state");
  el.dataset.state = kind;
  document.body.dataset.link = kind;
  clearInterval(showLink.timer);
  const draw = () => {
    const left = until ? Math.max(0, Math.ceil((until - Date.now()) / 1000)) : 0;
    el.textContent = kind === "disconnected" && until ? `${words}; reconnecting in ${left} s` : words;
  };
  draw();
  if (kind === "disconnected" && until) showLink.timer = setInterval(draw, 1000);
  if (kind === "disconnected") document.body.dataset.stale = "yes";
  if (kind === "live") delete document.body.dataset.stale;
}

farm.on((changed) => {
  if (changed.jobs) jobsView.update();
  else if (changed.tasks.size || changed.frames.size) jobsView.redraw();
  if (changed.workers || changed.jobs) workersView.update();
  if (changed.tasks.has(jobView.jobId)) jobView.updateTasks();
  if (changed.jobs || changed.frames.has(jobView.jobId) || changed.tasks.has(jobView.jobId)) jobView.update();
  if (changed.farm) {
    $("farm-status").textContent = `farm: ${farm.farmStatus}`;
    $("farm-status").dataset.status = farm.farmStatus;
  }
});

// --- where the page is ------------------------------------------------------------------------------
function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const view = parts[0] === "workers" ? "workers" : "jobs";
  const jobId = view === "jobs" && parts[1] ? parts[1] : null;
  const taskId = jobId && parts[2] === "tasks" && parts[3] ? parts[3] : null;
  document.body.dataset.view = jobId ? "job" : view;
  $("jobs-pane").hidden = view !== "jobs";
  $("job-pane").hidden = !jobId;
  $("workers-pane").hidden = view !== "workers";
  $("tab-jobs").classList.toggle("current", view === "jobs");
  $("tab-workers").classList.toggle("current", view === "workers");
  jobsView.select(jobId);
  jobView.open(jobId, taskId);
  jobsView.redraw();
  workersView.redraw();
}

// --- the admin token -------------------------------------------------------------------------------
function showAdmin() {
  const button = $("admin-button");
  button.textContent = admin ? "Admin" : "Read-only";
  button.dataset.admin = admin ? "yes" : "no";
  button.title = admin ? "Actions use the admin token this browser keeps (click to forget it or change it)"
    : "Read-only: click to type the Manager's admin token for pause, cancel and requeue";
  jobView.update();
}

// A dialog closed without the access token: the words at the top open it again.
$("link-state").addEventListener("click", () => {
  if ($("link-state").dataset.state === "refused") askAccess();
});

$("admin-button").addEventListener("click", async () => {
  if (await askToken("admin")) {
    admin = Boolean(tokens.admin);
    showAdmin();
  }
});

async function checkStoredAdmin() {
  if (!tokens.admin) return;
  try {
    admin = await checkAdminToken(tokens.admin);
    if (!admin) {
      tokens.admin = "";
      report("The admin token this browser kept is no longer the Manager's; it was forgotten.");
    }
  } catch {
    admin = false; // the Manager is away: the next click asks again
  }
  showAdmin();
}

async function showManager() {
  try {
    const version = await get("/api/v3/version");
    // The default name repeats the brand beside it.
    $("manager-name").textContent = version.name && version.name !== "Tablao" ? version.name : "";
    document.title = version.name ? `${version.name} · Tablao farm` : "Tablao farm";
  } catch {
    /* shown once the Manager answers */
  }
}

// The Manager's ETAs: read again every ETA_EVERY_MS (they move with every finished task, which
// sends no event of its own for them).
async function loadEtas() {
  try {
    await farm.loadEtas();
  } catch {
    return; // the stream says when the Manager is away
  }
  jobsView.redraw();
  jobView.update();
}

window.addEventListener("hashchange", route);
setInterval(() => {
  jobsView.redraw();
  workersView.redraw();
  jobView.update();
}, TICK_MS);
setInterval(async () => {
  if (document.body.dataset.link !== "live" || document.hidden) return;
  try {
    const body = await get("/api/v3/worker-mgt/workers");
    // The list says which vitals are current: a worker it shows without any has none (offline, silent).
    farm.apply(body.workers.map((w) => ({ type: "worker_did_change", data: { vitals: null, ...w } })));
  } catch {
    /* the stream says when the Manager is away */
  }
}, WORKERS_EVERY_MS);
setInterval(() => {
  if (document.body.dataset.link === "live" && !document.hidden) loadEtas();
}, ETA_EVERY_MS);

route();
showAdmin();
showManager();
checkStoredAdmin();
live.start();
// For tests and the bench: the page's parts, read-only by convention.
window.tablao = { farm, live, jobsView, jobView, workersView };
