"""Pure-Python parts of the add-on (no bpy): job-type helpers, storage approach, names, the report."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "addon"))

from tablao_blender import job_types, packing, preflight  # noqa: E402
from tablao_blender._api.jobs import AvailableJobSetting  # noqa: E402
from tablao_blender.comms import Manager  # noqa: E402


def test_visibility_and_labels() -> None:
    def s(**kw):
        return AvailableJobSetting(key=kw.pop("key", "chunk_size"), type="int32", **kw)

    assert job_types.drawn_in_blender(s()) and job_types.drawn_in_blender(s(visible="submission"))
    assert not job_types.drawn_in_blender(s(visible="web")) and not job_types.drawn_in_blender(
        s(visible="hidden")
    )
    assert not job_types.drawn_in_blender(s(key="blendfile"))
    assert job_types.label_of(s()) == "Chunk Size" and job_types.label_of(s(label="Chunk")) == "Chunk"


def test_storage_approach(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "p").mkdir(parents=True)
    assert packing.decide_approach(str(shared / "p" / "a.blend"), str(shared), True) == "in-place"
    assert packing.decide_approach(str(tmp_path / "a.blend"), str(shared), True) == "shaman"
    assert packing.decide_approach(str(tmp_path / "a.blend"), str(shared), False) == "copy"
    assert packing.decide_approach(str(tmp_path / "sharedX" / "a.blend"), str(shared), False) == "copy"


def test_safe_names_and_sizes() -> None:
    assert packing.safe_name("shot 010: final/v2") == "shot 010_ final_v2"
    assert packing.safe_name("...") == "job"
    assert preflight.human_size(512) == "512 B" and preflight.human_size(3 * 1024 * 1024) == "3.0 MiB"


def test_sequence_files(tmp_path: Path) -> None:
    for i in range(1, 4):
        (tmp_path / f"frame_{i:04d}.png").write_bytes(b"x")
    (tmp_path / "frame_final.png").write_bytes(b"x")
    assert len(preflight._sequence_files(str(tmp_path / "frame_0001.png"))) == 3


@pytest.mark.parametrize("url", ["farm:8080/", "http://farm:8080"])
def test_manager_url_is_normalised(url: str) -> None:
    assert Manager(url).url == "http://farm:8080"


def test_version_compatibility() -> None:
    from tablao_blender._api.meta import FlamencoVersion
    from tablao_blender.comms import is_compatible

    assert is_compatible(FlamencoVersion("3.9-beta1 (Tablao 0.1.0)", "3.9-beta1", "farm", "g"))
    assert not is_compatible(FlamencoVersion("2.4.1", "2.4.1", "old farm", "g"))


def test_failed_upload_names_the_file_and_the_retry(tmp_path: Path) -> None:
    import threading

    from tablao_blender._api.errors import ManagerUnreachable

    class FlakyManager:  # the Manager's boundary only: requirements answer, then the upload drops
        def shaman_requirements(self, specs):
            return [dict(s, status="unknown") for s in specs]

        def shaman_upload(self, sha, size, path, name):
            raise ManagerUnreachable("connection reset")

    (tmp_path / "textures").mkdir()
    (tmp_path / "shot.blend").write_bytes(b"BLENDER")
    (tmp_path / "textures" / "wood.png").write_bytes(b"png")
    packer = packing.Packer(
        FlakyManager(),
        str(tmp_path / "shot.blend"),
        str(tmp_path),
        "shot",
        on_progress=lambda p: None,
        cancel=threading.Event(),
    )
    with pytest.raises(packing.PackFailed) as failed:
        packer._upload(tmp_path, tmp_path / "shot.blend", [])
    message = str(failed.value)
    assert "uploading shot.blend failed (connection reset)" in message
    assert "sends only the files the Manager still lacks" in message
