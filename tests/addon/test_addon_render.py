"""End to end: the add-on submits through Shaman, a real worker renders, the panel's follow shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.addon.conftest import needs_blender, run_blender, steps_named
from tests.e2e.conftest import farm  # noqa: F401 - the fixture
from tests.e2e.farm import wait_job

pytestmark = [needs_blender, pytest.mark.slow]


async def test_submitted_job_renders_and_is_followed(farm, tmp_path: Path) -> None:  # noqa: F811
    start_manager, start_workers, _ = farm
    manager = await start_manager(shaman_enabled=True)
    render_root = tmp_path / "shared" / "render"
    result = await run_blender(
        tmp_path,
        {
            "url": manager.url,
            "project": str(tmp_path / "work" / "film"),
            "frame_end": 2,
            "steps": [
                ("refresh",),
                (
                    "configure",
                    {
                        "job_name": "e2e",
                        "settings": {"render_output_root": str(render_root), "chunk_size": 1},
                    },
                ),
                ("submit",),
            ],
        },
    )
    submit = steps_named(result, "submit")[0]
    assert submit["result"] == ["FINISHED"], submit["message"]
    workers = start_workers(1)
    assert await wait_job(manager, submit["job_id"], {"completed", "failed"}, 180, workers) == "completed"
    frames = sorted(p.name for p in render_root.rglob("*.png"))
    assert frames == ["000001.png", "000002.png"], frames
    followed = await run_blender(
        tmp_path,
        {
            "url": manager.url,
            "project": str(tmp_path / "work" / "again"),
            "steps": [("follow", {"job_id": submit["job_id"]})],
        },
    )
    follow = steps_named(followed, "follow")[0]
    assert follow["status"] == "completed"
    assert follow["thumbnail_loaded"], follow
