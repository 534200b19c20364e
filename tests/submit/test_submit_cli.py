"""`tablao submit` as a real process against a real Manager: a job on success, and for each bad
input a meaningful exit code, one clear line on stderr and no job left behind."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from pathlib import Path

import pytest

from app.submit.command import ProgressBar
from tests.e2e.farm import free_port
from tests.submit.conftest import needs_blender

ROOT = Path(__file__).resolve().parents[2]


async def tablao_submit(*args: str, home: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    base = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                TABLAO_HOME=str(home / "tablao-home"))
    base.pop("TABLAO_ACCESS_TOKEN", None)
    base.pop("TABLAO_SUBMIT_TOKEN", None)
    env = {**base, **(env or {})}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "submit", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode, out.decode(), err.decode()


async def assert_no_jobs(manager) -> None:
    status, body = await manager.request("GET", "/api/v3/jobs")
    assert status == 200 and body["jobs"] == [], body


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tablao submit: ")
    return lines[0]


@pytest.mark.slow
@needs_blender
async def test_submits_and_prints_the_job_as_json(manager, project, tmp_path):
    blend = project / "shots" / "scene.blend"
    code, out, err = await tablao_submit(str(blend), "--manager", manager.url, "--json", "--paused",
                                         "--set", "chunk_size=2", "--set", "frames=2-3", "--name", "cli job",
                                         "--priority", "70", home=tmp_path)
    assert code == 0, err
    # No progress bar when stderr is not a terminal; one note: the scene's folder (in the artist's
    # project) is not one the farm writes to, so the output goes to the shared storage.
    shared = tmp_path / "shared"
    assert err == (f"tablao submit: warning: Output goes to {shared / 'renders'}: the scene renders to "
                   f"{project / 'shots' / 'render'}, which this farm does not let jobs write to "
                   f"(set render_output_root to choose another folder under {shared})\n")
    job = json.loads(out)
    assert job["settings"]["render_output_root"] == str(shared / "renders")
    assert job["status"] == "paused" and job["name"] == "cli job" and job["priority"] == 70
    assert job["settings"]["chunk_size"] == 2 and job["settings"]["frames"] == "2-3"
    assert job["settings"]["blendfile"].endswith("/shots/scene.blend")
    status, stored = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
    assert status == 200 and stored["status"] == "paused"


async def test_a_file_that_is_not_a_blend(manager, tmp_path):
    text = tmp_path / "notes.blend"
    text.write_text("just some text\n")
    code, out, err = await tablao_submit(str(text), "--manager", manager.url, home=tmp_path)
    assert code == 2 and out == ""
    assert "is not a .blend file" in one_line(err)
    code, _, err = await tablao_submit(str(tmp_path / "missing.blend"), "--manager", manager.url, home=tmp_path)
    assert code == 2 and "does not exist" in one_line(err)
    await assert_no_jobs(manager)


@pytest.mark.slow
@needs_blender
async def test_a_blend_that_blender_cannot_open(manager, tmp_path):
    broken = tmp_path / "broken.blend"
    broken.write_bytes(b"BLENDER-v304" + b"\x00garbage" * 64)
    code, _, err = await tablao_submit(str(broken), "--manager", manager.url, home=tmp_path)
    assert code == 2
    assert "Blender cannot open" in one_line(err)
    await assert_no_jobs(manager)


@pytest.mark.slow  # the project is a scene made by Blender
async def test_an_unknown_job_type(manager, project, tmp_path):
    code, _, err = await tablao_submit(str(project / "shots" / "scene.blend"), "--manager", manager.url,
                                       "--type", "no-such-type", home=tmp_path)
    assert code == 1
    line = one_line(err)
    assert "no job type 'no-such-type'" in line and "simple-blender-render" in line
    await assert_no_jobs(manager)


@pytest.mark.slow  # the project is a scene made by Blender
async def test_a_setting_that_does_not_parse(manager, project, tmp_path):
    blend = str(project / "shots" / "scene.blend")
    code, _, err = await tablao_submit(blend, "--manager", manager.url, "--set", "chunk_size=many", home=tmp_path)
    assert code == 1
    assert "setting 'chunk_size' must be a whole number, not 'many'" in one_line(err)
    code, _, err = await tablao_submit(blend, "--manager", manager.url, "--set", "colour=red", home=tmp_path)
    assert code == 1 and "has no setting 'colour'" in one_line(err)
    await assert_no_jobs(manager)


@pytest.mark.slow
@needs_blender
async def test_a_setting_the_manager_refuses(manager, project, tmp_path):
    code, _, err = await tablao_submit(str(project / "shots" / "scene.blend"), "--manager", manager.url,
                                       "--set", "frames=ten to twenty", home=tmp_path)
    assert code == 1
    assert "the Manager refused the job" in one_line(err)
    await assert_no_jobs(manager)


@pytest.mark.slow  # the project is a scene made by Blender
async def test_an_unreachable_manager(manager, project, tmp_path):
    code, out, err = await tablao_submit(str(project / "shots" / "scene.blend"),
                                         "--manager", f"http://127.0.0.1:{free_port()}", home=tmp_path)
    assert code == 3 and out == ""
    assert "cannot reach" in one_line(err).lower() or "unreachable" in err.lower()
    await assert_no_jobs(manager)


@pytest.mark.slow  # the project is a scene made by Blender
async def test_the_default_manager_is_the_local_one(manager, project, tmp_path):
    """Without --manager, the Manager of this computer's config (its listen address) is used."""
    local = tmp_path / "tablao-home"
    local.mkdir()
    (local / "flamenco-manager.yaml").write_text(f"_meta: {{version: 3}}\nlisten: 127.0.0.1:{manager.service.port}\n")
    code, _, err = await tablao_submit(str(project / "shots" / "scene.blend"), "--type", "nope", home=tmp_path)
    assert code == 1 and "it has: " in one_line(err) and "simple-blender-render" in err  # the Manager answered


@pytest.mark.slow  # the project is a scene made by Blender
@pytest.mark.parametrize("args", [["--priority", "500"], ["--manager", "render:8080"]])
async def test_usage_errors(project, tmp_path, args):
    code, _, err = await tablao_submit(str(project / "shots" / "scene.blend"), *args, home=tmp_path)
    assert code == 2 and one_line(err)


def test_progress_bar_draws_one_line():
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar.update("uploading", 5_000_000, 10_000_000)
    bar.update("uploading", 10_000_000, 10_000_000)
    bar.clear()
    text = stream.getvalue()
    assert "\n" not in text
    assert "uploading" in text and " 50%" in text and "100%" in text and "10.0 MB" in text


@pytest.mark.slow
@needs_blender
async def test_after_waits_for_jobs_given_by_id_and_by_name(manager, project, tmp_path):
    from tests.conftest import echo_job

    _, first = await manager.request("POST", "/api/v3/jobs", json=echo_job(name="render A", initial_status="paused"))
    _, old = await manager.request("POST", "/api/v3/jobs", json=echo_job(name="render B"))
    _, newest = await manager.request("POST", "/api/v3/jobs", json=echo_job(name="render B"))
    blend = project / "shots" / "scene.blend"
    code, out, err = await tablao_submit(str(blend), "--manager", manager.url, "--json", "--after", first["id"],
                                         "--after", "render B", "--on-dependency-failure", "fail", home=tmp_path)
    assert code == 0, err
    job = json.loads(out)
    assert job["status"] == "queued" and job["waiting_on"] == 2
    assert job["activity"] == "Waiting for 'render A', 'render B'"
    status, chain = await manager.request("GET", f"/api/v3/tablao/jobs/{job['id']}/chain")
    assert status == 200 and chain["on_dependency_failure"] == "fail"
    assert [link["id"] for link in chain["depends_on"]] == [first["id"], newest["id"]]  # the newest "render B"
    assert old["id"] not in out

    code, out, err = await tablao_submit(str(blend), "--manager", manager.url, "--after", first["id"], home=tmp_path)
    assert code == 0, err
    assert "Waiting for 'render A'" in out.splitlines()


async def test_after_a_job_the_manager_does_not_have(manager, tmp_path):
    blend = tmp_path / "scene.blend"
    blend.write_bytes(b"BLENDER-v300" + bytes(100))
    code, out, err = await tablao_submit(str(blend), "--manager", manager.url, "--after", "no such job", home=tmp_path)
    assert code == 2 and out == ""
    assert one_line(err) == ("tablao submit: --after 'no such job': the Manager has no job of that name or id; "
                             "give the name or id of a job already submitted")
    await assert_no_jobs(manager)
