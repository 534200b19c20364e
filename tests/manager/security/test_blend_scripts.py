"""Python inside a submitted .blend runs on the workers only when the farm says so, never for strangers.

Driven over real HTTP: a job is submitted (anonymously, or with a token), a registered worker claims
its render task, and the test reads what the worker was told to run. Blender's auto-run switch must be
off (`--disable-autoexec` before the file, no `-y` anywhere) unless the Manager's `allow_blend_scripts`
is on AND the job was submitted with the access, submit or admin token.
"""

from __future__ import annotations

import pytest

from app.manager.jobs.blend_scripts import without_blend_scripts
from tests.http_worker import HttpWorker

SUBMIT = "artist-submit-token"


def _render_job(tmp_path) -> dict:
    out = tmp_path / "shared" / "out"
    return {"name": "shot", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
            "settings": {"frames": "1", "chunk_size": 1, "render_output_root": str(out),
                         "add_path_components": 0, "render_output_path": str(out / "######"),
                         "blendfile": str(tmp_path / "shared" / "shot.blend"), "fps": 24.0, "format": "PNG",
                         "image_file_extension": ".png", "has_previews": False, "scene": "Scene"}}


async def _render_command(manager, tmp_path, headers=None) -> tuple[dict, dict]:
    status, job = await manager.request("POST", "/api/v3/jobs", json=_render_job(tmp_path), headers=headers or {})
    assert status == 200, job
    worker = await HttpWorker(manager.url, name="w", task_types=["blender", "ffmpeg", "file-management"]
                              ).register_and_sign_on()
    try:
        status, task = await worker.claim()
        assert status == 200, task
    finally:
        await worker.close()
    render = next(c for c in task["commands"] if c["name"] == "blender-render")
    return task, render["parameters"]


def _argv_before_file(params: dict) -> list[str]:
    return params["exeArgs"].split() + params["argsBefore"]


def _scripts_off(task: dict, params: dict) -> bool:
    before = _argv_before_file(params)
    everything = before + params["args"]
    return (task["blend_scripts"] is False and before[-1] == "--disable-autoexec"
            and not {"-y", "--enable-autoexec"} & set(everything))


async def test_an_anonymous_job_never_runs_blend_scripts_by_default(manager, tmp_path):
    assert manager.cfg.variables["blenderArgs"]["values"][0]["value"] == "-b -y"  # Flamenco's default
    task, params = await _render_command(manager, tmp_path)
    assert _scripts_off(task, params), params


async def test_allowing_scripts_does_not_apply_to_anonymous_jobs(manager_factory, tmp_path):
    manager = await manager_factory(allow_blend_scripts=True, submit_token=SUBMIT)
    task, params = await _render_command(manager, tmp_path)
    assert _scripts_off(task, params), params


@pytest.mark.parametrize("who", ["submit token", "admin token", "access token"])
async def test_allowed_scripts_run_for_jobs_submitted_with_a_credential(manager_factory, tmp_path, who):
    access = "studio-access" if who == "access token" else ""
    manager = await manager_factory(allow_blend_scripts=True, submit_token=SUBMIT, access_token=access)
    headers = {"submit token": {"Authorization": f"Bearer {SUBMIT}"}, "admin token": manager.admin_headers,
               "access token": {"Authorization": f"Bearer {access}"}}[who]
    task, params = await _render_command(manager, tmp_path, headers)
    assert task["blend_scripts"] is True
    assert "-y" in _argv_before_file(params) and "--disable-autoexec" not in _argv_before_file(params)


async def test_a_wrong_token_is_anonymous(manager_factory, tmp_path):
    manager = await manager_factory(allow_blend_scripts=True, submit_token=SUBMIT)
    task, params = await _render_command(manager, tmp_path, {"Authorization": "Bearer not-the-token"})
    assert _scripts_off(task, params), params


async def test_switching_the_setting_off_applies_to_jobs_already_queued(manager_factory, tmp_path):
    manager = await manager_factory(allow_blend_scripts=True, submit_token=SUBMIT)
    status, job = await manager.request("POST", "/api/v3/jobs", json=_render_job(tmp_path),
                                        headers={"Authorization": f"Bearer {SUBMIT}"})
    assert status == 200
    status, cfg = await manager.request("GET", "/api/v3/configuration/file", admin=True)
    status, answer = await manager.request("PUT", "/api/v3/configuration/file",
                                           json={**cfg, "allow_blend_scripts": False}, admin=True)
    assert status == 204, answer
    worker = await HttpWorker(manager.url, name="w", task_types=["blender"]).register_and_sign_on()
    try:
        status, task = await worker.claim()
    finally:
        await worker.close()
    params = next(c for c in task["commands"] if c["name"] == "blender-render")["parameters"]
    assert _scripts_off(task, params), params


async def test_the_submit_token_passes_the_access_token_check_on_open_routes_only(manager_factory):
    manager = await manager_factory(access_token="studio-access", submit_token=SUBMIT)
    bearer = {"Authorization": f"Bearer {SUBMIT}"}
    status, _ = await manager.request("GET", "/api/v3/jobs", headers=bearer)
    assert status == 200
    status, answer = await manager.request("GET", "/api/v3/configuration/file", headers=bearer)
    assert status in (401, 403), answer


def test_without_blend_scripts_leaves_other_commands_and_windows_paths_alone():
    commands = [
        {"name": "blender-render", "parameters": {
            "exe": "C:\\Blender\\blender.exe", "exeArgs": "-b -y --python C:\\pipe\\setup.py",
            "argsBefore": ["--enable-autoexec"], "blendfile": "S:\\shot.blend", "args": ["-y", "-f", "1"]}},
        {"name": "frames-to-video", "parameters": {"exe": "ffmpeg", "args": ["-y"]}},
    ]
    render, video = without_blend_scripts(commands)
    assert render["parameters"]["exeArgs"] == "-b --python C:\\pipe\\setup.py"
    assert render["parameters"]["argsBefore"] == ["--disable-autoexec"]
    assert render["parameters"]["args"] == ["-f", "1"]
    assert video == commands[1]  # ffmpeg's -y means "overwrite", not scripts
    assert commands[0]["parameters"]["argsBefore"] == ["--enable-autoexec"]  # the input is not changed


async def test_the_submit_policy_says_per_caller_whether_scripts_run(manager_factory):
    manager = await manager_factory(allow_blend_scripts=True, submit_token=SUBMIT)
    status, policy = await manager.request("GET", "/api/v3/tablao/submit-policy")
    assert status == 200 and policy["blend_scripts_run"] is False
    assert "submit token" in policy["blend_scripts_reason"]
    assert policy["output_roots"] == [manager.cfg.shared_storage_path]
    assert policy["output_denied"] == [f"{manager.cfg.shared_storage_path}/file-store"]
    status, policy = await manager.request("GET", "/api/v3/tablao/submit-policy",
                                           headers={"Authorization": f"Bearer {SUBMIT}"})
    assert policy["blend_scripts_run"] is True


async def test_the_submit_policy_by_default_and_per_platform(manager_factory):
    variables = {"store": {"is_twoway": True, "values": [{"platform": "linux", "value": "/mnt/farm"},
                                                         {"platform": "windows", "value": "F:\\farm"}]}}
    manager = await manager_factory(variables=variables)
    status, policy = await manager.request("GET", "/api/v3/tablao/submit-policy", params={"platform": "windows"})
    assert status == 200, policy
    assert policy["blend_scripts_run"] is False and "does not run" in policy["blend_scripts_reason"]
    assert "F:\\farm" in policy["output_roots"]
    status, _ = await manager.request("GET", "/api/v3/tablao/submit-policy", params={"platform": "x" * 100})
    assert status == 400


SETUP = "/api/v3/configuration/setup-assistant"


async def test_the_setup_assistant_turns_scripts_on_with_a_submit_token(manager, tmp_path):
    from app.manager.settings.config import load_config

    body = {"storageLocation": str(tmp_path / "shared"), "blenderExecutable": {"source": "default"}}
    status, answer = await manager.request("POST", SETUP, json={**body, "allowBlendScripts": True,
                                                                "submitToken": SUBMIT}, admin=True)
    assert status == 204, answer
    saved = load_config(manager.cfg.path)
    assert saved.allow_blend_scripts is True and saved.submit_token == SUBMIT
    # Applied at once, and kept when the running config is saved before the restart (as the wizard's
    # variables are, right after the setup).
    status, policy = await manager.request("GET", "/api/v3/tablao/submit-policy",
                                           headers={"Authorization": f"Bearer {SUBMIT}"})
    assert policy["blend_scripts_run"] is True
    status, current = await manager.request("GET", "/api/v3/tablao/variables", admin=True)
    status, _ = await manager.request("PUT", "/api/v3/tablao/variables", json=current, admin=True)
    assert status == 200
    saved = load_config(manager.cfg.path)
    assert saved.allow_blend_scripts is True and saved.submit_token == SUBMIT


@pytest.mark.parametrize("extra, words", [
    ({"allowBlendScripts": "yes"}, "`allowBlendScripts` must be true or false"),
    ({"submitToken": 12345678901234567}, "`submitToken` must be a string"),
    ({"submitToken": "short"}, "16 to 200"),
    ({"submitToken": "has spaces in the middle of it"}, "no spaces"),
    ({"submitToken": "x" * 201}, "16 to 200"),
    ({"submitToken": "line\nbreak-in-the-token"}, "16 to 200"),
])
async def test_the_setup_assistant_refuses_a_bad_scripts_choice_and_saves_nothing(manager, tmp_path, extra, words):
    before = manager.cfg.path.read_text()
    body = {"storageLocation": str(tmp_path / "shared"), "blenderExecutable": {"source": "default"}, **extra}
    status, answer = await manager.request("POST", SETUP, json=body, admin=True)
    assert status == 400 and words in answer["message"], answer
    assert manager.cfg.path.read_text() == before
    status, answer = await manager.request("POST", SETUP, json={**body, "submitToken": SUBMIT,
                                                                "allowBlendScripts": True})
    assert status == 401, "only the admin may turn scripts on"


async def test_a_submit_token_that_cannot_work_is_refused_in_the_configuration_too(manager):
    status, raw = await manager.request("GET", "/api/v3/configuration/file", admin=True)
    assert status == 200
    status, answer = await manager.request("PUT", "/api/v3/configuration/file",
                                           json={**raw, "submit_token": "abc"}, admin=True)
    assert status == 400 and "16 to 200" in answer["message"], answer
    status, _ = await manager.request("PUT", "/api/v3/configuration/file",
                                      json={**raw, "submit_token": SUBMIT, "allow_blend_scripts": True}, admin=True)
    assert status == 204
    assert manager.services.settings.config.submit_token == SUBMIT
