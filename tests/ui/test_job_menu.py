"""What a lead reaches for, against a real Manager: the output folder where the studio expects it
(open, copy), Resubmit, Duplicate and edit, a sort that stays put between launches, and the facts
the issue listed (created, submitter, two jobs of one name told apart, a completed job's activity
and actions, an idle worker)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from app.ui.launch import open_dashboard
from app.ui.models.columns import column_of
from app.ui.models.keyed_table import ROW_ROLE
from tests.ui.conftest import ManagerProcess, wait_for


def _studio_variable(manager: ManagerProcess, linux_value: Path) -> None:
    """A two-way variable `studio`: S:\\studio on Windows, `linux_value` on Linux."""
    variables = manager.get("/api/v3/tablao/variables")["variables"]
    variables["studio"] = {"is_twoway": True, "values": [
        {"platform": "linux", "value": str(linux_value)}, {"platform": "windows", "value": "S:\\studio"}]}
    manager.send("PUT", "/api/v3/tablao/variables", {"variables": variables}, admin=True)


def _windows_render(name: str) -> dict:
    """A render job as an artist on Windows submits it: paths under S:\\studio."""
    return {"name": name, "type": "simple-blender-render", "priority": 60, "submitter_platform": "windows",
            "metadata": {"user.name": "alice", "user.host": "studio-pc"}, "settings": {
                "frames": "1-4", "chunk_size": 2, "render_output_root": "S:\\studio\\out",
                "add_path_components": 0, "render_output_path": "S:\\studio\\out\\shot_010\\######",
                "blendfile": "S:\\studio\\shot_010.blend",
                "fps": 24.0, "format": "PNG", "image_file_extension": ".png", "has_previews": False,
                "scene": "Scene"}}


def _cell(view, job_id: str, title: str) -> str:
    col = column_of(view.dashboard.jobs, title)
    for r in range(view.proxy.rowCount()):
        if view.proxy.index(r, 0).data(ROW_ROLE).id == job_id:
            return view.proxy.index(r, col).data() or ""
    raise AssertionError(f"job {job_id} is not shown")


def test_the_output_folder_opens_and_copies_as_this_computer_reaches_it(qloop, manager_proc, monkeypatch):
    shared = manager_proc.root / "shared"
    _studio_variable(manager_proc, shared)
    job = manager_proc.send("POST", "/api/v3/jobs", _windows_render("shot_010"))
    assert job["settings"]["render_output_path"].startswith("{studio}/out/shot_010/")
    folder = shared / "out" / "shot_010"
    opened = []
    import app.ui.output_folder as output_folder

    monkeypatch.setattr(output_folder, "open_url", lambda url: opened.append(url.toLocalFile()) or True)

    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: window.jobs_view.select_job(job["id"]), message="the job")
            await wait_for(lambda: window.detail.output_folder == str(folder), message="the output folder")
            assert window.detail.output.text() == f"Output: {folder}"
            window.detail.copy_output.click()
            assert QGuiApplication.clipboard().text() == str(folder)
            # Not written yet: said so, nothing opened.
            window.detail.open_output.click()
            await wait_for(lambda: _error_text(window) != "", message="the explanation")
            assert "does not exist on this computer" in _error_text(window)
            _close_errors(window)
            folder.mkdir(parents=True)
            window.jobs_view.row_actions["open_output"].trigger()
            await wait_for(lambda: opened == [str(folder)], message="the folder opened")
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def _error_text(window) -> str:
    from PySide6.QtWidgets import QApplication, QMessageBox

    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    return boxes[0].text() if boxes else ""


def _close_errors(window) -> None:
    from PySide6.QtWidgets import QApplication, QMessageBox

    for w in QApplication.topLevelWidgets():
        if isinstance(w, QMessageBox):
            w.close()


def test_resubmit_makes_a_new_job_with_the_same_settings_by_this_user(qloop, manager_proc):
    from app.submit.submission import submitter_metadata

    first = manager_proc.send("POST", "/api/v3/jobs", {
        "name": "scene", "type": "echo-sleep-test", "priority": 70, "submitter_platform": "linux",
        "metadata": {"user.name": "bob", "user.host": "render-mac", "project": "spring"},
        "settings": {"message": "hi", "sleep_duration_seconds": 0, "sleep_repeats": 2}})

    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: window.jobs_view.select_job(first["id"]), message="the job")
            # An echo job writes no output: there is no folder to open or copy.
            actions = window.jobs_view.row_actions
            assert not actions["open_output"].isEnabled() and not actions["copy_output"].isEnabled()
            window.jobs_view.row_actions["resubmit"].trigger()
            await wait_for(lambda: len(dashboard.jobs.keys()) == 2, message="the new job in the table")
            jobs = manager_proc.get("/api/v3/jobs")["jobs"]
            again = next(j for j in jobs if j["id"] != first["id"])
            assert (again["name"], again["type"], again["priority"], again["settings"]) == \
                (first["name"], first["type"], first["priority"], first["settings"])
            assert again["metadata"] == {"project": "spring", **submitter_metadata()}
            # Two jobs named "scene": the ID column and the created time tell them apart.
            view = window.jobs_view
            await wait_for(lambda: _cell(view, again["id"], "Created") != "", message="created shown")
            assert _cell(view, first["id"], "ID") != _cell(view, again["id"], "ID")
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def test_duplicate_and_edit_opens_the_submit_dialog_filled_in_for_this_computer(qloop, manager_proc):
    shared = manager_proc.root / "shared"
    _studio_variable(manager_proc, shared)
    job = manager_proc.send("POST", "/api/v3/jobs", _windows_render("shot_010 final"))

    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: window.jobs_view.select_job(job["id"]), message="the job")
            assert window.jobs_view.row_actions["duplicate"].isEnabled()
            window.jobs_view.row_actions["duplicate"].trigger()
            dialog = window.submit_dialog
            assert dialog is not None
            await wait_for(lambda: dialog.prefilled.done(), message="the dialog filled in")
            assert dialog.prefilled.exception() is None
            assert dialog.name.text() == "shot_010 final" and dialog.priority.value() == 60
            assert dialog.type_combo.currentData() == "simple-blender-render"
            assert dialog.path.text() == str(shared / "shot_010.blend")
            values = dialog.form.user_values()
            assert values["frames"] == "1-4" and values["chunk_size"] == 2
            assert values["render_output_root"] == str(shared / "out")
            assert "render_output_path" not in values  # worked out again, with a new timestamp
            dialog.reject()
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def test_the_sort_and_its_arrow_stay_as_left_between_launches(qloop, manager_proc):
    for name in ("b-shot", "a-shot", "c-shot"):
        manager_proc.submit_echo(name)

    def names(view) -> list[str]:
        return [view.proxy.index(r, 0).data(ROW_ROLE).name for r in range(view.proxy.rowCount())]

    async def launch():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        await wait_for(lambda: len(dashboard.jobs.keys()) == 3, message="three jobs")
        return dashboard, window

    async def body():
        dashboard, window = await launch()
        view = window.jobs_view
        header = view.table.horizontalHeader()
        assert header.sortIndicatorSection() == view.column("Created")
        assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
        assert names(view) == ["c-shot", "a-shot", "b-shot"], "newest first, as the arrow says"
        header.setSortIndicator(view.column("Name"), Qt.SortOrder.AscendingOrder)  # a click on Name
        assert names(view) == ["a-shot", "b-shot", "c-shot"]
        view.table.setColumnWidth(view.column("Name"), 333)
        # A header state saved by a version with other columns is never applied to these.
        from PySide6.QtCore import QSettings

        QSettings().setValue("dashboard/jobs_header", header.saveState())
        window.close()
        await dashboard.close()
        for _ in range(2):  # and again: it never flips
            dashboard, window = await launch()
            view = window.jobs_view
            header = view.table.horizontalHeader()
            assert header.sortIndicatorSection() == view.column("Name")
            assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
            assert names(view) == ["a-shot", "b-shot", "c-shot"]
            assert view.table.columnWidth(view.column("Name")) == 333
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


@pytest.mark.slow  # over 2 s
def test_the_issues_list_created_submitter_activity_actions_and_an_idle_worker(qloop, manager_proc):
    from tests.http_worker import HttpWorker

    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        worker = await HttpWorker(manager_proc.url, "render-07").register_and_sign_on()
        view = window.jobs_view
        try:
            job = manager_proc.send("POST", "/api/v3/jobs", {
                "name": "scene", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
                "metadata": {"user.name": "alice", "user.host": "studio-pc"},
                "settings": {"message": "hi", "sleep_duration_seconds": 0, "sleep_repeats": 0}})
            await wait_for(lambda: view.select_job(job["id"]), message="the new job")
            assert _cell(view, job["id"], "Created") != ""       # submitted while the dashboard is open
            assert _cell(view, job["id"], "Submitter") == "alice@studio-pc"
            status, task = await worker.claim()
            assert status == 200
            await worker.update(task["uuid"], steps_completed=0, activity="echoing")
            workers = window.workers_view.proxy
            task_col = column_of(dashboard.workers, "Task")
            await wait_for(lambda: "scene › echo" in (workers.index(0, task_col).data() or ""),
                           message="busy")
            await worker.complete(task["uuid"])
            await wait_for(lambda: _cell(view, job["id"], "Status") == "completed", message="completed")
            activity = manager_proc.get(f"/api/v3/jobs/{job['id']}")["activity"]
            assert _cell(view, job["id"], "Activity") == activity and "completed" in activity
            assert not view.row_actions["pause"].isEnabled() and not view.row_actions["cancel"].isEnabled()
            assert view.row_actions["requeue"].isEnabled()
            await wait_for(lambda: (workers.index(0, task_col).data() or "") == "", message="the worker idle")
            seen = workers.index(0, column_of(dashboard.workers, "Last seen")).data()
            assert seen == "connected"
        finally:
            await worker.close()
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())
