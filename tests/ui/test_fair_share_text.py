"""The fair-share words of a waiting job's explanation (pure: the job, its workers, the Manager's report)."""

from __future__ import annotations

from app.ui.why_waiting import explain

JOB = {"status": "queued", "worker_tag": "", "metadata": {"user.name": "bob"}}
TASKS = [{"status": "queued", "task_type": "misc"}]
BUSY = [{"id": f"w{i}", "status": "awake", "supported_task_types": ["misc"], "tags": [], "task": {"id": "t"}}
        for i in range(4)]


def _share(policy: str = "fair-share") -> dict:
    return {"policy": policy, "share_by": "user.name", "tasks_running": 4,
            "submitters": [{"name": "alice", "weight": 1.0, "running": 3}, {"name": "bob", "weight": 1.0, "running": 1}]}


def test_a_job_waiting_under_fair_share_is_told_the_shares():
    text = explain(JOB, TASKS, BUSY, [], share=_share())
    assert text.startswith("All 4 able worker(s) are busy; fair share: alice has 3 of 4 workers, bob 1")
    assert "this job is bob's" in text


def test_under_strict_priority_or_without_a_report_the_old_words_stay():
    for share in (_share("priority"), None):
        assert explain(JOB, TASKS, BUSY, [], share=share) == (
            "All 4 able worker(s) are busy with other tasks (higher priority or older jobs first).")


def test_a_job_without_a_submitter_says_so():
    text = explain(dict(JOB, metadata={}), TASKS, BUSY, [], share=_share())
    assert "this job is without a submitter" in text
