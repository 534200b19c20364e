"""The submit dialog against a real Manager process and Debian's Blender reading a real .blend.

The scene is made at test time (a cube with an external texture, frames 1-4); the dialog's form is
generated from the Manager's job types (a bundled one and one made here with every kind of
setting), the pre-flight report comes from Blender's read-out, and the job lands on the Manager.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from app.common.credentials import submit_token_store
from app.ui.dialogs.submit_job import SubmitJobDialog
from app.ui.launch import open_dashboard
from tests.http_worker import HttpWorker
from tests.submit.conftest import make_scripted_blend, make_textured_blend
from tests.ui.conftest import ManagerProcess, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("blender") is None, reason="needs Debian's blender"),
]

# A job type with one setting of every kind the form knows, and each `visible` value.
KINDS_JS = """
const JOB_TYPE = {
  label: "Every Kind",
  settings: [
    { key: "count", type: "int32", default: 7, propargs: { min: 2, max: 9 }, description: "How many" },
    { key: "gain", type: "float", default: 1.5, propargs: { min: 0, max: 4 }, description: "Gain" },
    { key: "denoise", type: "bool", default: true, visible: "submission", description: "Denoise" },
    { key: "quality", type: "string", choices: ["draft", "final"], default: "final", label: "Quality" },
    { key: "note", type: "string", default: "hello", description: "A note" },
    { key: "frames", type: "string", required: true, eval: "f'{C.scene.frame_start}-{C.scene.frame_end}'" },
    { key: "web_only", type: "string", visible: "web" },
    { key: "secret", type: "string", visible: "hidden", eval: "C.scene.name" },
    { key: "blendfile", type: "string", visible: "web" },
  ],
};
function compileJob(job) {
  const t = author.Task("echo", "misc");
  t.addCommand(author.Command("echo", { message: job.settings.note }));
  job.addTask(t);
}
"""


@pytest.fixture(scope="module")
def blend_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("blend")
    make_textured_blend(root / "project" / "shots" / "scene.blend", root / "project" / "tex" / "wood.png",
                        "//render/", start=1, end=4)
    return root / "project"


@pytest.fixture
def project(blend_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the project, outside the Manager's shared storage (so it is packed)."""
    dst = tmp_path / "artist" / "project"
    shutil.copytree(blend_template, dst)
    return dst


@pytest.fixture
def manager(tmp_path: Path):
    proc = ManagerProcess(tmp_path / "manager")
    (proc.root / "scripts").mkdir()
    (proc.root / "scripts" / "every_kind.js").write_text(KINDS_JS)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


SUBMIT = "artist-submit-token-1234"


@pytest.fixture(scope="module")
def scripted_template(tmp_path_factory) -> Path:
    return make_scripted_blend(tmp_path_factory.mktemp("scripted") / "rig.blend")


@pytest.fixture
def trusting_manager(tmp_path: Path):
    """A Manager that runs the scripts in .blend files for jobs submitted with its submit token."""
    proc = ManagerProcess(tmp_path / "manager", extra_config=f"allow_blend_scripts: true\nsubmit_token: {SUBMIT}\n")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


async def _scripts_run(manager: ManagerProcess) -> bool:
    """What a worker is told for the first render task: may the scripts of its .blend file run?"""
    worker = await HttpWorker(manager.url, name="w", task_types=["blender", "ffmpeg", "file-management"]
                              ).register_and_sign_on()
    try:
        status, task = await worker.claim()
        assert status == 200, task
    finally:
        await worker.close()
    return task["blend_scripts"]


def _warned_about_scripts(dialog: SubmitJobDialog) -> bool:
    return any("will not run on the farm" in t for t in dialog.preflight_texts())


def _jobs(manager: ManagerProcess) -> list[dict]:
    return manager.get("/api/v3/jobs")["jobs"]


async def _dialog(window, blend: Path | None, job_type: str = "simple-blender-render") -> SubmitJobDialog:
    dialog = window.open_submit_dialog(blend)
    await wait_for(lambda: dialog.job_types, message="job types from the Manager")
    dialog.type_combo.setCurrentIndex(dialog.type_combo.findData(job_type))
    await wait_for(lambda: dialog.job_type is not None and dialog.job_type.name == job_type, message="the type")
    return dialog


async def _detail_loaded(window) -> None:
    """The job detail's fetch is done (so closing the dashboard leaves no request behind)."""
    await wait_for(lambda: window.detail._load is None or window.detail._load.done(), timeout=30,
                   message="the job detail loaded")


async def _read(dialog: SubmitJobDialog) -> None:
    await wait_for(lambda: dialog.report is not None, timeout=60, message="scene read and pre-flight")


def test_form_is_generated_from_the_job_type_with_scene_values(qloop, manager, project):
    blend = project / "shots" / "scene.blend"

    async def body():
        dashboard, window = await open_dashboard([manager.url])
        try:
            dialog = await _dialog(window, blend, "every-kind")
            await _read(dialog)
            assert not any(t.startswith("Output") for t in dialog.preflight_texts()), "it has no output setting"
            fields = dialog.form.fields
            assert set(fields) == {"count", "gain", "denoise", "quality", "note", "frames"}, "web/hidden not shown"
            count, gain = fields["count"].editor, fields["gain"].editor
            assert isinstance(count, QSpinBox) and (count.minimum(), count.maximum(), count.value()) == (2, 9, 7)
            assert isinstance(gain, QDoubleSpinBox) and (gain.maximum(), gain.value()) == (4.0, 1.5)
            assert isinstance(fields["denoise"].editor, QCheckBox) and fields["denoise"].editor.isChecked()
            quality = fields["quality"].editor
            assert isinstance(quality, QComboBox) and quality.currentText() == "final"
            assert [quality.itemText(i) for i in range(quality.count())] == ["draft", "final"]
            assert isinstance(fields["note"].editor, QLineEdit) and fields["note"].editor.text() == "hello"
            assert fields["count"].editor.toolTip() == "How many"
            frames = fields["frames"]
            assert frames.editor.text() == "1-4" and not frames.editor.isEnabled(), "read from the scene"
            assert frames.override is not None and not frames.override.isChecked()
            assert "frames 1–4" in dialog.scene.text() and "25 fps" in dialog.scene.text()

            # The bundled type: the output folder comes from the scene, the output path is evaluated. The
            # scene renders into the artist's project, where the farm does not write: the shared storage's
            # `renders` is the default instead, and the pre-flight says so.
            dialog.type_combo.setCurrentIndex(dialog.type_combo.findData("simple-blender-render"))
            await wait_for(lambda: dialog.job_type.name == "simple-blender-render", message="the bundled type")
            await wait_for(lambda: dialog.form.fields["render_output_root"].editor.text(), timeout=60,
                           message="the output folder read from the scene")
            fields = dialog.form.fields
            shared = manager.root / "shared"
            assert fields["render_output_root"].editor.text() == str(shared / "renders")
            await wait_for(lambda: any(t.startswith("Output: ") for t in dialog.preflight_texts()), timeout=60,
                           message="the pre-flight of the bundled type")
            texts = dialog.preflight_texts()
            assert f"Output goes to {shared / 'renders'}: the scene renders to {project / 'shots' / 'render'}, " \
                   "which this farm does not let jobs write to" in " | ".join(texts), texts
            assert any(t.startswith(f"Output: {shared / 'renders'}/scene/") for t in texts), texts
            assert set(fields) == {"frames", "chunk_size", "render_output_root", "add_path_components",
                                   "render_output_path"}
            assert (fields["add_path_components"].editor.minimum(), fields["add_path_components"].editor.maximum()) \
                == (0, 32)
            assert fields["render_output_path"].override is None, "editable: false has no override"
            await wait_for(lambda: "scene" in fields["render_output_path"].editor.text(), timeout=60,
                           message="the evaluated output path")
            assert fields["render_output_path"].editor.text().endswith("/{timestamp}/######")
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def test_missing_texture_blocks_submit_until_confirmed_then_the_job_is_selected(qloop, manager, project):
    blend = project / "shots" / "scene.blend"
    (project / "tex" / "wood.png").unlink()

    async def body():
        dashboard, window = await open_dashboard([manager.url])
        try:
            dialog = await _dialog(window, blend)
            await _read(dialog)
            texts = dialog.preflight_texts()
            assert any(t.startswith("Missing file: //../tex/wood.png") for t in texts), texts
            assert any("Shaman" in t for t in texts), texts
            assert not dialog.submit_button.isEnabled(), "missing files block Submit"
            assert dialog.confirm_missing.isVisible()
            dialog.confirm_missing.setChecked(True)
            assert dialog.submit_button.isEnabled()

            dialog.form.fields["chunk_size"].editor.setValue(3)
            dialog.priority.setValue(70)
            dialog.paused.setChecked(True)
            phases = []
            dialog._relay.progress.connect(lambda phase, *_: phases.append(phase))
            dialog.submit_button.click()
            await wait_for(lambda: window.submit_dialog is None, timeout=90, message="the dialog closes")
            jobs = _jobs(manager)
            assert len(jobs) == 1
            job = manager.get(f"/api/v3/jobs/{jobs[0]['id']}")
            assert job["name"] == "scene" and job["priority"] == 70 and job["status"] == "paused"
            assert job["settings"]["frames"] == "1-4" and job["settings"]["chunk_size"] == 3
            assert job["settings"]["blendfile"].startswith("{jobs}/"), "uploaded through Shaman"
            assert job["settings"]["render_output_root"] == str(manager.root / "shared" / "renders")
            assert {"reading", "validating", "hashing", "submitting"} <= set(phases), phases
            await wait_for(lambda: [r.id for r in window.jobs_view.selected_rows()] == [job["id"]],
                           message="the new job selected")
            await wait_for(lambda: window.detail.shown_job_id() == job["id"], message="its detail")
            await _detail_loaded(window)
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def test_a_setting_the_manager_refuses_shows_its_message_and_leaves_no_job(qloop, manager, project):
    blend = project / "shots" / "scene.blend"

    async def body():
        dashboard, window = await open_dashboard([manager.url])
        try:
            dialog = await _dialog(window, blend)
            await _read(dialog)
            frames = dialog.form.fields["frames"]
            frames.override.setChecked(True)
            frames.editor.setText("5-1")  # the job type's script refuses it, in its own words
            dialog.submit_button.click()
            await wait_for(lambda: dialog.message.text(), timeout=60, message="a message")
            assert dialog.isVisible()
            text = dialog.message.text()
            assert "refused" in text and 'invalid frame range part "5-1": end before start' in text, text
            assert _jobs(manager) == []
            assert dialog.submit_button.isEnabled(), "the artist can fix it and submit again"
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def test_a_changed_job_type_is_refreshed_and_the_artist_asked_to_check(qloop, manager, project):
    blend = project / "shots" / "scene.blend"

    async def body():
        dashboard, window = await open_dashboard([manager.url])
        try:
            dialog = await _dialog(window, blend)
            await _read(dialog)
            dialog.form.fields["chunk_size"].editor.setValue(4)
            current = dialog.job_type
            current.etag = "an-older-etag"  # as if the Manager's job type changed after the dialog read it
            dialog.submit_button.click()
            await wait_for(lambda: dialog.message.text(), timeout=60, message="a message")
            assert "job type changed" in dialog.message.text() and "check them" in dialog.message.text()
            assert dialog.job_type is not current and dialog.job_type.etag != "an-older-etag"
            assert dialog.form.fields["chunk_size"].editor.value() == 4, "the artist's values are kept"
            assert _jobs(manager) == []
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")  # Qt's only constructor
def test_dropping_a_blend_on_the_dashboard_opens_the_dialog(qloop, manager, project):
    blend = project / "shots" / "scene.blend"

    async def body():
        dashboard, window = await open_dashboard([manager.url])
        try:
            mime = QMimeData()
            mime.setUrls([QUrl.fromLocalFile(str(project / "tex" / "wood.png")), QUrl.fromLocalFile(str(blend))])
            enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                    Qt.KeyboardModifier.NoModifier)
            window.dragEnterEvent(enter)
            assert enter.isAccepted()
            drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier)
            window.dropEvent(drop)
            dialog = window.submit_dialog
            assert dialog is not None and dialog.isVisible()
            assert dialog.blendfile() == blend
            await _read(dialog)
            assert "frames 1–4" in dialog.scene.text()

            other = QMimeData()
            other.setUrls([QUrl.fromLocalFile(str(project / "tex" / "wood.png"))])
            refused = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, other, Qt.MouseButton.LeftButton,
                                      Qt.KeyboardModifier.NoModifier)
            refused.ignore()
            window.dragEnterEvent(refused)
            assert not refused.isAccepted(), "only .blend files are taken"
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def test_job_at_start_is_selected_even_when_it_arrives_later(qloop, manager):
    first = manager.submit_echo("first")

    async def body():
        dashboard, window = await open_dashboard([manager.url], job_id=first["id"])
        try:
            await wait_for(lambda: [r.id for r in window.jobs_view.selected_rows()] == [first["id"]],
                           message="the --job job selected")
            await wait_for(lambda: window.detail.shown_job_id() == first["id"], message="its detail")
            window.jobs_view.search.setText("nothing matches this")
            later_id = "not-yet-there"
            assert not window.show_job(later_id)
            later = manager.submit_echo("later")
            assert window.show_job(later["id"]) or True
            await wait_for(lambda: [r.id for r in window.jobs_view.selected_rows()] == [later["id"]],
                           message="a job that arrives by the event stream, filtered out at first")
            assert window.jobs_view.search.text() == ""
            await _detail_loaded(window)
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def test_cancel_while_submitting_leaves_nothing_on_the_manager(qloop, manager, project):
    blend = project / "shots" / "scene.blend"

    async def body():
        dashboard, window = await open_dashboard([manager.url])
        try:
            dialog = await _dialog(window, blend)
            await _read(dialog)
            dialog._relay.progress.connect(lambda phase, *_: dialog.reject() if phase == "reading" else None)
            dialog.submit_button.click()
            await wait_for(lambda: "Cancelled" in dialog.message.text(), timeout=60, message="cancelled")
            assert dialog.message.text() == "Cancelled: nothing was submitted."
            assert dialog.isVisible() and dialog.submit_button.isEnabled()
            assert _jobs(manager) == []
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def test_scripts_that_will_not_run_are_named_until_the_submit_token_is_given_and_remembered(
        qloop, trusting_manager, scripted_template, tmp_path):
    manager = trusting_manager
    blend = tmp_path / "artist" / "rig.blend"
    blend.parent.mkdir(parents=True)
    shutil.copy(scripted_template, blend)

    async def body():
        dashboard, window = await open_dashboard([manager.url])
        try:
            dialog = await _dialog(window, blend)
            assert dialog.token.isVisible() and dialog.token.text() == "", "no admin token here: a token field"
            await wait_for(lambda: _warned_about_scripts(dialog), timeout=60, message="the scripts warning")
            warning = next(t for t in dialog.preflight_texts() if "will not run" in t)
            assert "1 script(s) that run when the file opens (rig_ui.py)" in warning
            assert "only for jobs submitted with its submit token" in warning

            dialog.token.setText(SUBMIT)
            dialog.token.editingFinished.emit()
            await wait_for(lambda: dialog.report is not None and not _warned_about_scripts(dialog)
                           and any(t.startswith("Output: ") for t in dialog.preflight_texts()),
                           timeout=60, message="the pre-flight again, with the token")
            dialog.form.fields["frames"].override.setChecked(True)
            dialog.form.fields["frames"].editor.setText("1")
            dialog.submit_button.click()
            await wait_for(lambda: window.submit_dialog is None, timeout=90, message="the dialog closes")
            assert len(_jobs(manager)) == 1
            assert await _scripts_run(manager) is True
            assert submit_token_store().recall(manager.url) == SUBMIT

            again = await _dialog(window, blend)
            assert again.token.text() == SUBMIT, "remembered for this Manager"
            await _read(again)
            await _detail_loaded(window)
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def test_on_its_own_manager_the_dialog_sends_the_admin_token(qloop, trusting_manager, scripted_template, tmp_path):
    manager = trusting_manager
    blend = tmp_path / "artist" / "rig.blend"
    blend.parent.mkdir(parents=True)
    shutil.copy(scripted_template, blend)

    async def body():
        dashboard, window = await open_dashboard([manager.url], admin_tokens=manager.admin_tokens)
        try:
            dialog = await _dialog(window, blend)
            assert not dialog.token.isVisible(), "the admin token says more than a submit token"
            await wait_for(lambda: any(t.startswith("Output: ") for t in dialog.preflight_texts()), timeout=60,
                           message="the pre-flight")
            assert not _warned_about_scripts(dialog), dialog.preflight_texts()
            dialog.form.fields["frames"].override.setChecked(True)
            dialog.form.fields["frames"].editor.setText("1")
            dialog.submit_button.click()
            await wait_for(lambda: window.submit_dialog is None, timeout=90, message="the dialog closes")
            assert await _scripts_run(manager) is True
            assert submit_token_store().recall(manager.url) is None
            await _detail_loaded(window)
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def test_the_command_line_opens_the_dashboard_with_the_job(monkeypatch):
    import app.ui.launch
    from app.cli import main

    calls = []
    monkeypatch.setattr(app.ui.launch, "run_dashboard", lambda *a, **kw: calls.append((a, kw)) or 0)
    assert main(["--manager", "http://render:8080/", "--job", "j-1"]) == 0
    assert main(["dashboard", "http://render:8080/", "--job", "j-2"]) == 0
    assert calls == [((["http://render:8080/"], "j-1"), {"remember": False}),
                     ((["http://render:8080/"], "j-2"), {"remember": True})]


def test_after_job_makes_the_new_job_wait_for_the_chosen_one(qloop, manager, project):
    blend = project / "shots" / "scene.blend"
    render = manager.send("POST", "/api/v3/jobs", {
        "name": "render first", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
        "settings": {"message": "hi", "sleep_duration_seconds": 0, "sleep_repeats": 0}})

    async def body():
        dashboard, window = await open_dashboard([manager.url])
        try:
            dialog = await _dialog(window, blend)
            await wait_for(lambda: dialog.after.combo.findData(render["id"]) > 0, message="the job offered")
            assert dialog.after.combo.itemText(0) == "(as soon as possible)"
            assert not dialog.after.fail_too.isEnabled()
            dialog.after.choose(render["id"])
            assert dialog.after.combo.currentText() == "render first (queued)"
            dialog.after.fail_too.setChecked(True)
            await _read(dialog)
            dialog.confirm_missing.setChecked(True)
            dialog.submit_button.click()
            await wait_for(lambda: window.submit_dialog is None, timeout=90, message="the dialog closes")
            job = next(j for j in _jobs(manager) if j["id"] != render["id"])
            assert job["status"] == "queued" and job["waiting_on"] == 1
            assert job["activity"] == "Waiting for 'render first'"
            chain = manager.get(f"/api/v3/tablao/jobs/{job['id']}/chain")
            assert chain["on_dependency_failure"] == "fail"
            assert [link["id"] for link in chain["depends_on"]] == [render["id"]]
            await wait_for(lambda: window.detail.shown_job_id() == job["id"], message="its detail")
            await wait_for(lambda: "Waits for: 'render first'" in window.detail.chain.text(), message="the chain")
            await _detail_loaded(window)
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def test_the_preview_switches_are_on_for_renders_and_reach_the_manager(qloop, manager, project):
    blend = project / "shots" / "scene.blend"

    async def body():
        dashboard, window = await open_dashboard([manager.url])
        try:
            dialog = await _dialog(window, blend, "echo-sleep-test")
            # A job type that renders no frames has no preview frames: the box is unticked and greyed.
            assert not dialog.previews.first.isChecked() and not dialog.previews.first.isEnabled()
            assert dialog.previews.metadata() == {}
            dialog = await _dialog(window, blend)  # the same dialog, now for a render
            assert dialog.previews.first.isChecked() and dialog.previews.first.isEnabled()
            assert not dialog.previews.pause.isChecked()
            dialog.previews.pause.setChecked(True)
            dialog.previews.first.setChecked(False)
            assert not dialog.previews.pause.isEnabled()  # pausing needs previews
            dialog.previews.first.setChecked(True)
            await _read(dialog)
            dialog.confirm_missing.setChecked(True)
            dialog.submit_button.click()
            await wait_for(lambda: window.submit_dialog is None, timeout=90, message="the dialog closes")
            [job] = _jobs(manager)
            assert job["metadata"].get("pause_on_preview_failure") == "true"
            assert "preview_first" not in job["metadata"]  # the default is not sent
            await wait_for(lambda: window.detail.job is not None and window.detail.job.id == job["id"],
                           message="its detail")
            await _detail_loaded(window)
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())
