"""The submit dialog remembers the output folder typed for a job, per Manager, and offers it next time;
against a real Manager process, with Debian's Blender reading a real .blend."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.ui.dialogs.submit_job import remember_output_root, remembered_output_root
from app.ui.launch import open_dashboard
from tests.submit.conftest import make_textured_blend
from tests.ui.conftest import ManagerProcess, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("blender") is None, reason="needs Debian's blender"),
]


@pytest.fixture(scope="module")
def blend_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("blend")
    make_textured_blend(root / "project" / "shots" / "scene.blend", root / "project" / "tex" / "wood.png",
                        "//render/", start=1, end=2)
    return root / "project"


@pytest.fixture
def manager(tmp_path: Path):
    proc = ManagerProcess(tmp_path / "manager").start()
    try:
        yield proc
    finally:
        proc.stop()


async def _dialog(window, blend: Path):
    dialog = window.open_submit_dialog(blend)
    await wait_for(lambda: dialog.job_type is not None and dialog.form is not None, message="the form")
    await wait_for(lambda: dialog.report is not None, timeout=90, message="scene read and pre-flight")
    return dialog


def _root(dialog) -> str:
    return dialog.form.fields["render_output_root"].editor.text()


def test_the_output_folder_typed_for_a_job_is_offered_for_the_next(qloop, manager, blend_template, tmp_path):
    project = tmp_path / "artist" / "project"
    shutil.copytree(blend_template, project)
    blend = project / "shots" / "scene.blend"
    shared = manager.root / "shared"
    mine = shared / "lighting" / "ines"

    async def body():
        dashboard, window = await open_dashboard([manager.url])
        try:
            dialog = await _dialog(window, blend)
            assert _root(dialog) == str(shared / "renders"), "nothing remembered yet: the farm's folder"
            editor = dialog.form.fields["render_output_root"].editor
            editor.setText(str(mine))
            editor.textEdited.emit(str(mine))  # as typed
            dialog.submit_button.click()
            await wait_for(lambda: window.submit_dialog is None, timeout=90, message="the first job sent")
            jobs = manager.get("/api/v3/jobs")["jobs"]
            assert manager.get(f"/api/v3/jobs/{jobs[0]['id']}")["settings"]["render_output_root"] == str(mine)
            assert remembered_output_root(manager.url) == str(mine)
            assert remembered_output_root("http://another-farm:8080") == "", "per Manager"

            dialog = await _dialog(window, blend)  # the next job: offered, and the scene does not replace it
            assert _root(dialog) == str(mine)
            texts = dialog.preflight_texts()
            assert any(t.startswith(f"Output: {mine}/") for t in texts), texts
            dialog.submit_button.click()
            await wait_for(lambda: window.submit_dialog is None, timeout=90, message="the second job sent")
            second = next(j for j in manager.get("/api/v3/jobs")["jobs"] if j["id"] != jobs[0]["id"])
            assert manager.get(f"/api/v3/jobs/{second['id']}")["settings"]["render_output_root"] == str(mine)

            # A folder the farm no longer lets jobs write to is not offered: the farm's folder instead.
            remember_output_root(manager.url, str(tmp_path / "elsewhere"))
            dialog = await _dialog(window, blend)
            await wait_for(lambda: _root(dialog) == str(shared / "renders"), timeout=30, message="the fallback")
            assert not any("will be refused" in t for t in dialog.preflight_texts()), dialog.preflight_texts()
            dialog.reject()
            await wait_for(lambda: window.detail._load is None or window.detail._load.done(), timeout=30,
                           message="the job detail loaded")
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())
