"""The submit dialog pointed at a hub: a Site field lists the hub's sites (hidden at a Manager), and
the job goes to the site chosen there, its files through the hub's Shaman."""

from __future__ import annotations

import asyncio
import shutil
import time

import pytest

from app.ui.dialogs.site_picker import HUB_CHOOSES
from app.ui.launch import open_dashboard
from tests.e2e.farm import free_port
from tests.hub.conftest import RunningHub
from tests.ui.conftest import ManagerProcess, wait_for
from tests.ui.test_submit_dialog import _dialog, _read, blend_template, project  # noqa: F401 - the fixtures

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("blender") is None, reason="needs Debian's blender"),
]


async def _online(hub: RunningHub) -> set[str]:
    _status, body = await hub.request("GET", "/api/v3/tablao/hub/sites")
    return {s["name"] for s in body["sites"] if s["online"]}


def test_the_site_field_sends_the_job_to_the_chosen_site(qloop, project, tmp_path):  # noqa: F811
    hub = RunningHub(tmp_path / "hub", free_port(), sites=("A", "B"), shaman=True)
    outputs = tmp_path  # the scene's own output folder (//render/, beside the artist's .blend)
    sites: dict[str, ManagerProcess] = {}

    async def body():
        await hub.start()
        for name in ("A", "B"):
            token = await hub.hub.sites.add(name)
            sites[name] = ManagerProcess(tmp_path / f"site-{name}", extra_config=(
                f"hub_url: {hub.url}/\nhub_site: {name}\nhub_token: {token}\noutput_roots: ['{outputs}']\n")).start()
        deadline = time.monotonic() + 30
        while await _online(hub) != {"A", "B"}:
            assert time.monotonic() < deadline, "the sites did not link to the hub"
            await asyncio.sleep(0.2)
        dashboard, window = await open_dashboard([hub.url])
        try:
            dialog = await _dialog(window, project / "shots" / "scene.blend")
            await wait_for(lambda: dialog.site.count() == 3, message="the hub's sites in the Site field")
            assert dialog.job_form.isRowVisible(dialog.site)
            assert [dialog.site.itemText(i) for i in range(3)] == [HUB_CHOOSES, "A", "B"]
            dialog.site.setCurrentIndex(dialog.site.findData("B"))
            await _read(dialog)
            dialog.submit_button.click()
            try:
                await wait_for(lambda: window.submit_dialog is None, timeout=40, message="the dialog closes")
            except AssertionError:
                raise AssertionError(f"{dialog.message.text()!r} {dialog.phase.text()!r} "
                                     f"{dialog.submit_button.isEnabled()} {dialog.preflight_texts()}") from None
            assert window.submit_dialog is None, dialog.message.text()
            status, listing = await hub.request("GET", "/api/v3/jobs")
            assert status == 200 and len(listing["jobs"]) == 1
            job = listing["jobs"][0]
            assert job["site"] == "B" and job["metadata"]["site"] == "B"
            assert job["settings"]["blendfile"].startswith("{jobs}/"), "uploaded through the hub's Shaman"
            assert sites["B"].get(f"/api/v3/jobs/{job['id']}")["id"] == job["id"]
        finally:
            window.close()
            await dashboard.close()
            for site in sites.values():
                site.stop()
            await hub.stop()

    qloop.run_until_complete(body())


def test_at_a_manager_the_site_field_stays_hidden(qloop, manager_proc):
    manager_proc.submit_echo("plain")

    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: dashboard.jobs.rowCount() == 1, message="the snapshot")
            dialog = await _dialog(window, None)
            assert not dialog.job_form.isRowVisible(dialog.site) and dialog.site.metadata() == {}
            dialog.reject()
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())
