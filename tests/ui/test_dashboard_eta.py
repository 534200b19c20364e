"""The dashboard shows the Manager's ETA (the figure the status page, `farm status` and the add-on
show), also for a job none of whose tasks finished, in the job table and the job's detail pane."""

from __future__ import annotations

import asyncio
import re

import pytest

from app.ui.launch import open_dashboard
from app.ui.models.columns import column_of
from tests.sim_workers import ETAS, SimWorker, run_job, workers_of
from tests.ui.conftest import wait_for


class _Api:
    """`run_job`'s view of a Manager process: its answers, read off the event loop."""

    def __init__(self, proc) -> None:
        self.proc = proc

    async def request(self, method: str, path: str):
        assert method == "GET"
        return 200, await asyncio.to_thread(self.proc.get, path)


def _cell(model, name: str, title: str) -> str:
    names, column = column_of(model, "Name"), column_of(model, title)
    row = next((r for r in range(model.rowCount()) if model.index(r, names).data() == name), None)
    return "—" if row is None else str(model.index(row, column).data())


@pytest.mark.slow  # a Manager process and a job run first, over 2 s
def test_the_dashboard_shows_the_managers_eta_before_any_task_finished(qloop, manager_proc):
    first = manager_proc.submit_echo("shot_010", repeats=3)

    async def body():
        api = _Api(manager_proc)
        http = (await workers_of(manager_proc, "sim-1"))[0]
        try:
            await run_job(api, first["id"], [SimWorker(http, 0.3)])
            running = manager_proc.submit_echo("shot_005", repeats=1)
            status, task = await http.claim()  # an active job: the dashboard reads no task list for its ETA
            assert status == 200 and task["job"] == running["id"]
        finally:
            await http.close()
        waiting = manager_proc.submit_echo("shot_020", repeats=3)
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            await wait_for(lambda: _cell(dashboard.jobs, "shot_020", "ETA") != "—", timeout=15,
                           message="the Manager's ETA in the table")
            shown = _cell(dashboard.jobs, "shot_020", "ETA")
            seconds = manager_proc.get(ETAS)["jobs"][waiting["id"]]["seconds"]
            key = next(k for k in dashboard.jobs.keys() if dashboard.jobs.row(k).name == "shot_020")
            window.detail.show_job(dashboard.jobs.row(key))
            await wait_for(lambda: "ETA: " in window.detail.summary.text(), message="the detail's ETA")
            detail = window.detail.summary.text()
            assert dashboard.etas.gives(dashboard.connections[manager_proc.url].label) is True
            assert not dashboard.pace.loaded  # the Manager gives ETAs: no task list was read for one
        finally:
            window.close()
            await dashboard.close()
        # 4 tasks of about 0.3 s, one worker; the dashboard counts down to the Manager's end.
        assert 0.8 < seconds < 2.5
        first_figure = int(shown.split(" ")[0])
        assert shown.endswith(" s)") and round(seconds) - 2 <= first_figure <= round(seconds), shown
        # The same ETA in the detail, read a moment later: counting down, its figures (and the range's
        # ends) may be a second lower than the table's.
        said = re.search(r"ETA: (\d+) s", detail)
        assert said is not None, detail
        assert first_figure - 1 <= int(said.group(1)) <= first_figure or "ETA: 0 s" in detail, (shown, detail)

    qloop.run_until_complete(body())
