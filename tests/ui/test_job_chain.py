"""The job detail shows a job's chain against a real Manager: what it waits for, what waits for it, and
why it waits, following a dependency as it completes."""

from __future__ import annotations

from app.api.jobs import JobChain, JobLink
from app.ui.launch import open_dashboard
from app.ui.why_waiting import explain
from app.ui.windows.job_chain import chain_text
from tests.http_worker import HttpWorker
from tests.ui.conftest import wait_for


def _show(window, dashboard, name: str) -> None:
    key = next(k for k in dashboard.jobs.keys() if dashboard.jobs.row(k).name == name)
    window.detail.show_job(dashboard.jobs.row(key))


def _echo(name: str, **extra) -> dict:
    return {"name": name, "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": name, "sleep_duration_seconds": 0, "sleep_repeats": 0}, **extra}


def test_job_detail_shows_the_chain_and_follows_it(qloop, manager_proc):
    a = manager_proc.send("POST", "/api/v3/jobs", _echo("render A"))
    manager_proc.send("POST", "/api/v3/jobs", _echo("encode B", depends_on=[a["id"]]))
    b = next(j for j in manager_proc.send("GET", "/api/v3/jobs")["jobs"] if j["name"] == "encode B")
    manager_proc.send("POST", "/api/v3/jobs", _echo("upload C", depends_on=[b["id"]], on_dependency_failure="fail"))

    async def body():
        worker = await HttpWorker(manager_proc.url, "w").register_and_sign_on()
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        detail = window.detail
        try:
            await wait_for(lambda: len(dashboard.jobs.keys()) == 3, message="the jobs")
            _show(window, dashboard, "encode B")
            await wait_for(lambda: detail.chain.isVisible() and "Waited for by" in detail.chain.text(),
                           message="the chain")
            assert detail.chain.text() == ("Waits for: 'render A' (queued) (waits if one fails)\n"
                                           "Waited for by: 'upload C' (queued)")
            await wait_for(lambda: "Why waiting" in detail.summary.text(), message="why it waits")
            assert "Activity: Waiting for 'render A'" in detail.summary.text()
            assert "Why waiting: Waiting for 'render A': it starts when they complete." in detail.summary.text()

            status, task = await worker.claim()
            assert status == 200 and task["job"] == a["id"]
            await wait_for(lambda: "'render A' (active)" in detail.chain.text(), message="A runs")
            await worker.complete(task["uuid"])
            await wait_for(lambda: "'render A' (completed)" in detail.chain.text(), message="A completed")
            await wait_for(lambda: "Every job it waited for has completed" in detail.summary.text(),
                           message="B waits no more")

            _show(window, dashboard, "upload C")
            await wait_for(lambda: detail.chain.text() == "Waits for: 'encode B' (queued) (fails if one fails)",
                           message="C's chain")
            _show(window, dashboard, "render A")
            await wait_for(lambda: detail.chain.text() == "Waited for by: 'encode B' (queued)", message="A's chain")
        finally:
            window.close()
            await dashboard.close()
            await worker.close()

    qloop.run_until_complete(body())


def test_chain_words_and_why_waiting():
    assert chain_text(None) == ""
    assert chain_text(JobChain("x", "", 0, "wait")) == ""
    chain = JobChain("x", "Waiting for 'a'", 1, "fail", depends_on=[JobLink("a", "a", "failed")])
    assert chain_text(chain) == "Waits for: 'a' (failed) (fails if one fails)"
    job = {"status": "queued", "waiting_on": 1, "activity": "Waiting for 'a' (failed: requeue it, or cancel this job)"}
    assert explain(job, [{"status": "queued"}], [], []) == (
        "Waiting for 'a' (failed: requeue it, or cancel this job): it starts when they complete.")
