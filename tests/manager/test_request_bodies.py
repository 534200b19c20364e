"""Every route that reads a body through its `app.api` model answers a body that does not fit with a
400 naming the field, and changes nothing."""

from __future__ import annotations

from tests.conftest import echo_job
from tests.http_worker import HttpWorker

V = "/api/v3"


async def test_each_route_names_the_field_it_refuses_and_changes_nothing(manager):
    status, job = await manager.request("POST", f"{V}/jobs", json=echo_job(), admin=True)
    assert status == 200, job
    status, tag = await manager.request("POST", f"{V}/worker-mgt/tags", json={"name": "gpu"}, admin=True)
    assert status == 200, tag
    worker = await HttpWorker(manager.url, name="w", task_types=["misc"]).register_and_sign_on()
    try:
        status, task = await worker.claim()
        assert status == 200, task
        j, t, w = job["id"], task["uuid"], worker.uuid
        admin_cases = [
            ("POST", f"{V}/jobs", {**echo_job(), "priority": True},
             "`priority` must be a whole number from 0 to 100, not a boolean"),
            ("POST", f"{V}/jobs/check", {**echo_job(), "metadata": {"user.name": 5}},
             "`metadata.user.name` must be a string, not a number"),
            ("POST", f"{V}/jobs", {**echo_job(), "settings": None}, "`settings` must be an object, not null"),
            ("POST", f"{V}/jobs", {**echo_job(), "storage": {"shaman_checkout_id": 3}},
             "`storage.shaman_checkout_id` must be a string, not a number"),
            ("POST", f"{V}/jobs", [echo_job()], "expected a JSON object, not a list"),
            ("POST", f"{V}/jobs/{j}/setstatus", {"status": "paused"}, "`reason` is required: a string"),
            ("POST", f"{V}/jobs/{j}/setstatus", {"status": "gone", "reason": "x"},
             "`status` must be one of under-construction, queued, active, paused, pause-requested, "
             "cancel-requested, requeueing, completed, canceled, failed, not 'gone'"),
            ("POST", f"{V}/jobs/{j}/setpriority", {"priority": 50.5},
             "`priority` must be a whole number from 0 to 100, not a number"),
            ("POST", f"{V}/jobs/{j}/setpriority", {}, "`priority` is required: a whole number from 0 to 100"),
            ("POST", f"{V}/jobs/{j}/settag", {"id": ["x"]}, "`id` must be a string, not a list"),
            ("DELETE", f"{V}/jobs/mass-delete", {"last_updated_max": 20240101},
             "`last_updated_max` must be a string, not a number"),
            ("DELETE", f"{V}/jobs/{j}/blocklist", [{"worker_id": w}], "`[0].task_type` is required: a string"),
            ("DELETE", f"{V}/jobs/{j}/blocklist", {"worker_id": w}, "expected a JSON list"),
            ("POST", f"{V}/tasks/{t}/setstatus", {"status": "queued", "reason": None},
             "`reason` is required: a string, not null"),
            ("POST", f"{V}/worker-mgt/workers/{w}/setstatus", {"status": "asleep"},
             "`is_lazy` is required: true or false"),
            ("POST", f"{V}/worker-mgt/workers/{w}/setstatus", {"status": "testing", "is_lazy": False},
             "`status` must be one of awake, asleep, offline, restart, not 'testing'"),
            ("POST", f"{V}/worker-mgt/workers/{w}/settags", {"tag_ids": tag["id"]},
             "`tag_ids` must be a list, not a string"),
            ("POST", f"{V}/worker-mgt/workers/{w}/sleep-schedule",
             {"is_active": "yes", "days_of_week": "", "start_time": "09:00", "end_time": "18:00"},
             "`is_active` must be true or false, not a string"),
            ("POST", f"{V}/worker-mgt/tags", {"description": "d"}, "`name` is required: a string"),
            ("PUT", f"{V}/worker-mgt/tag/{tag['id']}", {"name": "gpu", "description": 7},
             "`description` must be a string, not a number"),
            ("POST", f"{V}/configuration/setup-assistant", {"storageLocation": "/srv/farm"},
             "`blenderExecutable` is required: an object"),
            ("POST", f"{V}/configuration/setup-assistant",
             {"storageLocation": "/srv/farm", "blenderExecutable": {"source": "default"}, "shamanEnabled": "yes"},
             "`shamanEnabled` must be true or false, not a string"),
            ("POST", f"{V}/tablao/worker/prove", {"worker_id": w}, "`nonce` is required: a string"),
        ]
        config_before = manager.cfg.path.read_text()
        for method, path, body, words in admin_cases:
            status, answer = await manager.request(method, path, json=body, admin=True)
            assert (status, answer) == (400, {"code": 400, "message": words}), (method, path, body)

        worker_cases = [
            ("/worker/register-worker", {"secret": "s", "platform": "linux", "name": "x",
                                         "supported_task_types": "misc"},
             "`supported_task_types` must be a list, not a string"),
            ("/worker/sign-on", {"name": "w", "supported_task_types": ["misc"], "software_version": "1",
                                 "can_restart": "no"}, "`can_restart` must be true or false, not a string"),
            ("/worker/state-changed", {"status": "dancing"},
             "`status` must be one of starting, awake, asleep, error, testing, offline, restart, not 'dancing'"),
            (f"/worker/task/{t}", {"taskStatus": "soft-failed"},
             "`taskStatus` must be one of active, completed, failed, not 'soft-failed'"),
            (f"/worker/task/{t}", {"steps_completed": -2},
             "`steps_completed` must be a whole number, 0 or more, not -2"),
            (f"/worker/task/{t}", {"log": ["line"]}, "`log` must be a string, not a list"),
        ]
        for path, body, words in worker_cases:
            status, answer = await worker.call("POST", f"{V}{path}", json=body)
            assert (status, answer) == (400, {"code": 400, "message": words}), (path, body)

        _, fetched = await manager.request("GET", f"{V}/jobs/{j}", admin=True)
        assert (fetched["priority"], fetched["status"], fetched.get("worker_tag")) == (50, "active", None)
        _, fetched_task = await manager.request("GET", f"{V}/tasks/{t}", admin=True)
        assert (fetched_task["status"], fetched_task["steps_completed"]) == ("active", 0)
        _, fetched_worker = await manager.request("GET", f"{V}/worker-mgt/workers/{w}", admin=True)
        assert fetched_worker["status"] == "awake" and not fetched_worker.get("status_change")
        assert fetched_worker["tags"] == []
        _, tags = await manager.request("GET", f"{V}/worker-mgt/tags", admin=True)
        assert [(x["name"], x.get("description", "")) for x in tags["tags"]] == [("gpu", "")]
        assert manager.cfg.path.read_text() == config_before
    finally:
        await worker.close()
