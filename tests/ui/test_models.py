"""The item models under Qt's model tester while deltas, sorting and filtering are applied."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPersistentModelIndex, Qt

from app.ui.models.columns import jobs_model, row_key, tasks_model
from app.ui.models.filter_proxy import RowFilterProxy
from app.ui.models.keyed_table import ROW_ROLE


def _job(n: int, **extra) -> dict:
    row = {"id": f"j{n}", "_manager": "m", "name": f"shot_{n:03d}", "status": "queued", "type": "t",
           "priority": 50, "created": f"2026-11-27T05:{n % 60:02d}:00Z", "updated": "2026-11-27T05:00:00Z",
           "steps_completed": 0, "steps_total": 10}
    row.update(extra)
    return row


@pytest.mark.parametrize("tested", ["source", "proxy"])
def test_jobs_model_passes_the_model_tester_under_deltas_and_sorting(qtmodeltester, tested):
    model = jobs_model()
    proxy = RowFilterProxy(("name", "status"))
    proxy.setSourceModel(model)
    qtmodeltester.check(model if tested == "source" else proxy, force_py=True)
    model.reset([_job(n) for n in range(50)])
    proxy.sort(3, Qt.SortOrder.DescendingOrder)  # by name
    model.upsert_many([{"id": "j3", "_manager": "m", "status": "active", "steps_completed": 5},
                       {"id": "j77", "_manager": "m", "name": "zzz", "status": "queued"},
                       {"id": "j78", "_manager": "m", "name": "aaa", "status": "failed"}])
    model.upsert({"id": "j4", "_manager": "m", "name": "mmm"})
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
    model.reset([{"id": f"t{n}", "index_in_job": n, "name": f"task {n}", "status": "queued"} for n in range(5)])
    model.sort(0, Qt.SortOrder.DescendingOrder)
    assert [model.index(r, 0).data() for r in range(5)] == ["4", "3", "2", "1", "0"]
    held = QPersistentModelIndex(model.index(model.row_of("t1"), 2))
    model.upsert({"id": "t1", "index_in_job": 99})
    assert model.index(0, 0).data() == "99"
    assert held.row() == 0 and held.data() == "task 1"
    changes = []
    model.layoutChanged.connect(lambda *a: changes.append(1))
    model.upsert_many([{"id": "t2", "status": "active"}])  # the sort value did not change: no re-layout
    assert changes == []
    assert model.row("t2")["status"] == "active"


def test_a_batch_of_deltas_emits_one_change_per_range():
    model = tasks_model()
    model.reset([{"id": f"t{n}", "index_in_job": n, "name": f"task {n}", "status": "queued"} for n in range(10)])
    ranges = []
    model.dataChanged.connect(lambda a, b, *_: ranges.append((a.row(), b.row())))
    model.upsert_many([{"id": f"t{n}", "status": "active"} for n in (2, 3, 4, 7)])
    assert ranges == [(2, 4), (7, 7)]
    assert model.index(3, 0).data(ROW_ROLE)["status"] == "active"
    assert row_key({"_manager": "a", "id": "b"}) == "a/b"
