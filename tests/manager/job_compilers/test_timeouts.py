"""Runaway scripts are stopped, with a clear error, while the event loop keeps running."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.manager.job_compilers import JobCompiler, JobCompileTimeout

from .conftest import submitted_job

CREATED = datetime(2024, 5, 6, tzinfo=UTC)
FOREVER = """const JOB_TYPE = {label: 'Forever', settings: []};
function compileJob(job) { while (true) {} }
"""


async def ticker(counter: list[int]) -> None:
    while True:
        await asyncio.sleep(0.05)
        counter[0] += 1


@pytest.mark.slow  # waits out the 5 s limit
async def test_default_limit_stops_an_endless_script_within_5_s(user_scripts: Path, js_engine):
    (user_scripts / "forever.js").write_text(FOREVER)
    compiler = JobCompiler(user_scripts, platform="linux", engine=js_engine)  # default timeout_s=5.0
    await compiler.list_job_types()  # load outside the timed part

    ticks = [0]
    ticking = asyncio.create_task(ticker(ticks))
    started = time.monotonic()
    with pytest.raises(JobCompileTimeout, match="forever.js took too long") as info:
        await compiler.compile(submitted_job("forever", {}), job_id="j", created=CREATED)
    elapsed = time.monotonic() - started
    ticking.cancel()

    assert 4.5 <= elapsed < 6.0
    assert info.value.status == 400
    assert ticks[0] >= 50, "the event loop was blocked while the script ran"

    # The compiler recovers: a fresh child process takes the next request.
    job = await compiler.compile(
        submitted_job("echo-sleep-test", {"message": "after"}), job_id="j", created=CREATED
    )
    assert [t.name for t in job.tasks] == ["echo", "sleep"]


async def test_short_limit_and_repeated_timeouts(user_scripts: Path, js_engine):
    (user_scripts / "forever.js").write_text(FOREVER)
    compiler = JobCompiler(user_scripts, timeout_s=0.5, platform="linux", engine=js_engine)
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(JobCompileTimeout):
            await compiler.compile(submitted_job("forever", {}), job_id="j", created=CREATED)
        assert time.monotonic() - started < 2.0
    assert [t["name"] for t in await compiler.list_job_types()] == [
        "echo-sleep-test",
        "forever",
        "simple-blender-render",
    ]


async def test_endless_top_level_code_is_skipped_once_and_remembered(user_scripts: Path, js_engine):
    (user_scripts / "hangs.js").write_text("while (true) {}\nconst JOB_TYPE = {label: 'x', settings: []};\n")
    compiler = JobCompiler(user_scripts, timeout_s=0.5, platform="linux", engine=js_engine)
    assert [t["name"] for t in await compiler.list_job_types()] == [
        "echo-sleep-test",
        "simple-blender-render",
    ]
    started = time.monotonic()
    await compiler.list_job_types()
    assert time.monotonic() - started < 0.4, "a script that timed out is not retried until it changes"


async def test_cancelled_compile_does_not_confuse_the_next_one(user_scripts: Path, js_engine):
    (user_scripts / "forever.js").write_text(FOREVER)
    compiler = JobCompiler(user_scripts, timeout_s=5.0, platform="linux", engine=js_engine)
    await compiler.list_job_types()
    runaway = asyncio.create_task(compiler.compile(submitted_job("forever", {}), job_id="j", created=CREATED))
    await asyncio.sleep(0.3)
    runaway.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runaway
    job = await compiler.compile(
        submitted_job("echo-sleep-test", {"message": "x"}), job_id="j", created=CREATED
    )
    assert [t.name for t in job.tasks] == ["echo", "sleep"]


async def test_own_engine_is_started_and_closed(user_scripts: Path):
    compiler = JobCompiler(user_scripts, timeout_s=2.0)
    try:
        job = submitted_job("echo-sleep-test", {"message": "x"})
        assert (await compiler.compile(job, job_id="j", created=CREATED)).tasks
    finally:
        await compiler.close()
    await compiler.close()  # closing twice is harmless
