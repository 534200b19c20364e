"""The add-on inside a real Blender (3.4, background) against a real Manager: every storage approach,
Shaman's second upload, the pre-flight report, a stale job type, an unreachable Manager."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path

import pytest

from tests.addon.conftest import needs_blender, run_blender, steps_named

pytestmark = [needs_blender, pytest.mark.slow]

SETUP = [
    ("check_connection",),
    ("refresh",),
]


def _configure(tmp_path: Path, **extra) -> tuple:
    settings = {"render_output_root": str(tmp_path / "shared" / "render"), "chunk_size": 2}
    settings.update(extra.pop("settings", {}))
    return ("configure", {"job_name": "{blend} test", "settings": settings, **extra})


async def _job(manager, job_id: str) -> dict:
    status, job = await manager.request("GET", f"/api/v3/jobs/{job_id}")
    assert status == 200, job
    return job


async def _tasks(manager, job_id: str) -> list[dict]:
    status, doc = await manager.request("GET", f"/api/v3/jobs/{job_id}/tasks")
    assert status == 200, doc
    return doc["tasks"]


def _check_job_implied_by_scene(job: dict, tasks: list[dict], tmp_path: Path) -> None:
    settings = job["settings"]
    assert job["name"] == "shot test"
    assert job["type"] == "simple-blender-render"
    assert settings["frames"] == "1-3"
    assert settings["chunk_size"] == 2
    assert settings["scene"] == "Scene"
    assert settings["format"] == "PNG"
    assert settings["render_output_path"].startswith(str(tmp_path / "shared" / "render"))
    assert settings["render_output_path"].endswith(
        "/shot test/" + settings["render_output_path"].split("/")[-2] + "/######"
    )
    renders = [t for t in tasks if t["task_type"] == "blender"]
    assert len(renders) == 2  # frames 1-3 in chunks of 2


async def test_in_place_on_shared_storage(manager_factory, tmp_path: Path) -> None:
    manager = await manager_factory(shaman_enabled=False)
    project = tmp_path / "shared" / "projects" / "film"
    result = await run_blender(
        tmp_path,
        {
            "url": manager.url,
            "project": str(project),
            "steps": [*SETUP, _configure(tmp_path), ("preflight",), ("submit",), ("poll",)],
        },
    )
    conn = steps_named(result, "check_connection")[0]
    assert conn["ok"] and "storage for this file: in-place" in conn["text"], conn
    assert "simple-blender-render" in steps_named(result, "refresh")[0]["job_types"]
    submit = steps_named(result, "submit")[0]
    assert submit["result"] == ["FINISHED"], submit["message"]
    assert "in-place" in submit["message"]
    job = await _job(manager, submit["job_id"])
    assert job["settings"]["blendfile"] == str(project / "shot.blend")
    assert job["metadata"]["user.name"] == getpass.getuser()  # the Submitter column: who and where from
    assert job["metadata"]["user.host"] == socket.gethostname()
    _check_job_implied_by_scene(job, await _tasks(manager, job["id"]), tmp_path)
    assert steps_named(result, "poll")[0]["status"] == "queued"
    assert result["unregistered"]


async def test_copy_per_job(manager_factory, tmp_path: Path) -> None:
    manager = await manager_factory(shaman_enabled=False)
    project = tmp_path / "work" / "film"
    result = await run_blender(
        tmp_path,
        {
            "url": manager.url,
            "project": str(project),
            "steps": [*SETUP, _configure(tmp_path, paused=True), ("submit",)],
        },
    )
    submit = steps_named(result, "submit")[0]
    assert submit["result"] == ["FINISHED"], submit["message"]
    job = await _job(manager, submit["job_id"])
    assert job["status"] == "paused"
    blend = Path(job["settings"]["blendfile"])
    assert blend.is_relative_to(tmp_path / "shared" / "jobs") and blend.name == "shot.blend"
    assert blend.is_file()
    assert (blend.parent / "textures" / "checker.png").is_file()  # the texture went with it
    _check_job_implied_by_scene(job, await _tasks(manager, job["id"]), tmp_path)


async def test_a_texture_added_between_two_submissions_goes_with_the_second(manager_factory, tmp_path: Path) -> None:
    """Blender Asset Tracer keeps the blend files it read open for the whole Blender session; read
    from that cache, the second submission traced the .blend as it was at the first and left the new
    texture out (its job rendered without it). Each pack now reads the saved file anew."""
    manager = await manager_factory(shaman_enabled=False)
    result = await run_blender(tmp_path, {
        "url": manager.url, "project": str(tmp_path / "work" / "film"),
        "steps": [*SETUP, _configure(tmp_path, paused=True), ("submit",), ("add_texture",), ("submit",)],
    })
    first, second = steps_named(result, "submit")
    assert first["result"] == second["result"] == ["FINISHED"], (first["message"], second["message"])
    packed = []
    for submit in (first, second):
        job = await _job(manager, submit["job_id"])
        textures = Path(job["settings"]["blendfile"]).parent / "textures"
        packed.append(sorted(p.name for p in textures.iterdir()))
    assert packed == [["checker.png"], ["added.png", "checker.png"]]


async def test_shaman_second_submission_uploads_nothing(manager_factory, tmp_path: Path) -> None:
    manager = await manager_factory(shaman_enabled=True)
    project = tmp_path / "work" / "film"
    result = await run_blender(
        tmp_path,
        {
            "url": manager.url,
            "project": str(project),
            "steps": [*SETUP, _configure(tmp_path), ("preflight",), ("submit",), ("preflight",), ("submit",)],
        },
    )
    first, second = steps_named(result, "submit")
    assert first["result"] == ["FINISHED"], first["message"]
    assert "uploaded 2 of 2 files" in first["message"], first["message"]
    assert second["result"] == ["FINISHED"], second["message"]
    assert "uploaded 0 of 2 files" in second["message"], second["message"]
    before, after = steps_named(result, "preflight")
    assert before["report"]["shaman_known_bytes"] == 0
    assert after["report"]["shaman_known_bytes"] == after["report"]["total_bytes"] > 0
    job = await _job(manager, second["job_id"])
    checkout = job["storage"]["shaman_checkout_id"]
    assert job["settings"]["blendfile"] == f"{{jobs}}/{checkout}/shot.blend"
    checked_out = tmp_path / "shared" / "jobs" / checkout
    assert (checked_out / "shot.blend").is_file() and (checked_out / "textures" / "checker.png").is_file()
    _check_job_implied_by_scene(job, await _tasks(manager, job["id"]), tmp_path)


async def test_missing_texture_in_preflight_blocks_submission(manager_factory, tmp_path: Path) -> None:
    manager = await manager_factory(shaman_enabled=False)
    project = tmp_path / "work" / "film"
    result = await run_blender(
        tmp_path,
        {
            "url": manager.url,
            "project": str(project),
            "texture_exists": False,
            "steps": [*SETUP, _configure(tmp_path), ("preflight",), ("submit",)],
        },
    )
    report = steps_named(result, "preflight")[0]
    missing = str(project / "textures" / "checker.png")
    assert report["report"]["missing"] == [missing]
    assert f"Missing image: {missing}" in report["lines"]
    submit = steps_named(result, "submit")[0]
    assert submit["result"] == ["CANCELLED"]
    assert "1 missing file(s)" in submit["message"] and "checker.png" in submit["message"]
    status, doc = await manager.request("GET", "/api/v3/jobs")
    assert status == 200 and doc["jobs"] == []
    assert not (tmp_path / "shared" / "jobs").exists() or not any((tmp_path / "shared" / "jobs").iterdir())


async def test_stale_job_type_is_refreshed(manager_factory, tmp_path: Path) -> None:
    manager = await manager_factory(shaman_enabled=False)
    project = tmp_path / "shared" / "film"
    result = await run_blender(
        tmp_path,
        {
            "url": manager.url,
            "project": str(project),
            "steps": [
                *SETUP,
                _configure(tmp_path),
                ("stale_etag",),
                ("submit",),
                ("etag",),
                _configure(tmp_path),
                ("submit",),
            ],
        },
    )
    stale, again = steps_named(result, "submit")
    assert stale["result"] == ["CANCELLED"]
    assert "job type changed on the Manager" in stale["message"] and "check them" in stale["message"]
    assert steps_named(result, "etag")[0]["etag"] == steps_named(result, "stale_etag")[0]["before"]
    assert again["result"] == ["FINISHED"], again["message"]
    status, doc = await manager.request("GET", "/api/v3/jobs")
    assert [j["id"] for j in doc["jobs"]] == [again["job_id"]]  # the stale try left nothing behind


async def test_manager_errors_in_words(manager_factory, tmp_path: Path) -> None:
    manager = await manager_factory(shaman_enabled=False)
    project = tmp_path / "shared" / "film"
    result = await run_blender(
        tmp_path,
        {
            "url": manager.url,
            "project": str(project),
            # A frame range the job compiler cannot parse: the Manager's own message reaches the artist.
            "steps": [
                *SETUP,
                _configure(tmp_path, settings={"frames__override": True, "frames": "1-x"}),
                ("submit",),
            ],
        },
    )
    submit = steps_named(result, "submit")[0]
    assert submit["result"] == ["CANCELLED"]
    assert submit["message"].startswith("The Manager refused the job: "), submit["message"]
    unreachable = await run_blender(
        tmp_path,
        {
            "url": "http://127.0.0.1:9",
            "project": str(tmp_path / "other"),
            "steps": [("check_connection",)],
        },
    )
    conn = steps_named(unreachable, "check_connection")[0]
    assert not conn["ok"] and "cannot reach the Manager at http://127.0.0.1:9" in conn["text"]
    assert "add-on preferences" in conn["text"]


async def test_cancel_leaves_nothing_on_the_manager(manager_factory, tmp_path: Path) -> None:
    manager = await manager_factory(shaman_enabled=False)
    result = await run_blender(
        tmp_path,
        {
            "url": manager.url,
            "project": str(tmp_path / "work" / "film"),
            "steps": [*SETUP, _configure(tmp_path), ("submit_cancelled",)],
        },
    )
    cancelled = steps_named(result, "submit_cancelled")[0]
    assert cancelled["outcome"] == "error" and "cancelled; nothing was submitted" in cancelled["message"]
    assert "packing" in cancelled["phases"] and "submitting" not in cancelled["phases"]
    status, doc = await manager.request("GET", "/api/v3/jobs")
    assert status == 200 and doc["jobs"] == []
    jobs_dir = tmp_path / "shared" / "jobs"
    assert not jobs_dir.exists() or not any(jobs_dir.iterdir())  # the half-made copy was removed


async def test_cancel_during_shaman_upload(manager_factory, tmp_path: Path) -> None:
    manager = await manager_factory(shaman_enabled=True)
    result = await run_blender(
        tmp_path,
        {
            "url": manager.url,
            "project": str(tmp_path / "work" / "film"),
            "steps": [
                *SETUP,
                _configure(tmp_path),
                ("submit_cancelled", {"phases": ["uploading"]}),
                ("submit",),
            ],
        },
    )
    cancelled = steps_named(result, "submit_cancelled")[0]
    assert cancelled["outcome"] == "error" and "uploading" in cancelled["phases"]
    submit = steps_named(result, "submit")[0]
    assert submit["result"] == ["FINISHED"], submit["message"]
    status, doc = await manager.request("GET", "/api/v3/jobs")
    assert [j["id"] for j in doc["jobs"]] == [submit["job_id"]]
    checkouts = [p for p in (tmp_path / "shared" / "jobs").iterdir()]
    assert len(checkouts) == 1  # the cancelled try made no checkout


async def test_after_job_makes_the_job_wait(manager_factory, tmp_path: Path) -> None:
    from tests.conftest import echo_job

    manager = await manager_factory(shaman_enabled=False)
    _, render = await manager.request("POST", "/api/v3/jobs", json=echo_job(name="render first"))
    project = tmp_path / "shared" / "film"
    result = await run_blender(
        tmp_path,
        {
            "url": manager.url,
            "project": str(project),
            "steps": [
                *SETUP,
                _configure(tmp_path, after_job="render first"),
                ("submit",),
                _configure(tmp_path, after_job="no such job"),
                ("submit",),
            ],
        },
    )
    by_name, unknown = steps_named(result, "submit")
    assert by_name["result"] == ["FINISHED"], by_name["message"]
    job = await _job(manager, by_name["job_id"])
    assert job["status"] == "queued" and job["waiting_on"] == 1
    assert job["activity"] == "Waiting for 'render first'"
    status, chain = await manager.request("GET", f"/api/v3/tablao/jobs/{job['id']}/chain")
    assert status == 200 and [link["id"] for link in chain["depends_on"]] == [render["id"]]
    assert unknown["result"] == ["CANCELLED"]
    assert "After Job: the Manager has no job named 'no such job'" in unknown["message"], unknown["message"]


async def test_the_preview_switches_reach_the_manager(manager_factory, tmp_path: Path) -> None:
    manager = await manager_factory(shaman_enabled=False)
    result = await run_blender(
        tmp_path,
        {
            "url": manager.url,
            "project": str(tmp_path / "shared" / "film"),
            "steps": [
                *SETUP,
                _configure(tmp_path),
                ("submit",),
                _configure(tmp_path, preview_first=False, pause_on_preview_failure=True),
                ("submit",),
            ],
        },
    )
    default, switched = steps_named(result, "submit")
    assert default["result"] == ["FINISHED"] and switched["result"] == ["FINISHED"], result
    metadata = (await _job(manager, default["job_id"]))["metadata"]
    assert "preview_first" not in metadata and "pause_on_preview_failure" not in metadata  # defaults: not sent
    metadata = (await _job(manager, switched["job_id"]))["metadata"]
    assert metadata["preview_first"] == "false" and metadata["pause_on_preview_failure"] == "true"


async def test_an_unforeseen_failure_says_which_file_and_where(tmp_path: Path) -> None:
    """A failure the add-on has no words for still says what an artist or a bug report needs: the
    file that was missing, and where in the add-on it happened (not a bare `FileNotFoundError(2, ...)`)."""
    missing = tmp_path / "gone" / "shot.blend"
    result = await run_blender(tmp_path, {"url": "http://127.0.0.1:9", "project": str(tmp_path / "work" / "film"),
                                          "steps": [("explain", {"missing": str(missing)})]})
    (rec,) = steps_named(result, "explain")
    assert rec["gone"].startswith("A file could not be used: ") and str(missing) in rec["gone"], rec
    assert "No such file or directory" in rec["gone"] and "blender_driver.py, line" in rec["gone"], rec
    assert rec["bug"].startswith("Unexpected error: KeyError: 'key' (in blender_driver.py, line "), rec
