"""Which files count as job-type scripts, and how they are named."""

from __future__ import annotations

from pathlib import Path

from app.manager.job_compilers.loader import BUNDLED_SCRIPTS_DIR, job_type_name, scan_scripts

SCRIPT = "const JOB_TYPE = {label: 'x', settings: []}; function compileJob(job) {}\n"


def test_bundled_scripts():
    scripts = scan_scripts(None)
    assert set(scripts) == {"simple-blender-render", "echo-sleep-test"}
    assert all(s.bundled and s.path.parent == BUNDLED_SCRIPTS_DIR for s in scripts.values())


def test_name_is_stem_with_dashes():
    assert job_type_name(Path("/x/my_fancy_job.js")) == "my-fancy-job"


def test_user_folder_rules(tmp_path: Path):
    (tmp_path / "custom_render.js").write_text(SCRIPT)
    (tmp_path / "notes.txt").write_text(SCRIPT)
    (tmp_path / "tiny.js").write_text("// hi\n")  # under 8 bytes
    (tmp_path / "folder.js").mkdir()
    (tmp_path / "echo_sleep_test.js").write_text(SCRIPT)
    scripts = scan_scripts(tmp_path)
    assert set(scripts) == {"simple-blender-render", "echo-sleep-test", "custom-render"}
    assert scripts["echo-sleep-test"].path == tmp_path / "echo_sleep_test.js"
    assert not scripts["echo-sleep-test"].bundled
    assert scripts["simple-blender-render"].bundled


def test_missing_user_folder_is_fine(tmp_path: Path):
    assert set(scan_scripts(tmp_path / "absent")) == {"simple-blender-render", "echo-sleep-test"}


def test_stamp_changes_when_file_changes(tmp_path: Path):
    script = tmp_path / "a.js"
    script.write_text(SCRIPT)
    before = scan_scripts(tmp_path)["a"].stamp
    script.write_text(SCRIPT + "// more\n")
    assert scan_scripts(tmp_path)["a"].stamp != before
