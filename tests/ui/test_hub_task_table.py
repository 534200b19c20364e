"""The desktop dashboard pointed at a hub: the job detail's task table follows a site's task changes
from the hub's event stream, without reading the tasks again, and a selected task's log grows live."""

from __future__ import annotations

import pytest

from app.ui.launch import open_dashboard
from tests.conftest import echo_job
from tests.http_worker import HttpWorker
from tests.ui.conftest import ManagerProcess, wait_for
from tests.ui.test_hub_site_column import _send, _started_hub


@pytest.mark.slow  # a hub and a Manager process, over 2 s
def test_the_task_table_at_a_hub_changes_with_the_sites_tasks_and_follows_a_log(qloop, tmp_path):
    hub, url, token = _started_hub(tmp_path)
    site = ManagerProcess(tmp_path / "site-a", extra_config=f"hub_url: {url}/\nhub_site: A\nhub_token: {token}\n")
    try:
        site.start()
        import time
        deadline = time.monotonic() + 30
        while not any(s.get("online") for s in _send(url, "GET", "/api/v3/tablao/hub/sites")["sites"]):
            assert time.monotonic() < deadline, "site A did not connect to the hub"
            time.sleep(0.1)
        job = _send(url, "POST", "/api/v3/jobs", echo_job("at A", metadata={"site": "A"}))

        async def body():
            worker = await HttpWorker(site.url, "a1", task_types=("misc",)).register_and_sign_on()
            dashboard, window = await open_dashboard([url])
            try:
                await wait_for(lambda: dashboard.jobs.rowCount() == 1, message="the hub's job")
                conn = dashboard.connections[url]
                reads: list[str] = []
                job_tasks = conn.client.job_tasks

                async def counted(job_id: str):
                    reads.append(job_id)
                    return await job_tasks(job_id)

                conn.client.job_tasks = counted  # type: ignore[method-assign]
                window.detail.show_job(dashboard.jobs.row(dashboard.jobs.keys()[0]))
                detail = window.detail
                await wait_for(lambda: detail.tasks.rowCount() >= 1, message="the job's tasks, read through the hub")
                status, task = await worker.claim()
                assert status == 200, task
                tid = task["uuid"]

                def shown():
                    row = detail.tasks.row(tid)
                    return row.task if row is not None else None

                await wait_for(lambda: shown() is not None and str(shown().status) == "active",
                               message="the claimed task active in the table")
                await wait_for(lambda: str(dashboard.jobs.row(dashboard.jobs.keys()[0]).job.status) == "active",
                               message="the job active")
                settled = len(reads)
                await worker.update(tid, activity="frame 7 of 9")
                await wait_for(lambda: shown().activity == "frame 7 of 9", message="the task's activity, live")
                assert len(reads) == settled, "the task's change came from the hub's stream, not a new read"

                detail.task_table.selectRow(next(r for r in range(detail.task_proxy.rowCount())
                                                 if detail.task_proxy.index(r, 2).data() == task["name"]))
                await wait_for(lambda: detail.task_id == tid and detail.log_ready, message="the task's log followed")
                await worker.update(tid, log="a line at site A\n")
                await wait_for(lambda: "a line at site A" in detail.log.toPlainText(), message="the log line, live")
                await worker.update(tid, log="and another\n")
                await wait_for(lambda: "and another" in detail.log.toPlainText(), message="the log grows")
            finally:
                window.close()
                await dashboard.close()
                await worker.close()
            assert job["site"] == "A"

        qloop.run_until_complete(body())
    finally:
        site.stop()
        hub.stop()
