"""Packing end to end against a real aiohttp server with the real Shaman routes."""

from __future__ import annotations

import asyncio
import itertools
import os
from datetime import datetime
from pathlib import Path

import pytest

from app.packer import (
    Approach,
    PackError,
    PackRequest,
    Phase,
    Progress,
    SharedStorage,
    decide_approach,
    pack_job,
    pack_job_sync,
)
from tests.packer.conftest import FakeManager, Project


def test_decide_approach(tmp_path: Path) -> None:
    storage = tmp_path / "share"
    (storage / "proj").mkdir(parents=True)
    blend = storage / "proj" / "a.blend"
    blend.write_bytes(b"x")
    alias = tmp_path / "alias"
    alias.symlink_to(storage)
    elsewhere = tmp_path / "local.blend"
    elsewhere.write_bytes(b"x")
    assert decide_approach(blend, SharedStorage(str(storage), shaman_enabled=True)) is Approach.IN_PLACE
    assert decide_approach(alias / "proj" / "a.blend", SharedStorage(str(storage))) is Approach.IN_PLACE
    assert decide_approach(elsewhere, SharedStorage(str(storage), shaman_enabled=True)) is Approach.SHAMAN
    assert decide_approach(elsewhere, SharedStorage(str(storage), shaman_enabled=False)) is Approach.COPY
    # A sibling folder whose name merely starts with the storage name is not inside it.
    sibling = tmp_path / "share2"
    sibling.mkdir()
    assert decide_approach(sibling / "x.blend", SharedStorage(str(storage))) is Approach.COPY


async def test_blend_on_shared_storage_renders_in_place(manager: FakeManager) -> None:
    blend = manager.storage / "projects" / "shot.blend"
    blend.parent.mkdir(parents=True)
    blend.write_bytes(b"blend")
    result = await pack_job(PackRequest(manager.url, blend, job_name="in place"))
    assert result.approach is Approach.IN_PLACE and result.blendfile == str(blend)
    assert manager.upload_statuses == [] and list((manager.storage / "jobs").iterdir()) == []


async def test_copy_per_job_keeps_the_relative_layout(manager: FakeManager, project: Project) -> None:
    manager.shaman_enabled = False
    now = datetime(2024, 5, 1, 15, 30, 12)
    result = await pack_job(
        PackRequest(manager.url, project.blendfile, project.dependencies, "Shot 010: final", now=now)
    )
    job_dir = manager.storage / "jobs" / "2024-05-01T153012-Shot 010_ final"
    assert result.approach is Approach.COPY and result.job_dir == job_dir
    assert result.blendfile == str(job_dir / "scenes" / "shot.blend")
    for path in project.all_files:
        assert (job_dir / path.relative_to(project.root)).read_bytes() == path.read_bytes()
    again = await pack_job(PackRequest(manager.url, project.blendfile, [], "Shot 010: final", now=now))
    assert again.job_dir == job_dir.with_name(job_dir.name + "-1")  # same second: a fresh folder, not a merge


async def test_copy_with_explicit_project_root(manager: FakeManager, project: Project) -> None:
    manager.shaman_enabled = False
    root = project.root.parent
    result = await pack_job(
        PackRequest(manager.url, project.blendfile, project.dependencies, "job", project_root=root)
    )
    assert result.blendfile.endswith(os.path.join("proj", "scenes", "shot.blend"))


async def test_shaman_upload_then_resubmit_uploads_only_the_changed_file(
    manager: FakeManager, project: Project, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    request = PackRequest(manager.url, project.blendfile, project.dependencies, "Shot 010", cache_dir=cache)
    first = await pack_job(request)
    unique_bytes = sum(p.stat().st_size for p in project.all_files if p.name != "copy-of-wood.png")
    assert first.approach is Approach.SHAMAN and first.checkout_id == "Shot 010"
    assert first.blendfile == "{jobs}/Shot 010/scenes/shot.blend" and first.link_mode == "symlink"
    assert manager.upload_bytes == unique_bytes == first.bytes_uploaded
    checkout = manager.shaman.checkouts.root / "Shot 010"
    for path in project.all_files:
        assert (checkout / path.relative_to(project.root)).read_bytes() == path.read_bytes()

    changed = project.root / "textures" / "stone.png"
    changed.write_bytes(os.urandom(260_000))
    manager.upload_bytes = 0
    second = await pack_job(request)
    assert manager.upload_bytes == 260_000 and second.files_uploaded == 1
    assert second.files_hashed == 1  # the others came from the hash cache
    assert second.checkout_id is not None and second.checkout_id.startswith("Shot 010-")
    assert (
        manager.shaman.checkouts.root / second.checkout_id / "textures" / "stone.png"
    ).read_bytes() == changed.read_bytes()


async def test_deferred_uploads_are_retried_in_later_rounds(manager: FakeManager, project: Project) -> None:
    manager.defer_once = True
    result = await pack_job(PackRequest(manager.url, project.blendfile, project.dependencies, "deferred"))
    assert 425 in manager.upload_statuses and result.checkout_id == "deferred"
    assert result.files_uploaded == 5
    assert (manager.shaman.checkouts.root / "deferred" / "scenes" / "shot.blend").exists()


async def test_progress_is_reported_per_phase(manager: FakeManager, project: Project) -> None:
    seen: list[Progress] = []
    await pack_job(
        PackRequest(manager.url, project.blendfile, project.dependencies, "p"), on_progress=seen.append
    )
    phases = [p.phase for p in seen]
    order = [Phase.HASHING, Phase.CHECKING, Phase.UPLOADING, Phase.CHECKOUT, Phase.DONE]
    assert [phase for phase in order if phase in phases] == order
    assert phases.index(Phase.CHECKOUT) > max(i for i, ph in enumerate(phases) if ph is Phase.UPLOADING)
    uploads = [p for p in seen if p.phase is Phase.UPLOADING]
    assert uploads[-1].bytes_done == uploads[-1].bytes_total > 0
    assert any(p.current_file == "textures/ñandú.png" for p in uploads)
    assert all(b.bytes_done >= a.bytes_done for a, b in itertools.pairwise(uploads))


async def test_pack_job_sync_runs_in_a_plain_thread(manager: FakeManager, project: Project) -> None:
    request = PackRequest(manager.url, project.blendfile, project.dependencies, "from a thread")
    result = await asyncio.to_thread(pack_job_sync, request)
    assert result.checkout_id == "from a thread"


async def test_files_outside_the_project_root_are_refused(
    manager: FakeManager, project: Project, tmp_path: Path
) -> None:
    stray = tmp_path / "stray.png"
    stray.write_bytes(b"x")
    request = PackRequest(manager.url, project.blendfile, [stray], "job", project_root=project.root)
    with pytest.raises(PackError, match="outside the project root"):
        await pack_job(request)
    with pytest.raises(PackError, match="does not exist"):
        await pack_job(PackRequest(manager.url, project.blendfile, [tmp_path / "missing.png"], "job"))


async def test_cancelling_while_copying_leaves_no_job_folder(manager: FakeManager, project: Project) -> None:
    """Esc in the add-on / Cancel in the submit dialog during the copy: nothing stays on the storage."""
    manager.shaman_enabled = False
    copying = asyncio.Event()

    def on_progress(progress: Progress) -> None:
        if progress.phase is Phase.COPYING and progress.files_done >= 1:
            copying.set()

    packing = asyncio.ensure_future(pack_job(
        PackRequest(manager.url, project.blendfile, project.dependencies, "cancelled"), on_progress=on_progress))
    await copying.wait()  # at least one file is in the job folder
    packing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await packing
    assert list((manager.storage / "jobs").iterdir()) == []
