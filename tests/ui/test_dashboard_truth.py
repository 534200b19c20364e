"""Every visible cell of the dashboard is true, live: a model-based test against a real Manager.

Random steps drive a real Manager (a child process, as a studio runs it) and scripted workers over
real HTTP: submit, claim, progress, complete, fail, requeue, pause, resume, cancel, delete, worker
sign-on and sign-off, sleep and wake, workers' vitals reports (CPU, memory, GPU, Blender, frame and
samples; hidden while a worker is offline), worker and job tag changes, tag renames and deletions, a
sleep schedule, selecting a job, an action clicked in the dashboard, and Manager restarts. After
each step the dashboard gets a moment to follow, then every visible cell of the job, task and
worker tables is compared with what the Manager's API returns for the same rows, and the job and
worker actions must be enabled exactly where they apply. The expected cells are worked out here
from the API's answers, not by the dashboard's own column code.

    TABLAO_TRUTH_STEPS=2000 TABLAO_TRUTH_SEED=7 pytest -s tests/ui/test_dashboard_truth.py

runs a longer walk by hand (CI runs the default, fixed seed); `-s` shows how many steps and cell
comparisons it made. With TABLAO_TEST_POSTGRES set (see tests/conftest.py) it runs on PostgreSQL
as well as SQLite.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app.common.credentials import ADMIN_TOKEN_HEADER
from app.ui.launch import open_dashboard
from app.ui.models.columns import short_time
from app.ui.models.formats import count_frames, duration, held_clock, parse_time
from app.ui.models.keyed_table import KEY_ROLE, ROW_ROLE
from app.ui.task_stats import memory_text, render_time_text
from tests.conftest import STORES, _test_database
from tests.http_worker import HttpWorker
from tests.ui.conftest import ManagerProcess

STEPS = int(os.environ.get("TABLAO_TRUTH_STEPS", "100"))
SEED = int(os.environ.get("TABLAO_TRUTH_SEED", "20260"))
SETTLE_S = 20.0
NAMES = ("scene", "scene", "shot_010", "lighting", "scene")
USERS = (("alice", "studio-pc"), ("bob", "render-mac"), ("carol", ""), ("", ""))
CONNECTED = {"starting", "awake", "asleep", "testing", "restart"}
#: What a user may ask of a job in which status: the Manager's rules, written out again here.
JOB_ACTIONS = {
    "pause": {"active", "queued"},
    "resume": {"paused"},
    "cancel": {"active", "failed", "paused", "pause-requested", "queued"},
    "requeue": {"canceled", "completed", "failed", "paused"},
}


# --- the truth, from the API ------------------------------------------------------------------------
@dataclass
class Truth:
    jobs: dict[str, dict] = field(default_factory=dict)
    workers: dict[str, dict] = field(default_factory=dict)       # summary + details + schedule
    tags: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, list[dict]] = field(default_factory=dict)   # job id → its tasks (the ones asked for)
    runs: dict[str, dict[str, dict]] = field(default_factory=dict)  # job id → task id → its latest run


class Gone(Exception):
    """A row the listing named was deleted before its details were read."""


class Api:
    """The Manager's API as the test reads and steers it (admin token on every call)."""

    def __init__(self, manager: ManagerProcess):
        self.manager = manager
        self.session = aiohttp.ClientSession(manager.url, headers={ADMIN_TOKEN_HEADER: manager.admin_token})

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.request(method, path, json=body) as resp:
            data = await resp.json() if resp.content_type == "application/json" else await resp.text()
            return resp.status, data

    async def get(self, path: str) -> Any:
        status, body = await self.call("GET", path)
        if status == 404:
            raise Gone(path)
        assert status in (200, 204), f"GET {path}: {status} {body}"
        return body if status == 200 else None

    async def truth(self, task_jobs: set[str]) -> Truth | None:
        """What the Manager says now; None when a row went away while it was read (read again)."""
        try:
            return await self._truth(task_jobs)
        except Gone:
            return None

    async def _truth(self, task_jobs: set[str]) -> Truth:
        t = Truth()
        page = await self.get("/api/v3/tablao/jobs?limit=500&offset=0")
        t.jobs = {j["id"]: j for j in page["jobs"]}
        t.tags = {tag["id"]: tag["name"] for tag in (await self.get("/api/v3/worker-mgt/tags"))["tags"]}
        for summary in (await self.get("/api/v3/worker-mgt/workers"))["workers"]:
            detail = await self.get(f"/api/v3/worker-mgt/workers/{summary['id']}")
            schedule = await self.get(f"/api/v3/worker-mgt/workers/{summary['id']}/sleep-schedule")
            t.workers[summary["id"]] = {**summary, **detail, "_schedule": schedule or {}}
        for job_id in task_jobs | {j for j, job in t.jobs.items() if job["status"] == "active"}:
            if job_id in t.jobs:
                t.tasks[job_id] = (await self.get(f"/api/v3/jobs/{job_id}/tasks"))["tasks"]
                stats = await self.get(f"/api/v3/tablao/jobs/{job_id}/task-stats")
                t.runs[job_id] = {run["task_id"]: run for run in stats["tasks"]}
        return t

    async def close(self) -> None:
        await self.session.close()


# --- what each cell must say ------------------------------------------------------------------------
def frames_cell(job: dict) -> str:
    done, total = job["steps_completed"], job["steps_total"]
    frames = count_frames((job.get("settings") or {}).get("frames"))
    if frames is not None and total >= frames:
        return f"{min(done, frames)} / {frames}"
    return f"{done} / {total} steps"


def percent_cell(row: dict) -> str:
    total, done = row.get("steps_total") or 0, row.get("steps_completed") or 0
    if total <= 0:
        return "100%" if row.get("status") == "completed" else "0%"
    return f"{max(0.0, min(1.0, done / total)) * 100:.0f}%"


def submitter_cell(job: dict) -> str:
    meta = job.get("metadata") or {}
    user, host = meta.get("user.name", ""), meta.get("user.host", "")
    return f"{user}@{host}" if user and host else user or host


def elapsed_cell(job: dict, now: datetime) -> str:
    created = parse_time(job["created"])
    end = parse_time(job["updated"]) if job["status"] in ("completed", "canceled", "failed") else now
    return duration(max(0.0, (end - created).total_seconds()))


def eta_cell(job: dict, truth: Truth) -> str | re.Pattern:
    """The ETA exactly where the job's status says it; elsewhere a well-formed figure or a dash. The
    figure is the Manager's (read every few seconds and counted down: an exact match would race its
    next read); tests/ui/test_dashboard_eta.py holds it to the Manager's answer."""
    status = job["status"]
    if status == "completed":
        return "done"
    if status in ("canceled", "failed"):
        return "—"
    if status == "paused":
        return "paused"
    return re.compile(r"^(—|\d.* \(.* – .*\))$")


def job_cells(job: dict, truth: Truth, now: datetime) -> dict[str, Any]:
    tag = job.get("worker_tag") or ""
    return {
        "Status": job["status"], "Progress": percent_cell(job), "Name": job["name"], "ID": job["id"][:8],
        "Site": job.get("site") or "", "Frames": frames_cell(job), "Elapsed": elapsed_cell(job, now), "ETA": eta_cell(job, truth),
        "Submitter": submitter_cell(job), "Type": job["type"], "Prio": str(job["priority"]),
        "Tag": truth.tags.get(tag, tag) if tag else "", "Created": short_time(job["created"], now),
        "Updated": short_time(job["updated"], now), "Activity": job["activity"],
    }


def task_cells(task: dict, now: datetime, run: dict | None = None) -> dict[str, Any]:
    run = run or {}
    return {
        "#": str(task["index_in_job"]), "Status": task["status"], "Name": task["name"],
        "Progress": percent_cell(task), "Worker": (task.get("worker") or {}).get("name", ""),
        "Activity": task.get("activity") or "", "Updated": short_time(task["updated"], now),
        "Render time": render_time_text(run.get("render_time_s")), "Peak memory": memory_text(run.get("peak_memory_mb")),
        "Ran on": run.get("worker_name", ""),
    }


def worker_cells(worker: dict, truth: Truth, now: datetime) -> dict[str, Any]:
    change = worker.get("status_change") or {}
    status = worker["status"] + (f" → {change['status']}{' after its task' if change.get('is_lazy') else ''}"
                                 if change.get("status") else "")
    task = worker.get("task") or {}
    task_text = ""
    if task.get("status") == "active":
        job = truth.jobs.get(task["job_id"], {}).get("name", "")
        pct = f" · {percent_cell(task)[:-1]}%" if task.get("steps_total") else ""
        task_text = f"{job} › {task['name']}{pct}" if job else f"{task['name']}{pct}"
    if worker["status"] in CONNECTED:
        seen = "connected"
    else:
        seen = "never" if not worker.get("last_seen") else _ago(worker["last_seen"], now)
    schedule = worker["_schedule"]
    sched = (f"{schedule.get('days_of_week') or 'every day'} {schedule['start_time']}-{schedule['end_time']}"
             if schedule.get("is_active") else "")
    return {
        "Name": worker["name"], "Status": status, "Task": task_text, "Platform": worker.get("platform", ""),
        "Version": worker["version"], "Tags": ", ".join(t["name"] for t in worker.get("tags") or []),
        "Last seen": seen, "Sleep schedule": sched,
        **vitals_cells(worker.get("vitals"), rendering=task.get("status") == "active"),
    }


def _gib(n: int) -> str:
    text = f"{n / 2**30:.0f}" if n >= 100 * 2**30 else f"{n / 2**30:.1f}"
    return text.removesuffix(".0")


def vitals_cells(vitals: dict | None, rendering: bool) -> dict[str, str]:
    """The vitals columns, from the vitals the API serves (none for an offline or silent worker); a
    frame only while the worker runs a task."""
    v = vitals or {}
    cpu = "—"
    if "cpu_percent" in v:
        cpu = f"{v['cpu_percent']:.0f}%" + (f" of {v['cpu_count']}" if "cpu_count" in v else "")
    memory = f"{_gib(v['memory_used'])} / {_gib(v['memory_total'])} GiB" if "memory_used" in v else "—"
    gpu = "—"
    if v.get("gpus"):
        first = v["gpus"][0]
        gpu = first["name"] + (f" · {first['percent']:.0f}%" if "percent" in first else "") + (
            f" +{len(v['gpus']) - 1}" if len(v["gpus"]) > 1 else "")
    frame = ""
    if "frame" in v and rendering:
        frame = f"frame {v['frame']}" + (f" · {v['sample']}/{v['samples_total']} samples"
                                         if v.get("samples_total") else "")
    return {"Frame": frame, "CPU": cpu, "Memory": memory, "GPU": gpu,
            "Blender": v.get("blender_version", "—")}


def _ago(text: str, now: datetime) -> str:
    s = (now - parse_time(text)).total_seconds()
    if s < 60:
        return "just now"
    if s < 3600:
        return f"{int(s // 60)} min ago"
    return f"{int(s // 3600)} h ago" if s < 86400 else f"{int(s // 86400)} d ago"


def worker_actions(worker: dict) -> dict[str, bool]:
    """Which worker requests change something, by the worker's state as the API tells it."""
    status = worker["status"]
    asked = (worker.get("status_change") or {}).get("status") or ""

    def changes(wanted: str) -> bool:
        return status != wanted or bool(asked and asked != wanted)

    restart = bool(worker.get("can_restart")) and changes("restart")
    offline = not (status == "offline" and not asked) and changes("offline")
    return {"wake": changes("awake"), "sleep_now": changes("asleep"), "restart_now": restart,
            "shutdown_now": offline, "tags": True, "delete": True}


# --- comparing ----------------------------------------------------------------------------------------
def compare_table(view_proxy, model, expected: dict[str, dict[str, Any]], what: str,
                  skip: set[str]) -> tuple[list[str], int]:
    """Every visible cell of the table against `expected` (row id → column title → text or pattern)."""
    diffs: list[str] = []
    count = 0
    shown: set[str] = set()
    titles = [c.title for c in model.columns]
    for r in range(view_proxy.rowCount()):
        row = view_proxy.index(r, 0).data(ROW_ROLE)
        key = str(view_proxy.index(r, 0).data(KEY_ROLE))
        row_id = str(_field(row, "id"))
        shown.add(row_id)
        want = expected.get(row_id)
        if want is None:
            diffs.append(f"{what} {key}: shown, but the Manager has no such row")
            continue
        for c, title in enumerate(titles):
            if title in skip:
                continue
            got = view_proxy.index(r, c).data() or ""
            wanted = want[title]
            count += 1
            ok = wanted.match(got) if isinstance(wanted, re.Pattern) else got == wanted
            if not ok:
                said = wanted.pattern if isinstance(wanted, re.Pattern) else repr(wanted)
                diffs.append(f"{what} {_field(row, 'name')} ({row_id[:8]}) {title}: shows {got!r}, "
                             f"the Manager says {said}")
    for missing in set(expected) - shown:
        diffs.append(f"{what} {missing[:8]}: the Manager has it, the table does not show it")
    return diffs, count


def _field(row: Any, name: str) -> Any:
    """A field of a table's row: a typed row's attribute (jobs), a dict's key (tasks, workers)."""
    return row.get(name) if isinstance(row, dict) else getattr(row, name)


#: Task ids whose row was compared while it showed a measured render time (so those cells were checked).
MEASURED_ROWS_SEEN: set[str] = set()


def compare_all(window, dashboard, truth: Truth) -> tuple[list[str], int]:
    now = datetime.now(UTC)
    with held_clock(now):
        jobs = {i: job_cells(j, truth, now) for i, j in truth.jobs.items()}
        diffs, count = compare_table(window.jobs_view.proxy, dashboard.jobs, jobs, "job", {"Manager"})
        workers = {i: worker_cells(w, truth, now) for i, w in truth.workers.items()}
        d, n = compare_table(window.workers_view.proxy, dashboard.workers, workers, "worker", {"Manager"})
        diffs += d
        count += n
        open_id = window.detail.job.id if window.detail.job is not None else None
        if open_id in truth.jobs and open_id in truth.tasks:
            tasks = {t["id"]: task_cells(t, now, truth.runs.get(open_id, {}).get(t["id"]))
                     for t in truth.tasks[open_id]}
            d, n = compare_table(window.detail.task_proxy, window.detail.tasks, tasks, "task", set())
            diffs += d
            count += n
            MEASURED_ROWS_SEEN.update(i for i, cells in tasks.items() if cells["Render time"])
        elif open_id and open_id not in truth.jobs:
            pass  # deleted while open: the pane keeps its last picture until another job is chosen
    d, n = compare_actions(window, truth)
    return diffs + d, count + n


def compare_actions(window, truth: Truth) -> tuple[list[str], int]:
    diffs, count = [], 0
    jobs_view, workers_view = window.jobs_view, window.workers_view
    selected = jobs_view.selected_rows()
    if len(selected) == 1 and selected[0].id in truth.jobs:
        job = truth.jobs[selected[0].id]
        deleting = bool(job.get("delete_requested_at"))
        for key, sources in JOB_ACTIONS.items():
            count += 1
            want = job["status"] in sources and not deleting
            if jobs_view.row_actions[key].isEnabled() != want:
                diffs.append(f"job {job['name']} ({job['status']}): {key} is "
                             f"{'enabled' if jobs_view.row_actions[key].isEnabled() else 'disabled'}")
        for key in ("open_output", "copy_output"):
            count += 1
            settings = job.get("settings") or {}
            want = bool(settings.get("render_output_path") or settings.get("render_output_root"))
            if jobs_view.row_actions[key].isEnabled() != want:
                diffs.append(f"job {job['name']}: {key} is "
                             f"{'enabled' if jobs_view.row_actions[key].isEnabled() else 'disabled'}")
    selected = workers_view.selected_rows()
    if len(selected) == 1 and selected[0].id in truth.workers:
        worker = truth.workers[selected[0].id]
        for key, want in worker_actions(worker).items():
            count += 1
            if workers_view.row_actions[key].isEnabled() != want:
                diffs.append(f"worker {worker['name']} ({worker['status']}): {key} is "
                             f"{'enabled' if workers_view.row_actions[key].isEnabled() else 'disabled'}")
    return diffs, count


# --- the walk --------------------------------------------------------------------------------------------
class Walk:
    def __init__(self, rng: random.Random, manager: ManagerProcess, api: Api, window, dashboard,
                 shared: Path):
        self.rng, self.manager, self.api, self.window, self.dashboard = rng, manager, api, window, dashboard
        self.shared = shared
        self.workers: list[HttpWorker] = []
        self.running: dict[str, str] = {}    # worker uuid → the task it runs
        self.task_jobs: dict[str, str] = {}  # task uuid → its job, for tasks handed out
        self.last_reported = ""              # the task the last report was about
        self.measured_looks = 0              # measured tasks whose job was opened right after
        self.signed_off: set[str] = set()
        self.truth = Truth()
        self.steps = self.compared = self.attempts = 0
        self.history: list[str] = []

    # every step picks from what the Manager has now
    async def step(self) -> str:
        ops = [(self.submit, 5), (self.claim, 6), (self.progress, 5), (self.complete, 6), (self.fail, 2),
               (self.job_status, 4), (self.requeue_task, 1), (self.delete_job, 1), (self.sign_on, 2),
               (self.sign_off, 1), (self.sleep_or_wake, 2), (self.answer_requests, 3), (self.tags, 2),
               (self.schedule, 1), (self.select, 3), (self.click_action, 2), (self.restart, 1),
               (self.vitals, 4)]
        if self.steps == 0:
            ops = [(self.submit, 1)]
        op = self.rng.choices([o for o, _ in ops], [w for _, w in ops])[0]
        said = await op()
        return f"{op.__name__}: {said}"

    def _pick(self, items):
        items = list(items)
        return self.rng.choice(items) if items else None

    def _jobs(self, *statuses: str) -> list[dict]:
        return [j for j in self.truth.jobs.values() if not statuses or j["status"] in statuses]

    async def submit(self) -> str:
        name = self._pick(NAMES)
        user, host = self._pick(USERS)
        meta = {k: v for k, v in (("user.name", user), ("user.host", host), ("project", "truth")) if v}
        if self.rng.random() < 0.5:
            first = self.rng.randint(1, 20)
            out = self.shared / "out" / f"{name}-{first}"
            body = {"name": name, "type": "simple-blender-render", "submitter_platform": "linux",
                    "priority": self.rng.choice((30, 50, 70)), "metadata": meta, "settings": {
                        "frames": f"{first}-{first + self.rng.randint(1, 5)}",
                        "chunk_size": self.rng.choice((1, 2)),
                        "render_output_root": str(out), "add_path_components": 0,
                        "render_output_path": str(out / "{timestamp}" / "######"),
                        "blendfile": str(self.shared / "scene.blend"), "fps": 24.0, "format": "PNG",
                        "image_file_extension": ".png", "has_previews": False, "scene": "Scene"}}
        else:
            body = {"name": name, "type": "echo-sleep-test", "submitter_platform": "linux",
                    "priority": self.rng.choice((30, 50, 70)), "metadata": meta,
                    "settings": {"message": name, "sleep_duration_seconds": 0,
                                 "sleep_repeats": self.rng.randint(1, 3)}}
        if self.truth.tags and self.rng.random() < 0.2:
            body["worker_tag"] = self._pick(self.truth.tags)
        if self.rng.random() < 0.15:
            body["initial_status"] = "paused"
        status, answer = await self.api.call("POST", "/api/v3/jobs", body)
        assert status == 200, answer
        return f"{body['type']} {name!r} by {submitter_cell(body)!r}"

    def _awake(self) -> list[HttpWorker]:
        return [w for w in self.workers if self.truth.workers.get(w.uuid, {}).get("status") == "awake"
                and w.uuid not in self.running]

    async def claim(self) -> str:
        worker = self._pick(self._awake())
        if worker is None:
            return await self.sign_on()
        status, task = await worker.claim()
        if status == 200:
            self.running[worker.uuid] = task["uuid"]
            self.task_jobs[task["uuid"]] = task["job"]
            return f"{worker.name} claimed {task['name']}"
        return f"{worker.name} got nothing ({status})"

    async def _report(self, fields: dict) -> str:
        if not self.running:
            return await self.claim()
        worker_id = self._pick(self.running)
        worker = next(w for w in self.workers if w.uuid == worker_id)
        task_id = self.running[worker_id]
        self.last_reported = task_id
        status, body = await worker.update(task_id, **fields)
        if status >= 400 or fields.get("taskStatus") in ("completed", "failed"):
            self.running.pop(worker_id, None)  # done, or the Manager took it back
        return f"{worker.name} {fields} → {status}"

    async def progress(self) -> str:
        return await self._report({"steps_completed": self.rng.randint(0, 3),
                                   "activity": f"Rendering frame {self.rng.randint(1, 99)}"})

    async def complete(self) -> str:
        body = {"taskStatus": "completed", "activity": "Completed"}
        measured = self.rng.random() < 0.5
        if measured:  # what a Blender render measured: the task table's two columns
            body.update(render_time_s=round(self.rng.uniform(0.5, 400), 2),
                        peak_memory_mb=round(self.rng.uniform(20, 3000), 1))
        self.last_reported = ""
        said = await self._report(body)
        job_id = self.task_jobs.get(self.last_reported)
        if measured and job_id and said.endswith("→ 204"):  # look at it, as a lead would
            self.window.jobs_view.select_job(job_id)
            self.measured_looks += 1
        return said

    async def fail(self) -> str:
        return await self._report({"taskStatus": "failed", "activity": "Failed: it broke"})

    async def job_status(self) -> str:
        job = self._pick(self._jobs())
        if job is None:
            return await self.submit()
        status = self.rng.choice(("pause-requested", "queued", "cancel-requested", "requeueing"))
        code, _ = await self.api.call("POST", f"/api/v3/jobs/{job['id']}/setstatus",
                                      {"status": status, "reason": "the walk"})
        return f"{job['name']} {job['status']} → {status}: {code}"

    async def requeue_task(self) -> str:
        jobs = [j for j in self._jobs("failed", "active", "canceled", "completed", "queued")]
        job = self._pick(jobs)
        if job is None:
            return "no job"
        tasks = (await self.api.get(f"/api/v3/jobs/{job['id']}/tasks"))["tasks"]
        task = self._pick(t for t in tasks if t["status"] in ("failed", "completed", "canceled"))
        if task is None:
            return "no finished task"
        code, _ = await self.api.call("POST", f"/api/v3/tasks/{task['id']}/setstatus",
                                      {"status": "queued", "reason": "the walk"})
        return f"{job['name']} task {task['name']} requeued: {code}"

    async def delete_job(self) -> str:
        job = self._pick(self._jobs())
        if job is None:
            return "no job"
        code, _ = await self.api.call("DELETE", f"/api/v3/jobs/{job['id']}")
        return f"{job['name']} deleted: {code}"

    async def sign_on(self) -> str:
        gone = [w for w in self.workers if w.uuid in self.signed_off]
        if gone and self.rng.random() < 0.6:
            worker = self.rng.choice(gone)
            status, body = await worker.call("POST", "/api/v3/worker/sign-on", json={
                "name": worker.name, "supported_task_types": worker.task_types, "software_version": "test"})
            assert status == 200, body
            await worker.call("POST", "/api/v3/worker/state-changed",
                              json={"status": body["status_requested"]})
            self.signed_off.discard(worker.uuid)
            return f"{worker.name} signed on again"
        if len(self.workers) >= 4:
            return "enough workers"
        worker = HttpWorker(self.manager.url, f"render-{len(self.workers) + 1:02d}",
                            platform=self.rng.choice(("linux", "windows", "darwin")))
        await worker.register_and_sign_on()
        self.workers.append(worker)
        return f"{worker.name} signed on"

    async def sign_off(self) -> str:
        worker = self._pick(w for w in self.workers if w.uuid not in self.signed_off)
        if worker is None:
            return "nobody to sign off"
        if self.rng.random() < 0.7:  # a Tablao worker reports until it stops: its last vitals stay behind
            await self._report_vitals(worker)
        status, _ = await worker.call("POST", "/api/v3/worker/sign-off")
        self.signed_off.add(worker.uuid)
        self.running.pop(worker.uuid, None)
        return f"{worker.name} signed off: {status}"

    async def sleep_or_wake(self) -> str:
        worker = self._pick(w for w in self.workers if w.uuid in self.truth.workers)
        if worker is None:
            return await self.sign_on()
        wanted = self.rng.choice(("asleep", "awake", "asleep"))
        lazy = self.rng.random() < 0.5
        code, _ = await self.api.call("POST", f"/api/v3/worker-mgt/workers/{worker.uuid}/setstatus",
                                      {"status": wanted, "is_lazy": lazy})
        return f"{worker.name} asked {wanted} (lazy {lazy}): {code}"

    async def answer_requests(self) -> str:
        """Workers do what they were asked (a worker's state poll)."""
        done = []
        for worker in self.workers:
            if worker.uuid in self.signed_off:
                continue
            status, body = await worker.call("GET", "/api/v3/worker/state")
            if status == 200 and body.get("status_requested") in ("asleep", "awake"):
                if body["status_requested"] == "asleep" and worker.uuid in self.running:
                    change = self.truth.workers.get(worker.uuid, {}).get("status_change") or {}
                    if not change.get("is_lazy"):
                        self.running.pop(worker.uuid, None)
                    else:
                        continue  # lazy: after its task
                await worker.call("POST", "/api/v3/worker/state-changed",
                                  json={"status": body["status_requested"]})
                done.append(f"{worker.name} {body['status_requested']}")
        return ", ".join(done) or "nothing asked"

    async def vitals(self) -> str:
        """A worker reports its vitals, as a Tablao worker does every few seconds: any field may be
        missing (one it could not read); a worker running a task may be rendering a frame."""
        worker = self._pick(w for w in self.workers if w.uuid not in self.signed_off)
        if worker is None:
            return "no worker"
        return await self._report_vitals(worker)

    async def _report_vitals(self, worker: HttpWorker) -> str:
        rng = self.rng
        body: dict[str, Any] = {}
        if rng.random() < 0.9:
            body["cpu_percent"] = round(rng.uniform(0, 100), 1)
            body["render_cpu_percent"] = round(body["cpu_percent"] * rng.random(), 1)
            if rng.random() < 0.8:
                body["cpu_count"] = rng.choice((4, 16, 64))
        if rng.random() < 0.9:
            total = rng.choice((8, 32, 128)) << 30
            body.update(memory_used=rng.randint(1 << 28, total), memory_total=total)
        if rng.random() < 0.8:
            names = ("NVIDIA RTX A4000", "AMD Radeon Pro W6600", "Intel UHD 630")
            body["gpus"] = [{"name": rng.choice(names),
                             **({"percent": rng.randint(0, 100)} if rng.random() < 0.7 else {})}
                            for _ in range(rng.choice((0, 1, 1, 2)))]
        if rng.random() < 0.9:
            body["blender_version"] = rng.choice(("3.4.1", "4.2.1", "4.5.0"))
        if worker.uuid in self.running and rng.random() < 0.8:
            total = rng.choice((64, 1500))
            body.update(frame=rng.randint(1, 250), sample=rng.randint(0, total), samples_total=total)
        status, said = await worker.call("POST", "/api/v3/tablao/worker/vitals", json=body)
        return f"{worker.name} vitals {sorted(body)}: {status} {said if status >= 400 else ''}"

    async def tags(self) -> str:
        what = self.rng.choice(("create", "worker", "job", "rename", "delete", "job"))
        if what == "create" or not self.truth.tags:
            code, tag = await self.api.call("POST", "/api/v3/worker-mgt/tags",
                                            {"name": f"tag-{self.rng.randint(1, 999)}"})
            return f"tag created: {code}"
        tag_id = self._pick(self.truth.tags)
        if what == "worker" and self.truth.workers:
            worker_id = self._pick(self.truth.workers)
            ids = [tag_id] if self.rng.random() < 0.7 else []
            code, _ = await self.api.call("POST", f"/api/v3/worker-mgt/workers/{worker_id}/settags",
                                          {"tag_ids": ids})
            return f"worker tags {ids}: {code}"
        if what == "job" and self.truth.jobs:
            job = self._pick(self._jobs())
            body = {"id": tag_id} if self.rng.random() < 0.6 else {}
            code, _ = await self.api.call("POST", f"/api/v3/jobs/{job['id']}/settag", body)
            return f"job {job['name']} tag {body}: {code}"
        if what == "rename":
            code, _ = await self.api.call("PUT", f"/api/v3/worker-mgt/tag/{tag_id}",
                                          {"name": f"renamed-{self.rng.randint(1, 999)}"})
            return f"tag renamed: {code}"
        code, _ = await self.api.call("DELETE", f"/api/v3/worker-mgt/tag/{tag_id}")
        return f"tag deleted: {code}"

    async def schedule(self) -> str:
        worker_id = self._pick(self.truth.workers)
        if worker_id is None:
            return "no worker"
        body = {"is_active": self.rng.random() < 0.7, "days_of_week": self.rng.choice(("mo tu", "", "we")),
                "start_time": "22:00", "end_time": "06:00"}
        code, _ = await self.api.call("POST", f"/api/v3/worker-mgt/workers/{worker_id}/sleep-schedule", body)
        return f"schedule {body['is_active']}: {code}"

    async def select(self) -> str:
        job = self._pick(self._jobs())
        if job is not None and self.rng.random() < 0.7:
            self.window.jobs_view.select_job(job["id"])
        worker_view = self.window.workers_view
        if worker_view.proxy.rowCount():
            worker_view.table.selectRow(self.rng.randrange(worker_view.proxy.rowCount()))
        return f"selected {job['name'] if job else 'nothing'}"

    async def click_action(self) -> str:
        """An enabled job action, clicked in the dashboard: the Manager must take it."""
        view = self.window.jobs_view
        rows = view.selected_rows()
        if len(rows) != 1:
            return await self.select()
        enabled = [k for k in JOB_ACTIONS if view.row_actions[k].isEnabled()]
        if not enabled:
            return "no action applies"
        key = self.rng.choice(enabled)
        before = rows[0].status
        view.row_actions[key].trigger()
        await _until(lambda: getattr(self.dashboard.jobs.row(rows[0].key), "status", None) != before, 10,
                     f"{key} on a {before} job to be taken")
        return f"clicked {key} on {rows[0].name} ({before})"

    async def restart(self) -> str:
        self.manager.stop()
        await asyncio.sleep(0.3)
        await asyncio.to_thread(self.manager.start)
        return "Manager restarted"

    async def settle(self, said: str) -> None:
        """Wait until every cell agrees with the API; fail with the differences if it never does."""
        deadline = time.monotonic() + SETTLE_S
        while True:
            self.attempts += 1
            open_job = self.window.detail.job.id if self.window.detail.job is not None else None
            truth = await self.api.truth({open_job} if open_job else set())
            if truth is None:
                await asyncio.sleep(0.1)
                continue
            self.truth = truth
            diffs, count = compare_all(self.window, self.dashboard, self.truth)
            if not diffs and self._no_error_shown():
                self.compared += count
                return
            if time.monotonic() > deadline:
                lines = "\n  ".join(diffs[:25]) or "an error dialog is open"
                steps = "\n  ".join(self.history[-8:])
                if os.environ.get("TABLAO_TRUTH_DEBUG"):
                    for key in self.dashboard.workers.keys():
                        print("ROW", self.dashboard.workers.row(key))
                    print("MAP", self.dashboard._task_workers)
                    for w in self.truth.workers.values():
                        print("TRUTH", w)
                raise AssertionError(f"step {self.steps} ({said}), seed {SEED}: the dashboard does not show "
                                     f"the truth after {SETTLE_S:.0f} s:\n  {lines}\n"
                                     f"the last steps:\n  {steps}")
            await asyncio.sleep(0.2)

    def _no_error_shown(self) -> bool:
        from PySide6.QtWidgets import QApplication

        shown = [w for w in QApplication.topLevelWidgets()
                 if w.objectName() == "errorDialog" and w.isVisible()]
        for w in shown:
            raise AssertionError(f"an action the dashboard offered was refused: {w.text()}")
        return True


async def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.mark.slow  # a hundred steps against a Manager process, each compared cell by cell
@pytest.mark.parametrize("store_kind", STORES, indirect=True)
def test_every_visible_cell_follows_the_truth_through_a_random_walk(qloop, tmp_path, store_kind, capsys):
    root = tmp_path / "manager"
    manager = ManagerProcess(root, database=_test_database(root),
                             extra_config="worker_timeout: 1h\ntask_timeout: 1h\n").start()
    rng = random.Random(SEED)

    async def body():
        api = Api(manager)
        dashboard, window = await open_dashboard([manager.url], admin_tokens=manager.admin_tokens)
        window.resize(1600, 900)
        walk = Walk(rng, manager, api, window, dashboard, root / "shared")
        MEASURED_ROWS_SEEN.clear()
        started = time.monotonic()
        try:
            await walk.settle("the empty farm")
            for _ in range(STEPS):
                said = await walk.step()
                walk.steps += 1
                walk.history.append(said)
                await walk.settle(said)
        finally:
            for worker in walk.workers:
                await worker.close()
            window.close()
            await dashboard.close()
            await api.close()
        with capsys.disabled():
            print(f"\n[{store_kind}] seed {SEED}: {walk.steps} steps, {walk.compared} cell and action "
                  f"comparisons ({walk.attempts} looks at the tables) in {time.monotonic() - started:.0f} s; "
                  f"{len(MEASURED_ROWS_SEEN)} tasks compared with a measured render time "
                  f"({walk.measured_looks} opened right after their report)")
        if walk.measured_looks:
            assert MEASURED_ROWS_SEEN, "the job of a measured task was opened, yet no measured row was compared"

    try:
        qloop.run_until_complete(body())
    finally:
        manager.stop()
