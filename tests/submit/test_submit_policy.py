"""The farm's submit policy in `app.submit` and `tablao submit`, against a real Manager and Blender.

Before anything is uploaded, the pre-flight says which auto-run scripts and Python drivers of the
file will not run on this farm (and why), moves an output folder the farm would refuse to the shared
storage, and warns about an output folder of the artist's own that the Manager will refuse. With the
submit token, on a farm that allows scripts, there is no warning and the job's scripts do run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.api.errors import ContractError, HttpError
from app.submit import (
    Prepared,
    Refused,
    SubmitRequest,
    merge_settings,
    preflight,
    prepare,
    read_scene,
    submit_prepared,
)
from app.submit.policy import fetch_policy
from app.submit.submission import client_for, fetch_job_type, user_values
from tests.http_worker import HttpWorker
from tests.submit.conftest import make_scripted_blend, needs_blender
from tests.submit.test_submit_cli import tablao_submit

SUBMIT = "artist-submit-token-1234"


async def _jobs(manager) -> list[dict]:
    status, body = await manager.request("GET", "/api/v3/jobs")
    assert status == 200, body
    return body["jobs"]


async def _task_runs_scripts(manager) -> bool:
    """What a worker is told for the first render task: may its .blend's scripts run?"""
    worker = await HttpWorker(manager.url, name="w", task_types=["blender", "ffmpeg", "file-management"]
                              ).register_and_sign_on()
    try:
        status, task = await worker.claim()
        assert status == 200, task
    finally:
        await worker.close()
    return task["blend_scripts"]


def _nothing_uploaded(shared: Path) -> bool:
    store = shared / "file-store"
    return not store.exists() or not any(p.is_file() for p in store.rglob("*"))


@pytest.mark.slow
@needs_blender
async def test_the_preflight_names_scripts_that_will_not_run_before_uploading(manager_factory, tmp_path):
    manager = await manager_factory(shaman_enabled=True)
    blend = make_scripted_blend(tmp_path / "artist" / "rig.blend")
    request = SubmitRequest(blend, manager.url, name="rig")
    async with client_for(request) as client:
        prepared = await prepare(request, client=client)
        report = await preflight(prepared, client=client)
    assert prepared.policy is not None and not prepared.policy.blend_scripts_run
    scripts = [w for w in report.warnings if "will not run" in w]
    assert len(scripts) == 1
    assert "1 script(s) that run when the file opens (rig_ui.py)" in scripts[0]
    assert "4 Python driver(s) (Object “Cube”: location" in scripts[0]
    assert scripts[0].endswith("this farm does not run scripts stored in .blend files (auto-run scripts, "
                               "Python drivers): a render that needs them may look different from Blender "
                               "on your computer")
    assert _nothing_uploaded(tmp_path / "shared") and await _jobs(manager) == []


@pytest.mark.slow
@needs_blender
async def test_with_the_submit_token_scripts_run_and_there_is_no_warning(manager_factory, tmp_path):
    manager = await manager_factory(allow_blend_scripts=True, submit_token=SUBMIT)
    blend = make_scripted_blend(tmp_path / "artist" / "rig.blend")

    anonymous = SubmitRequest(blend, manager.url, name="rig")
    async with client_for(anonymous) as client:
        prepared = await prepare(anonymous, client=client)
    said = " ".join(prepared.warnings)
    assert "will not run" in said and "only for jobs submitted with its submit token" in said

    trusted = SubmitRequest(blend, manager.url, name="rig", access_token=SUBMIT)
    async with client_for(trusted) as client:
        prepared = await prepare(trusted, client=client)
        assert prepared.policy is not None and prepared.policy.blend_scripts_run
        assert not [w for w in prepared.warnings if "will not run" in w]
        result = await submit_prepared(prepared, client=client)
    assert [j["id"] for j in await _jobs(manager)] == [result.job.id]
    assert await _task_runs_scripts(manager) is True


@pytest.mark.slow
@needs_blender
async def test_output_outside_the_roots_goes_to_the_shared_storage(manager, project, tmp_path):
    shared = tmp_path / "shared"
    request = SubmitRequest(project / "shots" / "scene.blend", manager.url, name="first job")
    async with client_for(request) as client:
        prepared = await prepare(request, client=client)  # the Manager's own check passes too
        report = await preflight(prepared, client=client)
        assert prepared.settings["render_output_root"] == str(shared / "renders")
        assert prepared.settings["render_output_path"].startswith(f"{shared / 'renders'}/first job/")
        assert report.output == prepared.settings["render_output_path"]
        assert report.warnings == [
            f"Output goes to {shared / 'renders'}: the scene renders to {project / 'shots' / 'render'}, "
            "which this farm does not let jobs write to (set render_output_root to choose another folder "
            f"under {shared})"]
        result = await submit_prepared(prepared, client=client)
    assert result.job.status == "queued"
    assert result.job.settings["render_output_path"].startswith(f"{shared / 'renders'}/first job/")


@pytest.mark.slow
@needs_blender
async def test_the_artists_own_output_folder_is_kept_warned_about_and_refused(manager, project, tmp_path):
    elsewhere = tmp_path / "artist" / "renders"
    request = SubmitRequest(project / "shots" / "scene.blend", manager.url,
                            assignments=[f"render_output_root={elsewhere}"])
    async with client_for(request) as client:
        # What the desktop dialog does while the artist edits: read the scene, then the report.
        job_type = await fetch_job_type(client, request.job_type)
        policy = await fetch_policy(client, request.platform)
        user = user_values(request, job_type)
        blend = await read_scene(request, job_type, user, policy)
        settings = merge_settings(job_type, user, blend.evaluated, blend.implied)
        report = await preflight(Prepared(request, job_type, blend, settings, policy), client=client)
        assert settings["render_output_root"] == str(elsewhere), "the artist's value is kept"
        assert report.warnings == [
            f"The output folder {elsewhere} (render_output_root) will be refused by the Manager: it is "
            f"outside the folders this farm lets jobs write to ({tmp_path / 'shared'})"]
        with pytest.raises(Refused, match="outside the folders this Manager lets jobs write to"):
            await prepare(request, client=client)
    assert await _jobs(manager) == [] and _nothing_uploaded(tmp_path / "shared")


@pytest.mark.slow
@needs_blender
async def test_tablao_submit_prints_the_warnings_and_where_the_output_goes(manager_factory, tmp_path):
    manager = await manager_factory(allow_blend_scripts=True, submit_token=SUBMIT)
    blend = make_scripted_blend(tmp_path / "artist" / "rig.blend")
    shared = tmp_path / "shared"

    code, out, err = await tablao_submit(str(blend), "--manager", manager.url, "--set", "frames=1",
                                         home=tmp_path)
    assert code == 0, err
    lines = err.strip().splitlines()
    assert lines[0].startswith("tablao submit: warning: The scene has 1 script(s) that run when the file "
                               "opens (rig_ui.py) and 4 Python driver(s)")
    assert "only for jobs submitted with its submit token" in lines[0]
    assert lines[1].startswith(f"tablao submit: warning: Output goes to {shared / 'renders'}: the scene ")
    assert len(lines) == 2
    submitted, output, *rest = out.strip().splitlines()
    assert rest == [] or (len(rest) == 1 and rest[0].startswith("needs: ")), rest  # what the scene needs
    assert submitted.startswith("submitted job ")
    assert output.startswith(f"output: {shared / 'renders'}/rig/") and output.endswith("/######")
    assert await _task_runs_scripts(manager) is False

    code, out, err = await tablao_submit(str(blend), "--manager", manager.url, "--set", "frames=1", "--json",
                                         "--set", f"render_output_root={shared / 'shots'}",
                                         home=tmp_path, env={"TABLAO_SUBMIT_TOKEN": SUBMIT})
    assert code == 0, err
    assert err == "", "with the token and a folder on the shared storage there is nothing to warn about"
    assert json.loads(out)["settings"]["render_output_root"] == str(shared / "shots")


def test_the_token_option_takes_the_submit_token_from_the_environment(monkeypatch):
    from app.cli import build_parser

    monkeypatch.setenv("TABLAO_ACCESS_TOKEN", "access")
    monkeypatch.setenv("TABLAO_SUBMIT_TOKEN", "submit")
    assert build_parser().parse_args(["submit", "x.blend"]).token == "submit"
    assert build_parser().parse_args(["submit", "x.blend", "--token", "given"]).token == "given"
    monkeypatch.delenv("TABLAO_SUBMIT_TOKEN")
    assert build_parser().parse_args(["submit", "x.blend"]).token == "access"


class _Answers:
    """A stand-in client for a Manager that answers the policy request with `error`."""

    def __init__(self, error: Exception):
        self.error = error

    async def submit_policy(self, platform: str):
        raise self.error


async def test_a_manager_without_a_policy_means_no_policy():
    assert await fetch_policy(_Answers(HttpError(404, "no such route")), "linux") is None  # Flamenco
    assert await fetch_policy(_Answers(ContractError("odd answer")), "linux") is None
    with pytest.raises(Refused, match="did not say what it allows: forbidden"):
        await fetch_policy(_Answers(HttpError(403, "forbidden")), "linux")
