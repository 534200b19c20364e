"""The item models under Qt's model tester while deltas, sorting and filtering are applied."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPersistentModelIndex, Qt

from app.ui.models.columns import column_of, jobs_model, tasks_model
from app.ui.models.filter_proxy import RowFilterProxy
from app.ui.models.job_row import job_field
from app.ui.models.keyed_table import ROW_ROLE
from tests.ui.typed_rows import job_delta, job_row, task_row, task_update


def _job(n: int, **extra):
    return job_row("m", id=f"j{n}", name=f"shot_{n:03d}", status="queued", type="t", priority=50,
                   created=f"2026-11-27T05:{n % 60:02d}:00Z", updated="2026-11-27T05:00:00Z",
                   steps_completed=0, steps_total=10, **extra)


@pytest.mark.parametrize("tested", ["source", "proxy"])
def test_jobs_model_passes_the_model_tester_under_deltas_and_sorting(qtmodeltester, tested):
    model = jobs_model()
    proxy = RowFilterProxy(("name", "status"), read=job_field)
    proxy.setSourceModel(model)
    qtmodeltester.check(model if tested == "source" else proxy, force_py=True)
    model.reset([_job(n) for n in range(50)])
    proxy.sort(3, Qt.SortOrder.DescendingOrder)  # by name
    model.upsert_many([job_delta(id="j3", name="shot_003", status="active", steps_completed=5, steps_total=10),
                       job_delta(id="j77", name="zzz", status="queued"),
                       job_delta(id="j78", name="aaa", status="failed")])
    model.upsert(job_delta(id="j4", name="mmm"))
    proxy.set_statuses({"queued"})
    proxy.set_text("shot")
    model.remove("m/j10")
    proxy.set_statuses(set())
    proxy.set_text("")
    names = [proxy.index(r, 3).data() for r in range(proxy.rowCount())]
    assert names == sorted(names, reverse=True)
    assert proxy.rowCount() == 51


def test_sorting_keeps_the_selection_on_its_row_and_a_delta_moves_it():
    model = tasks_model()
    model.reset([task_row(id=f"t{n}", index_in_job=n, name=f"task {n}") for n in range(5)])
    model.sort(0, Qt.SortOrder.DescendingOrder)
    assert [model.index(r, 0).data() for r in range(5)] == ["4", "3", "2", "1", "0"]
    model.sort(3, Qt.SortOrder.DescendingOrder)  # by progress
    held = QPersistentModelIndex(model.index(model.row_of("t1"), 2))
    model.upsert(task_update(id="t1", name="task 1", steps_completed=5, steps_total=10))
    assert model.index(0, 3).data() == "50%"
    assert held.row() == 0 and held.data() == "task 1"
    changes = []
    model.layoutChanged.connect(lambda *a: changes.append(1))
    model.upsert_many([task_update(id="t2", name="task 2", status="active")])  # same sort value: no re-layout
    assert changes == []
    assert model.row("t2").task.status == "active"
    model.upsert(task_update(id="t9", name="from an event", status="active"))
    assert model.index(model.row_of("t9"), 0).data() == ""   # its place in the job is not known yet


def test_a_batch_of_deltas_emits_one_change_per_range():
    model = tasks_model()
    model.reset([task_row(id=f"t{n}", index_in_job=n, name=f"task {n}") for n in range(10)])
    ranges = []
    model.dataChanged.connect(lambda a, b, *_: ranges.append((a.row(), b.row())))
    model.upsert_many([task_update(id=f"t{n}", name=f"task {n}", status="active") for n in (2, 3, 4, 7)])
    assert ranges == [(2, 4), (7, 7)]
    assert model.index(3, 0).data(ROW_ROLE).task.status == "active"


def test_a_job_event_changes_only_what_it_says_and_a_new_job_comes_from_its_first_event():
    model = jobs_model()
    model.reset([_job(1, activity="rendering", metadata={"user.name": "alice"}, delete_requested_at="x")])
    model.upsert(job_delta(id="j1", status="active", updated="2026-11-27T06:00:00Z", steps_completed=4,
                           steps_total=10))
    row = model.row("m/j1")
    assert row is not None and row.job.status == "active" and row.job.steps_completed == 4
    # Left out of the event: kept; the pending deletion is stated by every event (absent: none).
    assert row.job.name == "shot_001" and row.job.activity == "rendering"
    assert row.job.metadata == {"user.name": "alice"} and row.job.delete_requested_at is None
    model.upsert(job_delta("n", id="j1", name="other Manager's", created="2026-11-27T07:00:00Z",
                           metadata={"user.name": "bob", "user.host": "pc"}))
    new = model.row("n/j1")
    assert new is not None and new.manager == "n" and new.job.created == "2026-11-27T07:00:00Z"
    name, submitter = column_of(model, "Name"), column_of(model, "Submitter")
    shown = model.index(model.row_of("n/j1"), name).data(), model.index(model.row_of("n/j1"), submitter).data()
    assert shown == ("other Manager's", "bob@pc")
    assert model.index(model.row_of("m/j1"), name).data(ROW_ROLE) is row


def test_a_worker_row_follows_its_events_vitals_details_and_task():
    from app.api.events import WorkerVitalsUpdate
    from app.api.workers import Worker, WorkerSleepSchedule, WorkerVitals
    from app.ui.models.columns import workers_model
    from app.ui.models.worker_row import ShownTask, WorkerDelta
    from tests.ui.typed_rows import worker_row, worker_update

    model = workers_model()
    model.reset([worker_row("m", id="w1", name="render-01", status="asleep")])

    def cell(title: str) -> str:
        return model.index(model.row_of("m/w1"), column_of(model, title)).data()

    model.upsert(WorkerDelta("m", worker_update(id="w1", name="render-01", status="awake",
                                                updated="2026-11-27T06:00:00Z")))
    row = model.row("m/w1")
    assert row is not None and cell("Status") == "awake" and row.updated == "2026-11-27T06:00:00Z"
    assert cell("Platform") == "" and cell("Sleep schedule") == ""   # no details read yet
    details = Worker(id="w1", name="render-01", status="awake", version="3.6", can_restart=False,
                     ip_address="10.0.0.2", platform="linux", supported_task_types=["blender"])
    task = ShownTask("t1", "render-1,2", "j1", "active", "2026-11-27T06:00:01Z", 1, 4)
    model.edit(["m/w1"], lambda r: r.details_read(
        details, WorkerSleepSchedule(is_active=True, days_of_week="mo tu", start_time="22:00", end_time="07:00"),
        task))
    assert (cell("Platform"), cell("Sleep schedule"), cell("Task")) == ("linux", "mo tu 22:00-07:00",
                                                                      "render-1,2 · 25%")
    vitals = WorkerVitals(updated="2099-01-01T00:00:00Z", cpu_percent=50.0, cpu_count=8, frame=3)
    model.edit(["m/w1"], lambda r: r.vitals_arrived(WorkerVitalsUpdate(id="w1", vitals=vitals), False))
    assert (cell("CPU"), cell("Frame")) == ("50% of 8", "frame 3")
    model.edit(["m/w1"], lambda r: setattr(r, "task", ShownTask("t1", "render-1,2", "j1", "completed",
                                                                 "2026-11-27T06:00:09Z", 4, 4)))
    assert (cell("Task"), cell("Frame")) == ("", "")   # its task ended: no task, no frame
