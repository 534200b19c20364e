"""The dashboard against a real Manager process: snapshot, live deltas, actions, reconnects."""

from __future__ import annotations

import asyncio
from datetime import UTC

import pytest
from PySide6.QtCore import QItemSelectionModel

from app.ui.launch import open_dashboard
from app.ui.models.columns import column_of
from app.ui.models.keyed_table import ROW_ROLE
from tests.ui.conftest import ManagerProcess, wait_for


def _platform(row) -> str | None:
    return row.details.platform if row is not None and row.details is not None else None


def _names(model) -> set[str]:
    return {model.row(k).name for k in model.keys()}


def _select(view, names: set[str]) -> None:
    sel = view.table.selectionModel()
    sel.clearSelection()
    for r in range(view.proxy.rowCount()):
        index = view.proxy.index(r, 0)
        if index.data(ROW_ROLE).name in names:
            sel.select(index, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)


@pytest.mark.slow  # a Manager process, over 2 s
def test_job_table_fills_and_follows_new_jobs_by_deltas(qloop, manager_proc):
    manager_proc.submit_echo("first")

    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: _names(dashboard.jobs) == {"first"}, message="snapshot")
            resets = []
            dashboard.jobs.modelReset.connect(lambda: resets.append(1))
            manager_proc.submit_echo("second")
            await wait_for(lambda: "second" in _names(dashboard.jobs), message="the new job's event")
            assert resets == [], "a new job must arrive as a delta, not a reload"
            assert window.banner.isHidden()
            assert window.jobs_view.table.isColumnHidden(0), "one Manager: no Manager column"
            window.jobs_view.search.setText("seco")
            assert window.jobs_view.proxy.rowCount() == 1
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


@pytest.mark.slow  # a Manager process, over 2 s
def test_multi_select_cancel_cancels_only_the_selected_jobs(qloop, manager_proc):
    for name in ("a", "b", "c"):
        manager_proc.submit_echo(name)

    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: len(dashboard.jobs.keys()) == 3, message="three jobs")
            _select(window.jobs_view, {"a", "c"})
            assert {r.name for r in window.jobs_view.selected_rows()} == {"a", "c"}
            window.jobs_view.row_actions["cancel"].trigger()

            def statuses():
                return {j["name"]: j["status"] for j in manager_proc.get("/api/v3/jobs")["jobs"]}

            await wait_for(lambda: statuses()["a"] == "canceled" and statuses()["c"] == "canceled",
                           message="a and c canceled")
            assert statuses()["b"] == "queued"
            row = lambda n: next(dashboard.jobs.row(k) for k in dashboard.jobs.keys()  # noqa: E731
                                 if dashboard.jobs.row(k).name == n)
            await wait_for(lambda: row("a").status == "canceled", message="the table follows")
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


@pytest.mark.slow  # restarts the Manager process and waits for the reconnect
def test_dashboard_survives_a_manager_restart_and_catches_up(qloop, tmp_path):
    manager = ManagerProcess(tmp_path / "m").start()
    try:
        manager.submit_echo("before")

        async def body():
            dashboard, window = await open_dashboard([manager.url])
            try:
                await wait_for(lambda: "before" in _names(dashboard.jobs), message="snapshot")
                manager.stop()
                await wait_for(lambda: not window.banner.isHidden(), message="the lost-Manager banner")
                assert "reconnecting" in window.banner.text()
                manager.start()
                manager.submit_echo("after")
                await wait_for(lambda: "after" in _names(dashboard.jobs), timeout=30, message="catch-up")
                await wait_for(lambda: window.banner.isHidden(), message="the banner hides again")
                assert "farm:" in window.farm_label.text()
            finally:
                window.close()
                await dashboard.close()

        qloop.run_until_complete(body())
    finally:
        manager.stop()


@pytest.mark.slow  # two Manager processes
def test_two_managers_show_a_manager_column_and_route_actions_to_the_owner(qloop, tmp_path):
    one = ManagerProcess(tmp_path / "one").start()
    two = ManagerProcess(tmp_path / "two").start()
    try:
        one.submit_echo("on-one")
        two.submit_echo("on-two")

        async def body():
            dashboard, window = await open_dashboard([one.url, two.url])
            try:
                await wait_for(lambda: _names(dashboard.jobs) == {"on-one", "on-two"}, message="both")
                assert not window.jobs_view.table.isColumnHidden(0)
                _select(window.jobs_view, {"on-two"})
                window.jobs_view.row_actions["pause"].trigger()
                await wait_for(lambda: two.get("/api/v3/jobs")["jobs"][0]["status"] in ("paused", "pause-requested"),
                               message="the job on two paused")
                assert one.get("/api/v3/jobs")["jobs"][0]["status"] == "queued"
                one.stop()
                await wait_for(lambda: not window.banner.isHidden(), message="one lost")
                assert f"127.0.0.1:{one.port}" in window.banner.text()
                two.submit_echo("still-two")
                await wait_for(lambda: "still-two" in _names(dashboard.jobs), message="two keeps working")
            finally:
                window.close()
                await dashboard.close()

        qloop.run_until_complete(body())
    finally:
        one.stop()
        two.stop()


@pytest.mark.slow  # a Manager process, over 2 s
def test_a_variable_edit_round_trips_through_the_api(qloop, manager_proc):
    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        view = window.variables_view
        try:
            await wait_for(lambda: any(r[0] == "blender" for r in view.rows()), message="variables loaded")
            rows = [r for r in view.rows() if r[0] != "blenderArgs"]
            rows += [("render", True, "linux", "/mnt/render"), ("render", True, "windows", "R:\\render")]
            view.set_rows(rows)
            view.save()
            await wait_for(lambda: view.status.text() == "Saved.", message="saved")
            saved = manager_proc.get("/api/v3/tablao/variables")["variables"]
            assert saved["render"]["is_twoway"] is True
            assert {v["platform"]: v["value"] for v in saved["render"]["values"]} == {
                "linux": "/mnt/render", "windows": "R:\\render"}
            assert "blenderArgs" not in saved
            # A two-way variable with one platform is refused before anything is sent.
            view.set_rows([("solo", True, "linux", "/x")])
            view.save()
            from PySide6.QtWidgets import QMessageBox
            await wait_for(lambda: view.findChild(QMessageBox, "errorDialog") is not None, message="a dialog")
            dialog = view.findChild(QMessageBox, "errorDialog")
            assert "two-way" in dialog.text()
            dialog.close()
            assert "solo" not in manager_proc.get("/api/v3/tablao/variables")["variables"]
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


@pytest.mark.slow  # a Manager process, over 2 s
def test_an_admin_action_asks_for_the_token_once_and_then_works(qloop, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QInputDialog, QMessageBox

    manager = ManagerProcess(tmp_path / "strict", extra_config="trust_local_requests: false\n").start()
    try:
        token = (tmp_path / "strict" / "tablao-admin-token").read_text().strip()
        manager.submit_echo("to delete")
        asked = []
        snapshots: list[int] = []  # one entry per table snapshot (each (re)connection ends with one)
        snapshots_when_asked: list[int] = []

        def answer(*_a, **_k):
            asked.append(1)
            snapshots_when_asked.append(len(snapshots))
            return token, True

        monkeypatch.setattr(QInputDialog, "getText", staticmethod(answer))
        monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))

        async def body():
            dashboard, window = await open_dashboard([manager.url])
            next(iter(dashboard.connections.values())).snapshot_done.connect(lambda: snapshots.append(1))
            try:
                await wait_for(lambda: len(dashboard.jobs.keys()) == 1, message="the job")
                _select(window.jobs_view, {"to delete"})
                window.jobs_view.row_actions["delete"].trigger()
                await wait_for(lambda: asked == [1], message="the token question")
                await wait_for(lambda: "saved" in window.statusBar().currentMessage(), message="token saved")
                assert manager.get("/api/v3/jobs")["jobs"][0].get("delete_requested_at") is None
                # The token restarts the connection: the next action waits for its fresh snapshot
                # (the rows of the old one are there all along; a reset between selecting and
                # triggering would leave the action nothing to act on).
                await wait_for(lambda: len(snapshots) > snapshots_when_asked[0], message="reconnected")
                await wait_for(lambda: len(dashboard.jobs.keys()) == 1, message="the job after reconnecting")
                _select(window.jobs_view, {"to delete"})
                window.jobs_view.row_actions["delete"].trigger()
                await wait_for(lambda: not manager.get("/api/v3/jobs")["jobs"]
                               or manager.get("/api/v3/jobs")["jobs"][0].get("delete_requested_at"),
                               message="deleted with the token")
                assert asked == [1], "asked once"
            finally:
                window.close()
                await dashboard.close()

        qloop.run_until_complete(body())
    finally:
        manager.stop()


@pytest.mark.slow  # a Manager process, over 2 s
def test_settings_page_checks_storage_live_and_saves_through_the_api(qloop, manager_proc, tmp_path):
    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        view = window.settings_view
        try:
            window.tabs.setCurrentWidget(view)
            await wait_for(lambda: bool(view.raw), message="settings loaded")
            assert view.storage.text().endswith("shared")
            await wait_for(lambda: "writable" in view.storage_result.text(), message="storage checked")
            view.storage.setText(str(tmp_path / "does-not-exist"))
            view._check_storage()
            await wait_for(lambda: "cannot be used" in view.storage_result.text(), message="bad folder said")
            view.storage.setText(view.raw["shared_storage_path"])
            timeout = view.task_timeout
            assert (timeout.value.value(), timeout.unit.currentText()) == (10, "minutes"), "10m0s in words"
            timeout.value.setValue(20)
            view.blocklist.setValue(5)
            view.save()
            await wait_for(lambda: view.status.text().startswith("Saved"), message="saved")
            raw = manager_proc.send("GET", "/api/v3/configuration/file", admin=True)
            assert raw["task_timeout"] == "20m0s" and raw["blocklist_threshold"] == 5, "the file keeps Go's text"
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


@pytest.mark.slow  # a Manager process, over 2 s
def test_worker_list_shows_platform_current_task_and_schedule(qloop, manager_proc):
    from tests.http_worker import HttpWorker

    manager_proc.submit_echo("busy job", repeats=3)

    async def body():
        worker = await HttpWorker(manager_proc.url, "render-07", platform="linux").register_and_sign_on()
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: len(dashboard.workers.keys()) == 1, message="the worker")
            status, task = await worker.claim()
            assert status == 200, task
            await worker.update(task["uuid"], taskStatus="active", activity="working")
            key = dashboard.workers.keys()[0]
            await wait_for(lambda: _platform(dashboard.workers.row(key)) == "linux", message="platform")
            await wait_for(lambda: task["name"] in window.workers_view.proxy.index(0, 3).data(), message="task shown")
            manager_proc.send("POST", f"/api/v3/worker-mgt/workers/{worker.uuid}/sleep-schedule",
                              {"is_active": True, "days_of_week": "mo tu", "start_time": "22:00", "end_time": "06:00"},
                              admin=True)
            manager_proc.send("POST", f"/api/v3/worker-mgt/workers/{worker.uuid}/setstatus",
                              {"status": "asleep", "is_lazy": True}, admin=True)
            schedule = column_of(dashboard.workers, "Sleep schedule")
            await wait_for(lambda: "22:00-06:00" in (window.workers_view.proxy.index(0, schedule).data() or ""),
                           message="the schedule column")
        finally:
            window.close()
            await dashboard.close()
            await worker.close()

    qloop.run_until_complete(body())


VITALS = {"cpu_percent": 37.4, "render_cpu_percent": 30, "cpu_count": 16, "memory_used": int(9.2 * 2**30),
          "memory_total": 32 << 30, "render_memory": 3 << 30, "blender_version": "4.2.1", "frame": 12,
          "sample": 340, "samples_total": 1500, "gpus": [{"name": "NVIDIA RTX A4000", "percent": 97}]}
VITALS_COLUMNS = ("Frame", "CPU", "Memory", "GPU", "Blender")


def test_worker_list_shows_vitals_from_the_list_and_live_from_events_on_that_row_only(qloop, manager_proc):
    from datetime import datetime, timedelta

    from app.ui.models.formats import held_clock
    from tests.http_worker import HttpWorker

    async def body():
        manager_proc.submit_echo("busy job", repeats=3)
        worker = await HttpWorker(manager_proc.url, "render-07").register_and_sign_on()
        stock = await HttpWorker(manager_proc.url, "flamenco-01").register_and_sign_on()
        status, task = await worker.claim()
        assert status == 200, task
        await worker.update(task["uuid"], taskStatus="active", activity="rendering")
        status, _ = await worker.call("POST", "/api/v3/tablao/worker/vitals", json=VITALS)
        assert status == 204
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        model = dashboard.workers

        def cells(name: str, titles=VITALS_COLUMNS) -> list[str]:
            key = next(k for k in model.keys() if model.row(k).name == name)
            return [model.index(model.row_of(key), column_of(model, t)).data() for t in titles]

        try:
            await wait_for(lambda: len(model.keys()) == 2, message="both workers")
            # From the worker list the dashboard read when it connected.
            assert cells("render-07") == ["frame 12 · 340/1500 samples", "37% of 16", "9.2 / 32 GiB",
                                          "NVIDIA RTX A4000 · 97%", "4.2.1"]
            assert cells("flamenco-01") == ["", "—", "—", "—", "—"]  # sends none: a dash, never 0
            gpu = column_of(model, "GPU")
            row = model.row_of(next(k for k in model.keys() if model.row(k).name == "flamenco-01"))
            assert "sends no vitals" in model.index(row, gpu).data(3)  # the tooltip says why
            await wait_for(lambda: not dashboard._details_timer.isActive(), message="the details read")
            await asyncio.sleep(0.6)

            fetched, changed = [], []
            dashboard._want_details = lambda conn, ids: fetched.append(ids)
            model.dataChanged.connect(lambda top, bottom, *_: changed.append((top.row(), bottom.row())))
            status, _ = await worker.call("POST", "/api/v3/tablao/worker/vitals",
                                          json={**VITALS, "frame": 13, "sample": 1, "cpu_percent": 81})
            assert status == 204
            await wait_for(lambda: cells("render-07", ("Frame",)) == ["frame 13 · 1/1500 samples"],
                           message="the vitals event")
            assert cells("render-07", ("CPU",)) == ["81% of 16"]
            mine = model.row_of(next(k for k in model.keys() if model.row(k).name == "render-07"))
            assert changed and set(changed) == {(mine, mine)}, "only the worker's own row changes"
            assert fetched == [], "a vitals event is drawn from the event alone, without a request"

            # The task ends: its frame goes with it, even before a report without one comes.
            await worker.complete(task["uuid"])
            await wait_for(lambda: cells("render-07", ("Frame",)) == [""], message="no frame after the task")
            assert cells("render-07", ("CPU",)) == ["81% of 16"]
            idle = {k: v for k, v in VITALS.items() if k not in ("frame", "sample", "samples_total")}
            status, _ = await worker.call("POST", "/api/v3/tablao/worker/vitals", json=idle)
            assert status == 204

            # Silent for longer than the Manager keeps vitals: not shown as live.
            later = datetime.now(UTC) + timedelta(seconds=91)
            with held_clock(later):
                assert cells("render-07") == ["", "—", "—", "—", "—"]

            # Offline: the last report is no truth about the machine now.
            status, _ = await worker.call("POST", "/api/v3/worker/sign-off")
            assert status == 204
            await wait_for(lambda: cells("render-07", ("CPU",)) == ["—"], message="offline: a dash")
            assert cells("render-07") == ["", "—", "—", "—", "—"]
        finally:
            window.close()
            await dashboard.close()
            await worker.close()
            await stock.close()

    qloop.run_until_complete(body())


def test_worker_column_widths_come_back_for_these_columns_and_an_older_set_is_ignored(qloop, manager_proc):
    from PySide6.QtCore import QSettings

    from app.ui.models.columns import MANAGER_COLUMN, WORKER_ROWS, worker_columns
    from app.ui.models.keyed_table import KeyedTableModel
    from app.ui.windows.main_window import _header_key

    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        table, model = window.workers_view.table, dashboard.workers
        gpu = column_of(model, "GPU")
        table.setColumnWidth(gpu, 321)
        # What a version without the vitals columns saved: nine columns, the third one 777 wide.
        old = KeyedTableModel([MANAGER_COLUMN, *[c for c in worker_columns() if c.title not in VITALS_COLUMNS]],
                              WORKER_ROWS)
        from PySide6.QtWidgets import QTableView

        other = QTableView()
        other.setModel(old)
        other.setColumnWidth(3, 777)
        QSettings().setValue(_header_key("workers", old), other.horizontalHeader().saveState())
        window.close()
        await dashboard.close()

        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            table, model = window.workers_view.table, dashboard.workers
            assert table.columnWidth(column_of(model, "GPU")) == 321
            assert 777 not in [table.columnWidth(c) for c in range(model.columnCount())]
            assert not any(table.isColumnHidden(column_of(model, t)) for t in VITALS_COLUMNS)
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())
