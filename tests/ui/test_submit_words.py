"""The submit dialog's pieces that need no Blender: what is shown of a job type, the wording of the
pre-flight report and of failures, and a Manager that cannot be reached."""

from __future__ import annotations

from pathlib import Path

from app.api.jobs import AvailableJobSetting, AvailableJobType
from app.packer import Approach
from app.submit import ExternalFile, InvalidSetting, JobTypeChanged, Preflight, Unreachable
from app.ui.dialogs import submit_report as words
from app.ui.dialogs.settings_form import eval_inputs, label_of, shown_in_form
from app.ui.launch import open_dashboard
from tests.ui.conftest import free_port, wait_for


def _setting(key: str, **kw) -> AvailableJobSetting:
    return AvailableJobSetting(key=key, type=kw.pop("type", "string"), **kw)


def test_visible_as_flamencos_add_on_shows_it():
    assert shown_in_form(_setting("a")) and shown_in_form(_setting("b", visible="submission"))
    assert not shown_in_form(_setting("c", visible="web")) and not shown_in_form(_setting("d", visible="hidden"))
    assert not shown_in_form(_setting("blendfile")), "the submission fills it in"
    assert label_of(_setting("chunk_size")) == "Chunk size" and label_of(_setting("x", label="Frames")) == "Frames"
    job_type = AvailableJobType("t", "T", [_setting("out", eval="str(Path(settings.root, jobname))"),
                                           _setting("root")], "etag")
    assert eval_inputs(job_type) == {"root"}


def test_preflight_wording_puts_missing_files_first():
    missing = ExternalFile(Path("/p/tex/wood.png"), "//tex/wood.png", False, False)
    outside = ExternalFile(Path("/lib/hdri.exr"), "/lib/hdri.exr", True, True)
    report = Preflight(Approach.SHAMAN, 2, 3_500_000, missing=[missing], absolute=[outside],
                       files_on_manager=1, bytes_on_manager=1_000_000)
    lines = words.preflight_lines(report)
    assert lines[0] == (words.ERROR, "Missing file: //tex/wood.png (/p/tex/wood.png)")
    assert (words.OK, "The Manager already has 1 of them (1.0 MB); 2.5 MB to send") in lines
    assert any(level == words.WARN and "/lib/hdri.exr" in text for level, text in lines)


def test_preflight_wording_shows_the_farms_warnings_after_missing_files_and_where_the_output_goes():
    missing = ExternalFile(Path("/p/tex/wood.png"), "//tex/wood.png", False, False)
    report = Preflight(Approach.COPY, 2, 1000, missing=[missing], output="/shared/renders/shot/######",
                       warnings=["The scene has 1 script(s) that run when the file opens (rig.py); they will "
                                 "not run on the farm: off"])
    lines = words.preflight_lines(report)
    assert lines[0][0] == words.ERROR
    assert lines[1] == (words.WARN, report.warnings[0])
    assert lines[2] == (words.INFO, "Output: /shared/renders/shot/######")


def test_failures_in_words():
    assert words.explain(Unreachable("cannot reach http://x:1")).startswith("Cannot reach the Manager")
    assert "check them and submit again" in words.explain(JobTypeChanged("t", None))
    assert words.explain(InvalidSetting("frames", "the Manager refused the job: bad frames")) == \
        "The Manager refused the job: bad frames."


def test_an_unreachable_manager_is_said_in_the_dialog(qloop):
    url = f"http://127.0.0.1:{free_port()}"

    async def body():
        dashboard, window = await open_dashboard([url])
        try:
            dialog = window.open_submit_dialog()
            await wait_for(lambda: dialog.message.text(), timeout=30, message="a message")
            assert dialog.message.text().startswith(f"Cannot reach the Manager at {url}: check that it runs"), dialog.message.text()
            assert not dialog.submit_button.isEnabled()
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def test_the_scene_line_says_what_the_job_needs():
    from app.submit.blendinfo import BlendInfo, SceneInfo

    scene = SceneInfo("Scene", 1, 10, 1, 24.0, "PNG", ".png", "Camera", "CYCLES", "/out/####", "/out",
                      (1920, 1080, 50))
    blend = BlendInfo(Path("/p/shot.blend"), scene, [scene], [], blender_version="3.4.1",
                      needs={"engine": "CYCLES", "device": "GPU", "gpu_backend": "OPTIX", "blender_version": "4.2"})
    assert words.scene_text(blend).endswith(
        ", read by Blender 3.4.1. Needs Cycles on a GPU (OptiX), Blender 4.2 or newer")
    blend.needs = {}
    assert words.scene_text(blend).endswith(", read by Blender 3.4.1")
