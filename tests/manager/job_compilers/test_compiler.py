"""JobCompiler behaviour: errors and their statuses, user scripts, etags, script faults."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.manager.job_compilers import (
    InvalidJobSettings,
    JobCompileError,
    JobCompiler,
    JobTypeOutdated,
    UnknownJobType,
    UnknownJobTypeSubmitted,
)

from .conftest import submitted_job

CREATED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def custom_script(body: str, label: str = "Custom", settings: str = "[]") -> str:
    return f"const JOB_TYPE = {{label: {label!r}, settings: {settings}}};\nfunction compileJob(job) {{\n{body}\n}}\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    # Make sure the change is visible even on file systems with coarse mtimes.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    return path


async def compile_custom(compiler: JobCompiler, settings: dict | None = None, **fields):
    return await compiler.compile(
        submitted_job("custom", settings or {}, **fields), job_id="j1", created=CREATED
    )


async def test_get_job_type_and_unknown(compiler: JobCompiler):
    echo = await compiler.get_job_type("echo-sleep-test")
    assert echo["label"] == "Echo Sleep Test"
    with pytest.raises(UnknownJobType, match="nope") as info:
        await compiler.get_job_type("nope")
    assert info.value.status == 404


async def test_unknown_type_on_submit_lists_known_ones(compiler: JobCompiler):
    with pytest.raises(UnknownJobTypeSubmitted) as info:
        await compiler.compile(submitted_job("nope"), job_id="j", created=CREATED)
    assert info.value.status == 400
    assert "'nope'" in info.value.message
    assert "echo-sleep-test, simple-blender-render" in info.value.message


async def test_stale_etag_is_412_and_current_or_empty_etag_passes(compiler: JobCompiler):
    etag = (await compiler.get_job_type("echo-sleep-test"))["etag"]
    job = submitted_job("echo-sleep-test", {"message": "hi"})
    with pytest.raises(JobTypeOutdated, match="refresh") as info:
        await compiler.compile(dict(job, type_etag="0" * 40), job_id="j", created=CREATED)
    assert info.value.status == 412
    assert (await compiler.compile(dict(job, type_etag=etag), job_id="j", created=CREATED)).tasks
    assert (await compiler.compile(dict(job, type_etag=""), job_id="j", created=CREATED)).tasks


async def test_settings_errors_are_400_naming_the_key(compiler: JobCompiler):
    with pytest.raises(InvalidJobSettings, match="'sleep_repeats'") as info:
        await compiler.compile(
            submitted_job("echo-sleep-test", {"message": "hi", "sleep_repeats": "many"}),
            job_id="j",
            created=CREATED,
        )
    assert info.value.status == 400 and info.value.key == "sleep_repeats"


async def test_user_script_is_picked_up_without_restart(compiler: JobCompiler, user_scripts: Path):
    assert "custom" not in [t["name"] for t in await compiler.list_job_types()]
    write(user_scripts, "custom.js", custom_script("job.addTask(author.Task('only', 'misc'));"))
    assert "custom" in [t["name"] for t in await compiler.list_job_types()]
    job = await compile_custom(compiler)
    assert [t.name for t in job.tasks] == ["only"]


async def test_user_script_overrides_bundled_one(compiler: JobCompiler, user_scripts: Path):
    bundled_etag = (await compiler.get_job_type("echo-sleep-test"))["etag"]
    write(
        user_scripts, "echo_sleep_test.js", custom_script("job.addTask(author.Task('mine', 'misc'));", "Mine")
    )
    job_type = await compiler.get_job_type("echo-sleep-test")
    assert job_type["label"] == "Mine" and job_type["etag"] != bundled_etag
    job = await compiler.compile(submitted_job("echo-sleep-test", {}), job_id="j", created=CREATED)
    assert [t.name for t in job.tasks] == ["mine"]


async def test_etag_is_stable_and_changes_with_the_job_type(
    compiler: JobCompiler, user_scripts: Path, js_engine
):
    path = write(user_scripts, "custom.js", custom_script("", settings="[{key: 'a', type: 'string'}]"))
    first = (await compiler.get_job_type("custom"))["etag"]
    assert (await compiler.get_job_type("custom"))["etag"] == first
    fresh = JobCompiler(user_scripts, engine=js_engine)
    assert (await fresh.get_job_type("custom"))["etag"] == first
    write(
        user_scripts, "custom.js", custom_script("", settings="[{key: 'a', type: 'string', required: true}]")
    )
    second = (await compiler.get_job_type("custom"))["etag"]
    assert second != first
    with pytest.raises(JobTypeOutdated):
        await compile_custom(compiler, {"a": "x"}, type_etag=first)
    assert path.exists()


async def test_edits_are_cached_until_the_file_changes(compiler: JobCompiler, user_scripts: Path, caplog):
    write(user_scripts, "custom.js", custom_script(""))
    caplog.set_level(logging.INFO, logger="app.manager.job_compilers")
    await compiler.list_job_types()
    await compiler.list_job_types()
    loads = [r for r in caplog.records if "loaded job type 'custom'" in r.getMessage()]
    assert len(loads) == 1


async def test_thrown_string_and_error_carry_the_message(compiler: JobCompiler, user_scripts: Path):
    write(user_scripts, "custom.js", custom_script("throw 'frames are missing, sorry';"))
    with pytest.raises(JobCompileError, match="frames are missing, sorry") as info:
        await compile_custom(compiler)
    assert info.value.status == 400

    write(user_scripts, "custom.js", custom_script("throw new Error('kaputt');"))
    with pytest.raises(JobCompileError, match=r"custom\.js: kaputt \(at custom\.js:3:\d+\)"):
        await compile_custom(compiler)

    write(user_scripts, "custom.js", custom_script("null.boom;"))
    with pytest.raises(JobCompileError, match="TypeError"):
        await compile_custom(compiler)


async def test_syntax_error_names_the_file_and_does_not_hide_other_types(
    compiler: JobCompiler, user_scripts: Path, caplog
):
    write(user_scripts, "broken_one.js", "const JOB_TYPE = {label: 'x', settings: [}\n")
    caplog.set_level(logging.ERROR, logger="app.manager.job_compilers")
    names = [t["name"] for t in await compiler.list_job_types()]
    assert names == ["echo-sleep-test", "simple-blender-render"]
    assert any("broken_one.js" in r.getMessage() and "SyntaxError" in r.getMessage() for r in caplog.records)
    with pytest.raises(UnknownJobType, match="broken_one.js.*SyntaxError"):
        await compiler.get_job_type("broken-one")
    with pytest.raises(JobCompileError, match="broken_one.js.*SyntaxError"):
        await compiler.compile(submitted_job("broken-one", {}), job_id="j", created=CREATED)


async def test_script_without_job_type_is_left_out(compiler: JobCompiler, user_scripts: Path):
    write(user_scripts, "nothing.js", "function compileJob(job) {}\n")
    write(user_scripts, "bad_settings.js", "const JOB_TYPE = {label: 'b', settings: [{key: 'x'}]};\n")
    names = [t["name"] for t in await compiler.list_job_types()]
    assert "nothing" not in names and "bad-settings" not in names
    with pytest.raises(UnknownJobType, match="no JOB_TYPE"):
        await compiler.get_job_type("nothing")


async def test_zero_tasks_and_duplicate_names_are_fine(compiler: JobCompiler, user_scripts: Path):
    write(user_scripts, "custom.js", custom_script(""))
    assert (await compile_custom(compiler)).tasks == []
    write(
        user_scripts,
        "custom.js",
        custom_script("job.addTask(author.Task('a', 'misc')); job.addTask(author.Task('a', 'misc'));"),
    )
    tasks = (await compile_custom(compiler)).tasks
    assert [t.name for t in tasks] == ["a", "a"] and tasks[0].uuid != tasks[1].uuid


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "const a = author.Task('a', 'misc'); const b = author.Task('b', 'misc'); a.addDependency(b); job.addTask(a);",
            'depends on task "b", which was not added',
        ),
        (
            (
                "const a = author.Task('a', 'misc'); const b = author.Task('b', 'misc');"
                "a.addDependency(b); b.addDependency(a); job.addTask(a); job.addTask(b);"
            ),
            "cycle",
        ),
        ("const a = author.Task('a', 'misc'); job.addTask(a); job.addTask(a);", "added to the job twice"),
        ("const a = author.Task('a', 'misc'); a.priority = 'high'; job.addTask(a);", "priority"),
    ],
)
async def test_bad_task_graphs_are_compile_errors(compiler: JobCompiler, user_scripts: Path, body, message):
    write(user_scripts, "custom.js", custom_script(body))
    with pytest.raises(JobCompileError, match=message):
        await compile_custom(compiler)


async def test_job_object_seen_by_the_script(compiler: JobCompiler, user_scripts: Path):
    body = """
      const t = author.Task('info', 'misc');
      t.addCommand(author.Command('echo', {
        id: job.jobID, name: job.name, type: job.jobType, priority: job.priority,
        created: job.created.toISOString(), tag: job.workerTagUUID, platform: process.platform,
        stamp: formatTimestampLocal(job.created), shaman: job.storage.shamanCheckoutID,
      }));
      job.addTask(t);
      job.settings.added = 'by script';
      job.metadata.compiled = 'yes';
      print('compiled', job.name);
      alert('careful');
    """
    write(user_scripts, "custom.js", custom_script(body))
    job = await compile_custom(
        compiler, {"x": 1}, priority=70, worker_tag="tag-uuid", storage={"shaman_checkout_id": "co/1"}
    )
    params = job.tasks[0].commands[0]["parameters"]
    assert params == {
        "id": "j1", "name": "test job", "type": "custom", "priority": 70,
        "created": "2024-05-06T07:08:09.000Z", "tag": "tag-uuid", "platform": "linux",
        "stamp": CREATED.astimezone().strftime("%Y-%m-%d_%H%M%S"), "shaman": "co/1",
    }  # fmt: skip
    assert job.settings == {"x": 1, "added": "by script"}
    assert job.metadata == {"user.name": "Tester", "compiled": "yes"}


async def test_print_and_alert_are_logged(compiler: JobCompiler, user_scripts: Path, caplog):
    write(user_scripts, "custom.js", custom_script("print('hello', 42); alert('watch out');"))
    caplog.set_level(logging.INFO, logger="app.manager.job_compilers")
    await compile_custom(compiler)
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (logging.INFO, "job type custom: hello 42") in lines
    assert (logging.WARNING, "job type custom: watch out") in lines


async def test_scripts_can_require_their_neighbours(compiler: JobCompiler, user_scripts: Path):
    write(user_scripts, "helpers.cjs", "module.exports = { taskName: () => 'from-helper' };\n")
    write(
        user_scripts,
        "custom.js",
        custom_script("job.addTask(author.Task(require('helpers.cjs').taskName(), 'misc'));"),
    )
    job = await compile_custom(compiler)
    assert [t.name for t in job.tasks] == ["from-helper"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "const a = author.Task('a', 'misc'); a.commands.push({name: 'x'}); job.addTask(a);",
            "not an author.Command",
        ),
        (
            (
                "const a = author.Task('a', 'misc'); const c = author.Command('x', {}); c.totalStepCount = 'lots';"
                "a.addCommand(c); job.addTask(a);"
            ),
            "bad step count",
        ),
        (
            (
                "const a = author.Task('a', 'misc'); const b = author.Task('b', 'misc'); b.uuid = a.uuid;"
                "job.addTask(a); job.addTask(b);"
            ),
            "share a uuid",
        ),
    ],
)
async def test_tampered_tasks_are_compile_errors(compiler: JobCompiler, user_scripts: Path, body, message):
    write(user_scripts, "custom.js", custom_script(body))
    with pytest.raises(JobCompileError, match=message):
        await compile_custom(compiler)
