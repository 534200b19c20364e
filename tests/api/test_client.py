"""ManagerClient against a real Manager on a real port: every method, typed answers, error mapping."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from aiohttp import web

from app.api.client import ManagerClient
from app.api.enums import FarmStatus, JobStatus, TaskStatus, WorkerStatus
from app.api.errors import ApiError, ContractError, HttpError, ManagerUnreachable
from app.api.jobs import (
    AvailableJobType,
    BlocklistEntry,
    Job,
    JobDeletionInfo,
    JobsPage,
    SubmittedJob,
    Task,
    TaskLogInfo,
    TaskSummary,
)
from app.api.meta import (
    BlenderPathCheckResult,
    FlamencoVersion,
    ManagerConfiguration,
    PathCheckResult,
    ShamanFileSpec,
    SharedStorageLocation,
    StorageCheckResult,
    TablaoVariable,
    TablaoVariableValue,
)
from app.api.workers import Worker, WorkerSleepSchedule, WorkerSummary, WorkerTag
from tests.conftest import echo_job
from tests.http_worker import HttpWorker


def _submitted(**extra) -> SubmittedJob:
    return SubmittedJob.from_json(echo_job(**extra))


async def test_meta_operations(manager, tmp_path):
    async with ManagerClient(manager.url, admin_token=manager.services.admin_token) as client:
        version = await client.version()
        assert isinstance(version, FlamencoVersion) and version.name == manager.cfg.manager_name
        config = await client.configuration()
        assert isinstance(config, ManagerConfiguration) and config.storage_location == manager.cfg.shared_storage_path
        policy = await client.submit_policy("linux")
        assert policy.output_roots == [manager.cfg.shared_storage_path] and not policy.blend_scripts_run
        whole = await client.configuration_file()
        whole["task_timeout"] = "7m0s"
        await client.set_configuration_file(whole)
        assert (await client.configuration_file())["task_timeout"] == "7m0s"
        types = await client.job_types()
        assert all(isinstance(t, AvailableJobType) for t in types)
        echo = await client.job_type("echo-sleep-test")
        assert echo.name == "echo-sleep-test" and {s.key for s in echo.settings} >= {"message"}
        assert await client.farm_status() in set(FarmStatus)

        value = TablaoVariableValue(platform="linux", value="/mnt/render")
        answer = await client.set_variables({"render": TablaoVariable(values=[value], is_twoway=True)})
        assert answer["render"].values[0].value == "/mnt/render"
        assert (await client.variables())["render"].is_twoway is True
        resolved = await client.resolved_variables("workers", "linux")
        assert resolved["render"].value == "/mnt/render" and resolved["render"].is_twoway

        storage = await client.shared_storage("users", "linux")
        assert isinstance(storage, SharedStorageLocation) and storage.location
        check = await client.check_shared_storage(str(tmp_path))
        assert isinstance(check, PathCheckResult) and check.path == str(tmp_path)
        full = await client.storage_check(str(tmp_path / "shared"), shaman_enabled=False)
        assert isinstance(full, StorageCheckResult) and full.is_usable
        found = await client.find_blender()
        assert all(isinstance(b, BlenderPathCheckResult) for b in found)
        checked = await client.check_blender("/no/such/blender")
        assert isinstance(checked, BlenderPathCheckResult) and not checked.is_usable
        with pytest.raises(HttpError) as info:
            await client.save_setup_assistant({"storageLocation": 3})
        assert info.value.status == 400


async def test_job_and_task_operations(manager):
    async with ManagerClient(manager.url, admin_token=manager.services.admin_token) as client:
        await client.check_job(_submitted())
        job = await client.submit_job(_submitted(repeats=2))
        assert isinstance(job, Job) and job.status is JobStatus.QUEUED
        assert (await client.job(job.id)) == job
        assert [j.id for j in await client.jobs()] == [job.id]
        other = await client.submit_job(echo_job(repeats=1))
        page = await client.jobs_page(limit=1, offset=0)
        assert isinstance(page, JobsPage) and page.total == 2 and len(page.jobs) == 1
        queued = await client.jobs_page(statuses=["queued"])
        assert {j.id for j in queued.jobs} == {job.id, other.id}

        tasks = await client.job_tasks(job.id)
        assert len(tasks) == 3 and all(isinstance(t, TaskSummary) for t in tasks)
        task = await client.task(tasks[0].id)
        assert isinstance(task, Task) and task.job_id == job.id and task.commands

        await client.set_job_priority(job.id, 70)
        tag = await client.create_worker_tag(WorkerTag(name="gpu"))
        await client.set_job_tag(job.id, tag_id=tag.id)
        assert (await client.job(job.id)).worker_tag == tag.id and (await client.job(job.id)).priority == 70
        await client.set_job_tag(job.id)
        assert (await client.job(job.id)).worker_tag is None

        await client.set_task_status(task.id, TaskStatus.CANCELED, "not needed")
        assert (await client.task(task.id)).status is TaskStatus.CANCELED
        await client.set_job_status(other.id, JobStatus.CANCEL_REQUESTED, "test")
        assert (await client.job(other.id)).status in (JobStatus.CANCEL_REQUESTED, JobStatus.CANCELED)
        assert "canceled" in await client.task_log_tail(task.id)  # a status change logs a line
        info = await client.task_log_info(task.id)
        assert info is None or isinstance(info, TaskLogInfo)
        assert isinstance(await client.task_log(task.id), str)

        assert await client.last_rendered(job.id) is None
        assert await client.last_rendered() is None
        assert await client.job_blocklist(job.id) == []
        assert isinstance(await client.what_would_delete_do(job.id), JobDeletionInfo)
        await client.delete_job(job.id)
        assert (await client.job(job.id)).delete_requested_at is not None
        future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
        assert await client.mass_delete_jobs(future) is True
        assert await client.mass_delete_jobs("2000-01-01T00:00:00Z") is False


async def test_worker_operations_and_blocklist(manager_factory):
    manager = await manager_factory(blocklist_threshold=1)
    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        async with ManagerClient(manager.url, admin_token=manager.services.admin_token) as client:
            job = await client.submit_job(echo_job())
            status, assigned = await worker.claim()
            assert status == 200
            await worker.fail(assigned["uuid"])
            blocklist = await client.job_blocklist(job.id)
            assert blocklist == [BlocklistEntry(worker_id=worker.uuid, task_type=assigned["task_type"],
                                                worker_name="w1")]
            await client.remove_from_blocklist(job.id, blocklist)
            assert await client.job_blocklist(job.id) == []
            tail = await client.task_log_tail(assigned["uuid"])
            assert "it broke" in tail and "it broke" in await client.task_log(assigned["uuid"])

            summaries = await client.workers()
            assert [w.id for w in summaries] == [worker.uuid] and isinstance(summaries[0], WorkerSummary)
            detail = await client.worker(worker.uuid)
            assert isinstance(detail, Worker) and detail.status is WorkerStatus.AWAKE
            await client.request_worker_status(worker.uuid, WorkerStatus.ASLEEP, lazy=True)
            change = (await client.worker(worker.uuid)).status_change
            assert change is not None and change.status is WorkerStatus.ASLEEP and change.is_lazy

            tag = await client.create_worker_tag(WorkerTag(name="gpu", description="cards"))
            assert [t.id for t in await client.worker_tags()] == [tag.id]
            await client.update_worker_tag(WorkerTag(id=tag.id, name="gpu-2", description="more cards"))
            assert (await client.worker_tag(tag.id)).name == "gpu-2"
            await client.set_worker_tags(worker.uuid, [tag.id])
            assert [t.id for t in (await client.worker(worker.uuid)).tags] == [tag.id]
            await client.delete_worker_tag(tag.id)
            assert await client.worker_tags() == []

            assert await client.sleep_schedule(worker.uuid) is None
            schedule = WorkerSleepSchedule(is_active=True, days_of_week="mo tu", start_time="22:00", end_time="06:00")
            await client.set_sleep_schedule(worker.uuid, schedule)
            assert await client.sleep_schedule(worker.uuid) == schedule

            await client.delete_worker(worker.uuid)
            assert await client.workers() == []
    finally:
        await worker.close()


async def test_shaman_operations(manager):
    content = b"shaman through the manager client"
    sha, size = hashlib.sha256(content).hexdigest(), len(content)
    spec = ShamanFileSpec(sha=sha, size=size, path="scene.blend")
    async with ManagerClient(manager.url, admin_token=manager.services.admin_token) as client:
        missing = await client.shaman_requirements([spec])
        assert [(m.sha, m.status) for m in missing] == [(sha, "unknown")]
        assert await client.shaman_file_status(sha, size) == "unknown"
        assert await client.shaman_upload(sha, size, content, filename="scene.blend") == 204
        assert await client.shaman_upload(sha, size, content) == 208
        assert await client.shaman_requirements([spec]) == []
        result = await client.shaman_checkout([spec], "project/shot")
        assert result.checkout_path.startswith("project/shot") and result.link_mode
        other = b"other content"
        with pytest.raises(HttpError) as info:  # the bytes do not match their checksum
            await client.shaman_upload(hashlib.sha256(other).hexdigest(), len(other), b"x" * len(other))
        assert info.value.status == 417 and info.value.message


async def test_http_errors_carry_the_managers_code_and_message(manager):
    async with ManagerClient(manager.url, admin_token=manager.services.admin_token) as client:
        with pytest.raises(HttpError) as info:
            await client.submit_job(echo_job(type="no-such-type"))
        assert info.value.status == 400 and info.value.code == 400 and "no-such-type" in info.value.message
        assert isinstance(info.value, ApiError), "callers that show an ApiError show the Manager's words"
        with pytest.raises(HttpError) as info:
            await client.job("4b3f1d86-2c0c-4c47-9d4c-8f3bb0a3f0aa")
        assert info.value.status == 404 and info.value.message


async def test_unreachable_manager_is_a_clear_error():
    async with ManagerClient("http://127.0.0.1:9", timeout_s=2) as client:
        with pytest.raises(ManagerUnreachable, match="cannot reach the Manager"):
            await client.version()


async def test_an_answer_that_breaks_the_contract_is_a_contract_error(aiohttp_server):
    async def bad_version(request: web.Request) -> web.Response:
        return web.json_response({"version": "3.9", "name": 12})

    async def broken_json(request: web.Request) -> web.Response:
        return web.Response(text="{not json", content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v3/version", bad_version)
    app.router.add_get("/api/v3/configuration", broken_json)
    server = await aiohttp_server(app, host="127.0.0.1")
    async with ManagerClient(str(server.make_url("/"))) as client:
        with pytest.raises(ContractError, match="shortversion|name"):
            await client.version()
        with pytest.raises(ContractError, match="broken JSON"):
            await client.configuration()
