"""The dashboard pointed at a hub shows a Site column (the site of each job, and why it is there);
pointed at a Manager it hides it."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from app.ui.connection import CONNECTED
from app.ui.launch import open_dashboard
from app.ui.models.columns import SITE, column_of
from tests.conftest import echo_job
from tests.hub.hub_process import HubProcess, add_site, write_hub_config
from tests.ui.conftest import ManagerProcess, free_port, wait_for


def _send(url: str, method: str, path: str, body: object = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def _started_hub(tmp_path) -> tuple[HubProcess, str, str]:
    """A hub process, and the join token of its site A."""
    port = free_port()
    config = write_hub_config(tmp_path / "hub", port)
    token = add_site(config, "A")
    hub = HubProcess(config).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            _send(url, "GET", "/api/v3/version")
            return hub, url, token
        except OSError:
            if time.monotonic() > deadline or hub.proc is None or hub.proc.poll() is not None:
                hub.stop()
                raise RuntimeError(hub.output()[-2000:]) from None
            time.sleep(0.1)


@pytest.mark.slow  # a hub process, over 2 s
def test_the_site_column_shows_at_a_hub_with_the_reason(qloop, tmp_path):
    hub, url, token = _started_hub(tmp_path)
    site = ManagerProcess(tmp_path / "site-a", extra_config=f"hub_url: {url}/\nhub_site: A\nhub_token: {token}\n")
    try:
        site.start()
        deadline = time.monotonic() + 30
        while not any(s.get("online") for s in _send(url, "GET", "/api/v3/tablao/hub/sites")["sites"]):
            assert time.monotonic() < deadline, "site A did not connect to the hub"
            time.sleep(0.1)

        async def body():
            dashboard, window = await open_dashboard([url])
            try:
                table, model = window.jobs_view.table, dashboard.jobs
                site = column_of(model, SITE)
                conn = dashboard.connections[url]
                await wait_for(lambda: conn.state == CONNECTED, message="the dashboard following the hub")
                assert table.isColumnHidden(site), "no job yet: nothing to show"
                first = _send(url, "POST", "/api/v3/jobs", echo_job("for A", metadata={"site": "A"}))
                await wait_for(lambda: model.rowCount() == 1, message="the hub's job, from its event")
                assert not table.isColumnHidden(site), "a hub's jobs have sites: the Site column shows"
                assert model.index(0, site).data() == "A"
            finally:
                window.close()
                await dashboard.close()
            dashboard, window = await open_dashboard([url])  # the snapshot: each job's site and reason
            try:
                table, model = window.jobs_view.table, dashboard.jobs
                await wait_for(lambda: model.rowCount() == 1, message="the hub's job in the table")
                assert not table.isColumnHidden(site)
                assert model.index(0, site).data() == "A"
                assert "named by the job" in model.index(0, site).data(3)  # Qt.ToolTipRole
                assert model.row(model.keys()[0]).id == first["id"]
                second = _send(url, "POST", "/api/v3/jobs", echo_job("chosen"))
                await wait_for(lambda: model.rowCount() == 2, message="the second job, from the event stream")
                row = next(r for r in (model.row(k) for k in model.keys()) if r and r.id == second["id"])
                assert row.job.site == "A", "a job's event carries its site"
            finally:
                window.close()
                await dashboard.close()

        qloop.run_until_complete(body())
    finally:
        site.stop()
        hub.stop()


@pytest.mark.slow  # a Manager process, over 2 s
def test_the_site_column_stays_hidden_for_a_manager(qloop, manager_proc):
    manager_proc.submit_echo("plain")

    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: dashboard.jobs.rowCount() == 1, message="snapshot")
            assert window.jobs_view.table.isColumnHidden(column_of(dashboard.jobs, SITE))
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def _studio_site_config(url: str, token: str, shared) -> str:
    """Site A's configuration: joined to the hub, with a two-way variable `studio` (S:\\studio on
    Windows, its shared folder on Linux), so a Windows artist's job in place reaches it."""
    return (f"hub_url: {url}/\nhub_site: A\nhub_token: {token}\nvariables:\n  studio:\n    is_twoway: true\n"
            f"    values:\n    - platform: linux\n      value: {shared}\n    - platform: windows\n"
            "      value: S:\\studio\n")


@pytest.mark.slow  # a hub and a Manager process, over 2 s
def test_duplicate_and_edit_at_a_hub_reads_the_sites_variables_and_a_waiting_job_says_so(qloop, tmp_path):
    from tests.ui.test_job_menu import _windows_render

    hub, url, token = _started_hub(tmp_path)
    shared = tmp_path / "site-a" / "shared"
    site = ManagerProcess(tmp_path / "site-a", extra_config=_studio_site_config(url, token, shared))
    try:
        site.start()
        deadline = time.monotonic() + 30
        while not any(s.get("online") for s in _send(url, "GET", "/api/v3/tablao/hub/sites")["sites"]):
            assert time.monotonic() < deadline, "site A did not connect to the hub"
            time.sleep(0.1)
        job = _send(url, "POST", "/api/v3/jobs", _windows_render("shot_010 final"))
        assert job["site"] == "A", job
        nowhere = echo_job(name="nowhere")
        nowhere["settings"]["render_output_root"] = "/srv/elsewhere/out"
        waiting = _send(url, "POST", "/api/v3/jobs", nowhere)
        assert waiting["site"] == "", waiting

        async def body():
            dashboard, window = await open_dashboard([url])
            try:
                model, site_col, name = dashboard.jobs, column_of(dashboard.jobs, SITE), column_of(dashboard.jobs, "Name")
                await wait_for(lambda: model.rowCount() == 2, message="the hub's two jobs")
                cells = {model.index(r, name).data(): model.index(r, site_col).data() for r in range(2)}
                assert cells == {"shot_010 final": "A", "nowhere": "waiting at the hub"}, cells
                tips = [model.index(r, site_col).data(3) for r in range(2)]  # Qt.ToolTipRole
                assert any("no site reaches" in (tip or "") for tip in tips), tips
                assert not window.jobs_view.table.isColumnHidden(site_col)
                window.grab().save(str(tmp_path / "hub-dashboard.png"))  # to look at when the cells change

                await wait_for(lambda: window.jobs_view.select_job(job["id"]), message="the job")
                window.jobs_view.row_actions["duplicate"].trigger()
                dialog = window.submit_dialog
                assert dialog is not None
                await wait_for(lambda: dialog.prefilled.done(), message="the dialog filled in", timeout=20)
                assert dialog.prefilled.exception() is None
                assert dialog.name.text() == "shot_010 final", dialog.message.text()
                assert dialog.path.text() == str(shared / "shot_010.blend")  # site A's variable, this computer
                assert dialog.form.user_values()["render_output_root"] == str(shared / "out")
                dialog.reject()
            finally:
                window.close()
                await dashboard.close()

        qloop.run_until_complete(body())
    finally:
        site.stop()
        hub.stop()
