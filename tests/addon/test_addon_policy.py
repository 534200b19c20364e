"""The add-on inside a real Blender (3.4, background) against a real Manager's submit policy.

The scene gets what a rig brings (a UI script registered to run on load, a Python driver, and a
simple-expression driver that needs no Python) and keeps Blender's factory output folder, /tmp,
where the farm does not let jobs write. The pre-flight names the scripts that will not run and says
the output goes to the shared storage instead; with the submit token in the preferences, the
scripts are not mentioned and the job's scripts run. An output folder of the artist's own outside the
farm's is warned about, and the Manager refuses it before anything is uploaded.
"""

from __future__ import annotations

import pytest

from tests.addon.conftest import needs_blender, run_blender, steps_named
from tests.http_worker import HttpWorker

pytestmark = [needs_blender, pytest.mark.slow]

SUBMIT = "artist-submit-token-1234"
SETUP = [("check_connection",), ("refresh",), ("add_scripts",)]


def _configure(**settings) -> tuple:
    return ("configure", {"job_name": "{blend} rig", "settings": {"chunk_size": 1, **settings}})


async def _scripts_run(manager) -> bool:
    worker = await HttpWorker(manager.url, name="w", task_types=["blender", "ffmpeg", "file-management"]
                              ).register_and_sign_on()
    try:
        status, task = await worker.claim()
        assert status == 200, task
    finally:
        await worker.close()
    return task["blend_scripts"]


async def _job(manager, job_id: str) -> dict:
    status, job = await manager.request("GET", f"/api/v3/jobs/{job_id}")
    assert status == 200, job
    return job


async def test_the_preflight_names_scripts_that_will_not_run_and_moves_the_output(manager_factory, tmp_path):
    manager = await manager_factory(shaman_enabled=False, allow_blend_scripts=True, submit_token=SUBMIT)
    shared = tmp_path / "shared"
    result = await run_blender(tmp_path, {
        "url": manager.url, "project": str(tmp_path / "work" / "film"),
        "steps": [*SETUP, _configure(), ("preflight",), ("submit",)],
    })
    report = steps_named(result, "preflight")[0]["report"]
    assert report["scripts"]["auto_run"] == {"count": 1, "names": ["rig_ui.py"]}
    assert report["scripts"]["drivers"] == {"count": 1, "names": ["Object “Cube”: location"]}, "simple one left out"
    scripts, moved = report["warnings"]
    assert scripts.startswith("The scene has 1 script(s) that run when the file opens (rig_ui.py) and 1 Python "
                              "driver(s) (Object “Cube”: location); they will not run on the farm: ")
    assert "only for jobs submitted with its submit token" in scripts
    assert moved == (f"Output goes to {shared / 'renders'}: the scene renders to /tmp, which this farm does "
                     f"not let jobs write to (set render_output_root to choose another folder under {shared})")
    assert report["output"].startswith(f"{shared / 'renders'}/shot rig/"), report["output"]
    lines = steps_named(result, "preflight")[0]["lines"]
    assert lines[0] == scripts and any(line.startswith("Output: ") for line in lines)

    submit = steps_named(result, "submit")[0]
    assert submit["result"] == ["FINISHED"], submit["message"]
    job = await _job(manager, submit["job_id"])
    assert job["settings"]["render_output_root"] == str(shared / "renders")
    assert await _scripts_run(manager) is False, "no token: the file's scripts stay off"


async def test_with_the_submit_token_in_the_preferences_the_scripts_run(manager_factory, tmp_path):
    manager = await manager_factory(shaman_enabled=False, allow_blend_scripts=True, submit_token=SUBMIT)
    result = await run_blender(tmp_path, {
        "url": manager.url, "project": str(tmp_path / "work" / "film"), "token": SUBMIT,
        "steps": [*SETUP, _configure(), ("preflight",), ("submit",)],
    })
    report = steps_named(result, "preflight")[0]["report"]
    assert report["scripts"]["auto_run"]["count"] == 1
    assert not [w for w in report["warnings"] if "will not run" in w], report["warnings"]
    submit = steps_named(result, "submit")[0]
    assert submit["result"] == ["FINISHED"], submit["message"]
    assert await _scripts_run(manager) is True


async def test_an_output_folder_outside_the_farms_is_warned_about_and_refused(manager_factory, tmp_path):
    manager = await manager_factory(shaman_enabled=False)
    elsewhere = tmp_path / "my-renders"
    result = await run_blender(tmp_path, {
        "url": manager.url, "project": str(tmp_path / "work" / "film"),
        "steps": [*SETUP, _configure(render_output_root=str(elsewhere)), ("preflight",), ("submit",)],
    })
    warnings = steps_named(result, "preflight")[0]["report"]["warnings"]
    assert "this farm does not run scripts stored in .blend files" in warnings[0]
    assert warnings[1] == (f"The output folder {elsewhere} (render_output_root) will be refused by the Manager: "
                           f"it is outside the folders this farm lets jobs write to ({tmp_path / 'shared'})")
    submit = steps_named(result, "submit")[0]
    assert submit["result"] == ["CANCELLED"]
    assert "refused the job" in submit["message"] and "outside the folders" in submit["message"]
    status, doc = await manager.request("GET", "/api/v3/jobs")
    assert status == 200 and doc["jobs"] == []
    assert not (tmp_path / "shared" / "jobs").exists(), "nothing was copied for a refused job"
