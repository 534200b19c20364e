"""`farm` against a real Manager (no worker, no Blender): queries, refusals, exit codes, JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.farm.cli import EXAMPLES, build_parser
from tests.conftest import echo_job
from tests.e2e.farm import free_port, have_blender


async def _submit(manager, name: str, release: str | None = None, **meta: str) -> str:
    metadata = dict(meta)
    if release:
        metadata.update({"farm.release": release, "farm.job": name})
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(name=name, metadata=metadata))
    assert status == 200, job
    return job["id"]


async def _status(manager, job_id: str) -> str:
    _, job = await manager.request("GET", f"/api/v3/jobs/{job_id}")
    return job["status"]


async def test_kill_by_query_cancels_only_the_matching_jobs(manager, run_farm, tmp_path: Path):
    (tmp_path / "shared" / "releases" / "r1").mkdir(parents=True)
    ids = {name: await _submit(manager, name, "r1") for name in ("shot_010", "shot_020", "lookdev")}
    other = await _submit(manager, "shot_030", "r2")
    args = ("kill", "release.jobs", "release:r1 name:shot_0*", "--manager", manager.url)

    dry = await run_farm(*args, "--dry-run", "--json")
    assert dry.code == 0 and len(dry.json["to_cancel"]) == 2 and dry.json["canceled"] == []
    unasked = await run_farm(*args)  # no terminal and no --yes: refuses, cancels nothing
    assert unasked.code == 1 and "--yes" in unasked.err and len(unasked.err.strip().splitlines()) == 1
    assert {await _status(manager, i) for i in ids.values()} == {"queued"}

    done = await run_farm(*args, "--yes", "--json")
    assert done.code == 0, done.err
    assert sorted(j["job"] for j in done.json["canceled"]) == ["shot_010", "shot_020"]
    for name, job_id in ids.items():
        assert await _status(manager, job_id) in ({"canceled", "cancel-requested"} if name.startswith("shot")
                                                  else {"queued"})
    assert await _status(manager, other) == "queued"


async def test_kill_jobs_reaches_jobs_outside_releases_by_metadata(manager, run_farm):
    plain = await _submit(manager, "plain", project="spring")
    kept = await _submit(manager, "kept", project="autumn")
    result = await run_farm("kill", "jobs", "project=spring", "--yes", "--manager", manager.url)
    assert result.code == 0, result.err
    assert await _status(manager, plain) in ("canceled", "cancel-requested")
    assert await _status(manager, kept) == "queued"


async def test_bad_input_gives_one_line_and_the_documented_exit_code(manager, run_farm):
    url = ("--manager", manager.url)
    for argv, code, words in [
        (("harvest", "release", "nope", *url), 1, "unknown release 'nope'"),
        (("archive", "release", "nope", *url), 1, "unknown release 'nope'"),
        (("status", "nope", *url), 1, "unknown release 'nope'"),
        (("kill", "jobs", "colour:red", *url), 2, "unknown field 'colour'"),
        (("kill", "jobs", "name:'open", *url), 2, "does not parse"),
        (("kill", "release.jobs", "status:active", *url), 2, "needs the release"),
        (("kill", "release.jobs", "release:nope", *url), 1, "unknown release 'nope'"),
        (("replace", "job", "ghost", *url), 1, "no farm job called 'ghost'"),
        (("status", "--manager", f"http://127.0.0.1:{free_port()}"), 3, "cannot reach the Manager"),
        (("harvest", "release", "x", "--manager", "not-a-url"), 2, "not a Manager URL"),
    ]:
        result = await run_farm(*argv)
        assert result.code == code, (argv, result.err)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (argv, result.err)
    as_json = await run_farm("harvest", "release", "nope", "--json", *url)
    assert as_json.json == {"error": as_json.json["error"], "exit_code": 1}


async def test_every_verb_has_help_with_an_example(capsys):
    parser = build_parser()
    helps = []
    for argv in (["plan", "release"], ["replace", "job"], ["harvest", "release"], ["kill", "jobs"],
                 ["kill", "release.jobs"], ["seed", "job"], ["archive", "release"], ["slash-and-burn"],
                 ["status"], ["requeue"]):
        try:
            parser.parse_args([*argv, "--help"])
        except SystemExit as exc:
            assert exc.code == 0
        helps.append(capsys.readouterr().out)
    names = ("plan", "replace", "harvest", "kill", "kill", "seed", "archive", "slash-and-burn", "status",
             "requeue")
    for text, example in zip(helps, [EXAMPLES[k] for k in names], strict=True):
        assert "example:" in text and example.splitlines()[0] in text


async def test_slash_and_burn_needs_the_typed_word_and_spares_dist(manager, run_farm, tmp_path: Path):
    root = tmp_path / "shared"
    out = root / "releases" / "r1" / "out" / "a"
    out.mkdir(parents=True)
    (out / "000001.png").write_bytes(b"x")
    (root / "dist" / "r1").mkdir(parents=True)
    (root / "dist" / "r1" / "a_000001.png").write_bytes(b"x")
    job_id = await _submit(manager, "a", "r1")
    url = ("--manager", manager.url)
    dry = await run_farm("slash-and-burn", "--dry-run", "--json", *url)
    assert dry.code == 0 and dry.json["jobs"] == 1 and out.exists()
    wrong = await run_farm("slash-and-burn", "--confirm", "yes please", *url)
    assert wrong.code == 1 and out.exists() and await _status(manager, job_id) == "queued"
    token = ("--admin-token", manager.services.admin_token)  # deleting jobs is administering
    done = await run_farm("slash-and-burn", "--confirm", "slash-and-burn", *url, *token)
    assert done.code == 0, done.err
    assert not out.parent.exists() and (root / "dist" / "r1" / "a_000001.png").exists()
    status, job = await manager.request("GET", f"/api/v3/jobs/{job_id}")
    assert status == 404 or job["status"] != "queued"  # canceled, or deleted already


async def test_status_and_requeue_on_a_release_without_failures(manager, run_farm, tmp_path: Path):
    await _submit(manager, "a", "r1")
    status = await run_farm("status", "r1", "--json", "--manager", manager.url)
    assert status.code == 0, status.err
    release = status.json["releases"]["r1"]
    assert [j["job"] for j in release["jobs"]] == ["a"] and release["tasks_done"] == 0
    requeue = await run_farm("requeue", "release:r1", "--manager", manager.url, "--json")
    assert requeue.code == 0 and requeue.json["requeued"] == []



async def test_plan_without_a_name_proposes_one_and_creates_the_folders(manager, run_farm, tmp_path: Path):
    root = tmp_path / "shared"
    dry = await run_farm("plan", "release", "--dry-run", "--json", "--manager", manager.url)
    assert dry.code == 0 and dry.json["created"] and not (root / "releases").exists()
    made = await run_farm("plan", "release", "--json", "--manager", manager.url)
    assert made.code == 0, made.err
    name = made.json["release"]
    assert made.json["submitted"] == [] and name == dry.json["release"]
    assert (root / "releases" / name / "store").is_dir() and (root / "releases" / name / "out").is_dir()
    assert {p.name for p in root.iterdir()} >= {"quick", "releases", "dist", "archives"}
    assert "<job>" in (root / "releases" / name / "release.json").read_text()
    again = await run_farm("plan", "release", "--json", "--manager", manager.url)
    assert again.json["release"] == f"{name}.2"


async def test_requeue_touches_only_failed_tasks(manager, run_farm):
    from tests.http_worker import HttpWorker

    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        failed = await _submit(manager, "fails", "r1")
        _, task = await worker.claim()
        await worker.fail(task["uuid"])
        done = await _submit(manager, "works", "r1")
        while (claimed := await worker.claim())[0] == 200:
            await worker.complete(claimed[1]["uuid"])
        waiting = await _submit(manager, "waits", "r1")
    finally:
        await worker.close()
    assert [await _status(manager, j) for j in (failed, done, waiting)] == ["failed", "completed", "queued"]
    dry = await run_farm("requeue", "release:r1", "--dry-run", "--json", "--manager", manager.url)
    assert [(r["job"], r["name"]) for r in dry.json["requeued"]] == [(failed, "echo")]
    assert await _status(manager, failed) == "failed"
    result = await run_farm("requeue", "release:r1", "--json", "--manager", manager.url)
    assert result.code == 0 and [r["job"] for r in result.json["requeued"]] == [failed]
    status, task = await manager.request("GET", f"/api/v3/tasks/{result.json['requeued'][0]['task']}")
    assert task["status"] == "queued"
    assert [await _status(manager, j) for j in (done, waiting)] == ["completed", "queued"]


@pytest.mark.slow
@pytest.mark.skipif(not have_blender(), reason="needs Debian's blender")
async def test_plan_refuses_a_file_blender_cannot_read(manager, run_farm, tmp_path: Path):
    store = tmp_path / "shared" / "releases" / "r1" / "store"
    store.mkdir(parents=True)
    (store / "broken.blend").write_bytes(b"this is not a blend file")
    result = await run_farm("plan", "release", "r1", "--manager", manager.url)
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "broken.blend is not a .blend file" in lines[0], lines  # the submission core's check
    _, jobs = await manager.request("GET", "/api/v3/jobs")
    assert jobs["jobs"] == []


def test_tablao_farm_delegates_to_farm(capsys):
    from app.cli import main

    assert main(["farm", "status", "--manager", f"http://127.0.0.1:{free_port()}"]) == 3
    assert "cannot reach the Manager" in capsys.readouterr().err
    assert main(["farm", "kill", "jobs"]) == 2  # the query is missing: usage
