"""`prepared.Hydrator` against Peewee's own row conversion, on every store the tests run: a task with its
job and worker read both ways must give the same values of the same types (datetimes, flags, JSON)."""

from __future__ import annotations

from app.manager.persistence import tasks
from tests.conftest import echo_job
from tests.http_worker import HttpWorker


def _both_ways(task_uuid: str) -> list[tuple[dict, dict]]:
    ours = tasks.fetch_task(task_uuid)
    peewee = tasks._task_query().where(tasks.Task.uuid == task_uuid).get()
    return [(ours.__data__, peewee.__data__), (ours.job.__data__, peewee.job.__data__),
            (ours.worker.__data__, peewee.worker.__data__)]


async def test_a_task_row_is_built_as_peewee_builds_it(manager):
    await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=1))
    w = await HttpWorker(manager.url, name="rows").register_and_sign_on()
    try:
        status, task = await w.claim()
        assert status == 200, task
    finally:
        await w.close()
    pairs = await manager.services.store.call(_both_ways, task["uuid"])
    for ours, theirs in pairs:
        assert ours == theirs
        assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in theirs.items()}
    assert isinstance(pairs[0][0]["commands"], list) and pairs[0][0]["started_at"] is not None
