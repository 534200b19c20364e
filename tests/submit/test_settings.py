"""Unit tests of `app.submit.settings`: `--set` text parsed by the setting's type, precedence, required."""

from __future__ import annotations

import pytest

from app.api.jobs import AvailableJobSetting, AvailableJobType
from app.submit import InvalidSetting, merge_settings, parse_assignments
from app.submit.blendinfo import looks_like_blend
from app.submit.settings import check_required

JOB_TYPE = AvailableJobType(name="t", label="T", etag="e", settings=[
    AvailableJobSetting(key="frames", type="string", eval="f'{C.scene.frame_start}-{C.scene.frame_end}'",
                        required=True),
    AvailableJobSetting(key="chunk_size", type="int32", default=1),
    AvailableJobSetting(key="fps", type="float"),
    AvailableJobSetting(key="previews", type="bool"),
    AvailableJobSetting(key="quality", type="string", choices=["low", "high"]),
    AvailableJobSetting(key="render_output_root", type="string", required=True),
])


def test_values_are_parsed_by_type():
    values = parse_assignments(JOB_TYPE, ["chunk_size=5", "fps=23.976", "previews=yes", "quality=high",
                                          "frames=1-10, 20"])
    assert values == {"chunk_size": 5, "fps": 23.976, "previews": True, "quality": "high", "frames": "1-10, 20"}


@pytest.mark.parametrize("item, words", [
    ("chunk_size=1.5", "'chunk_size' must be a whole number"),
    ("chunk_size=99999999999", "'chunk_size' must be a whole number"),
    ("fps=fast", "'fps' must be a number"),
    ("previews=maybe", "'previews' must be true or false"),
    ("quality=medium", "'quality' must be one of 'low', 'high'"),
    ("nope=1", "has no setting 'nope'"),
    ("chunk_size", "is not KEY=VALUE"),
])
def test_bad_values_name_the_setting(item, words):
    with pytest.raises(InvalidSetting) as caught:
        parse_assignments(JOB_TYPE, [item])
    assert words in str(caught.value)


def test_user_beats_eval_beats_scene_beats_default():
    merged = merge_settings(JOB_TYPE, {"chunk_size": 3}, {"frames": "1-4", "chunk_size": 9},
                            {"render_output_root": "/renders"})
    assert merged == {"frames": "1-4", "chunk_size": 3, "render_output_root": "/renders"}
    assert merge_settings(JOB_TYPE, {}, {}, {})["chunk_size"] == 1


def test_a_required_setting_without_value_says_how_to_give_it():
    with pytest.raises(InvalidSetting, match="--set render_output_root=VALUE"):
        check_required(JOB_TYPE, {"frames": "1-4", "render_output_root": ""})


def test_blend_headers(tmp_path):
    for name, head in [("plain", b"BLENDER-v304"), ("gzip", b"\x1f\x8b\x08"), ("zstd", b"\x28\xb5\x2f\xfd")]:
        (tmp_path / name).write_bytes(head + b"\x00" * 16)
        assert looks_like_blend(tmp_path / name)
    (tmp_path / "text").write_text("BLEND")
    assert not looks_like_blend(tmp_path / "text")


def test_the_submission_core_never_imports_qt():
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, app.submit, app.submit.command; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt6', 'PyQt5', 'app') "
            "and (m.startswith('Py') or m.startswith('app.ui'))]; print(bad); sys.exit(1 if bad else 0)")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr
