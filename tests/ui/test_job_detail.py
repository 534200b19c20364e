"""The job detail pane against a real Manager: why a job waits, failures by cause, a live log tail."""

from __future__ import annotations

import pytest

from app.ui.launch import open_dashboard
from app.ui.why_waiting import explain
from tests.conftest import echo_job
from tests.http_worker import HttpWorker
from tests.ui.conftest import wait_for


def _show(window, dashboard, name: str) -> None:
    key = next(k for k in dashboard.jobs.keys() if dashboard.jobs.row(k).name == name)
    window.detail.show_job(dashboard.jobs.row(key))


def test_why_waiting_names_the_tag_no_worker_has(qloop, manager_proc):
    tag = manager_proc.send("POST", "/api/v3/worker-mgt/tags", {"name": "gpu"}, admin=True)
    job = manager_proc.submit_echo("needs gpu")
    manager_proc.send("POST", f"/api/v3/jobs/{job['id']}/settag", {"name": "gpu"})
    assert tag["name"] == "gpu"

    async def body():
        worker = await HttpWorker(manager_proc.url, "plain-cpu").register_and_sign_on()
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: len(dashboard.jobs.keys()) == 1, message="the job")
            await wait_for(lambda: "gpu" in dashboard.connections[manager_proc.url].tags.values(), message="tags")
            _show(window, dashboard, "needs gpu")
            await wait_for(lambda: "Why waiting" in window.detail.summary.text(), message="an explanation")
            assert "No connected worker has the tag 'gpu'" in window.detail.summary.text()
        finally:
            window.close()
            await dashboard.close()
            await worker.close()

    qloop.run_until_complete(body())


def test_why_waiting_names_the_gpu_no_worker_has(qloop, manager_proc):
    """The Manager's words for an unmet scene requirement reach the job's "why waiting" line."""
    job = manager_proc.send("POST", "/api/v3/jobs", echo_job(
        name="optix shot", requirements={"engine": "CYCLES", "device": "GPU", "gpu_backend": "OPTIX"}))

    async def body():
        worker = await HttpWorker(manager_proc.url, "laptop", task_types=["misc"], facts={
            "gpu_backends": [], "memory_total": 8 * 1024**3, "blender_version": "3.4.1"}).register_and_sign_on()
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            status, _ = await worker.claim()
            assert status == 204
            await wait_for(lambda: len(dashboard.jobs.keys()) == 1, message="the job")
            _show(window, dashboard, "optix shot")
            await wait_for(lambda: "Why waiting" in window.detail.summary.text(), message="an explanation")
            assert "The job needs a GPU (OptiX); no connected worker has one." in window.detail.summary.text()
            assert job["status"] == "queued"
        finally:
            window.close()
            await dashboard.close()
            await worker.close()

    qloop.run_until_complete(body())


def test_failures_are_grouped_by_their_last_line_and_the_log_tail_grows(qloop, manager_proc, tmp_path):
    from tests.e2e.farm import blender_job

    manager_proc.send("POST", "/api/v3/jobs", blender_job(tmp_path / "scene.blend", manager_proc.root / "shared" / "out", frames="1-3",
                                                          chunk_size=1, name="flaky"))

    async def body():
        worker = await HttpWorker(manager_proc.url, "w").register_and_sign_on()
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: len(dashboard.jobs.keys()) == 1, message="the job")
            _show(window, dashboard, "flaky")
            await wait_for(lambda: window.detail.tasks.rowCount() == 4, message="three renders and a video")
            status, task = await worker.claim()
            assert status == 200, task
            window.detail.task_table.selectRow(
                next(r for r in range(window.detail.task_proxy.rowCount())
                     if window.detail.task_proxy.index(r, 2).data() == task["name"]))
            await wait_for(lambda: window.detail.task_id == task["uuid"] and window.detail.log_ready,
                           message="task followed")
            await worker.update(task["uuid"], taskStatus="active", activity="rendering", log="line one\n")
            await wait_for(lambda: "line one" in window.detail.log.toPlainText(), message="first log line")
            await worker.update(task["uuid"], log="line two\n")
            await wait_for(lambda: "line two" in window.detail.log.toPlainText(), message="the tail grows")
            others = [await HttpWorker(manager_proc.url, f"w{n}").register_and_sign_on() for n in (2, 3)]
            failing = [(worker, task)]
            for other in others:
                status, claimed = await other.claim()
                assert status == 200, claimed
                failing.append((other, claimed))
            for who, what in failing:  # the same cause three times reads as one line
                await who.update(what["uuid"], taskStatus="failed", activity="Blender crashed: out of memory",
                                 log="oom\n")
            await wait_for(lambda: "3 task(s): Blender crashed: out of memory" in window.detail.failures.toPlainText(),
                           message="failures grouped by cause")
            for other in others:
                await other.close()
        finally:
            window.close()
            await dashboard.close()
            await worker.close()

    qloop.run_until_complete(body())


def test_explain_covers_the_usual_reasons():
    job = {"status": "queued", "worker_tag": ""}
    tasks = [{"status": "queued", "task_type": "blender"}]
    awake = {"id": "w1", "status": "awake", "supported_task_types": ["blender"], "tags": []}
    assert "No worker is connected" in explain(job, tasks, [], [])
    assert "asleep" in explain(job, tasks, [dict(awake, status="asleep")], [])
    assert "cannot" not in explain(job, tasks, [awake], []) and explain(job, tasks, [awake], [])
    assert "can run blender" in explain(job, tasks, [dict(awake, supported_task_types=["ffmpeg"])], [])
    assert "blocklisted" in explain(job, tasks, [awake], [{"worker_id": "w1", "task_type": "blender"}])
    assert "busy" in explain(job, tasks, [dict(awake, task={"id": "t"})], [])
    assert "paused" in explain({"status": "paused"}, tasks, [awake], [])
    assert explain({"status": "completed"}, tasks, [awake], []) == ""
    unmet = ["needs a GPU (OptiX); no connected worker has one"]
    assert explain(job, tasks, [awake], [], "", unmet) == "The job needs a GPU (OptiX); no connected worker has one."
    assert "No worker is connected" in explain(job, tasks, [], [], "", unmet)


@pytest.mark.slow  # over 2 s
def test_the_blocklist_shows_a_failing_worker_and_lets_it_try_again(qloop, manager_proc, tmp_path):
    from tests.e2e.farm import blender_job

    job = manager_proc.send("POST", "/api/v3/jobs", blender_job(tmp_path / "scene.blend", manager_proc.root / "shared" / "out",
                                                                frames="1-4", chunk_size=1, name="cursed"))

    async def body():
        worker = await HttpWorker(manager_proc.url, "unlucky").register_and_sign_on()
        spare = await HttpWorker(manager_proc.url, "spare").register_and_sign_on()  # keeps the job retryable
        for _ in range(3):  # three failures of one job: the Manager blocklists the worker for it
            status, task = await worker.claim(wait=5)
            assert status == 200, task
            await worker.fail(task["uuid"])
        assert manager_proc.get(f"/api/v3/jobs/{job['id']}/blocklist")
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: len(dashboard.jobs.keys()) == 1, message="the job")
            _show(window, dashboard, "cursed")
            detail = window.detail
            await wait_for(lambda: detail.blocklist_model.rowCount() == 1, message="the blocklist")
            assert detail.blocklist_model.item(0, 0).text() == "unlucky"
            detail.blocklist_view.selectRow(0)
            detail._remove_blocklisted()
            await wait_for(lambda: detail.blocklist_model.rowCount() == 0, message="removed")
            assert manager_proc.get(f"/api/v3/jobs/{job['id']}/blocklist") == []
        finally:
            window.close()
            await dashboard.close()
            await worker.close()
            await spare.close()

    qloop.run_until_complete(body())


def test_requeue_failed_tasks_touches_only_the_failed_ones(qloop, manager_proc, tmp_path):
    from tests.e2e.farm import blender_job
    from tests.ui.test_dashboard import _select

    job = manager_proc.send("POST", "/api/v3/jobs", blender_job(tmp_path / "scene.blend", manager_proc.root / "shared" / "out",
                                                                frames="1-3", chunk_size=1, name="half done"))

    def statuses() -> dict[str, str]:
        return {t["name"]: t["status"] for t in manager_proc.get(f"/api/v3/jobs/{job['id']}/tasks")["tasks"]}

    async def body():
        worker = await HttpWorker(manager_proc.url, "only").register_and_sign_on()
        status, first = await worker.claim(wait=5)
        await worker.complete(first["uuid"])
        status, second = await worker.claim(wait=5)
        await worker.fail(second["uuid"])  # the only worker failed it: the task fails for good
        before = statuses()
        assert before[second["name"]] == "failed" and before[first["name"]] == "completed"
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: len(dashboard.jobs.keys()) == 1, message="the job")
            _select(window.jobs_view, {"half done"})
            window.jobs_view.row_actions["requeue_failed"].trigger()
            await wait_for(lambda: statuses()[second["name"]] == "queued", message="the failed task requeued")
            after = statuses()
            assert after[first["name"]] == "completed"
            # The failed task and the task that depends on it (the preview video) run again;
            # the completed and the other canceled render are left as they were.
            unchanged = set(before) - {second["name"], "preview-video"}
            assert {n: after[n] for n in unchanged} == {n: before[n] for n in unchanged}
            assert after["preview-video"] == "queued"
        finally:
            window.close()
            await dashboard.close()
            await worker.close()

    qloop.run_until_complete(body())


def test_the_task_table_shows_each_finished_tasks_render_time_memory_and_worker(qloop, manager_proc, tmp_path):
    from app.ui.models.columns import column_of
    from tests.e2e.farm import blender_job

    manager_proc.send("POST", "/api/v3/jobs", blender_job(tmp_path / "scene.blend", manager_proc.root / "shared" / "out",
                                                          frames="1-3", chunk_size=1, name="measured"))

    async def body():
        worker = await HttpWorker(manager_proc.url, "render-07").register_and_sign_on()
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: len(dashboard.jobs.keys()) == 1, message="the job")
            _show(window, dashboard, "measured")
            await wait_for(lambda: window.detail.tasks.rowCount() == 4, message="three renders and a video")
            status, task = await worker.claim()
            assert status == 200, task
            # The figures arrive with the final status, as a Tablao worker sends them; the table, already
            # shown, fetches them once the task's event says it finished.
            status, _ = await worker.update(task["uuid"], taskStatus="completed", activity="Completed",
                                            render_time_s=75.5, peak_memory_mb=2048.0, log="done\n")
            assert status == 204
            model = window.detail.tasks
            row = model.row_of(task["uuid"])
            cells = {title: lambda t=title: model.index(row, column_of(model, t)).data()
                     for title in ("Render time", "Peak memory", "Ran on")}
            await wait_for(lambda: cells["Render time"]() == "1m 16s", message="the render time")
            assert cells["Peak memory"]() == "2.00 GB" and cells["Ran on"]() == "render-07"
            others = [r for r in range(model.rowCount()) if r != row]
            assert all(model.index(r, column_of(model, "Render time")).data() == "" for r in others)
        finally:
            window.close()
            await dashboard.close()
            await worker.close()

    qloop.run_until_complete(body())
