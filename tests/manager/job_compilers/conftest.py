"""Fixtures for job compiler tests: one compiler child process shared by the whole session.

Starting the child costs a few hundred milliseconds, so tests share one engine; each test
gets its own `JobCompiler` (and thus its own script cache) on top of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.manager.job_compilers import JobCompiler
from app.manager.job_compilers.engine import ProcessJsEngine


@pytest.fixture(scope="session")
def js_engine() -> Iterator[ProcessJsEngine]:
    engine = ProcessJsEngine()
    yield engine
    asyncio.run(engine.close())


@pytest.fixture
def user_scripts(tmp_path: Path) -> Path:
    folder = tmp_path / "scripts"
    folder.mkdir()
    return folder


@pytest.fixture
def compiler(js_engine: ProcessJsEngine, user_scripts: Path) -> JobCompiler:
    # A generous limit: big jobs take seconds on a slow CI machine. The timeout itself is
    # tested in test_timeouts.py with compilers of its own.
    return JobCompiler(user_scripts, timeout_s=60.0, platform="linux", engine=js_engine)


def blender_settings(**overrides) -> dict:
    settings = {
        "blendfile": "/render/sf/jobs/scene123.flamenco.blend",
        "render_output_root": "/render/sf/frames",
        "add_path_components": 0,
        "render_output_path": "/render/sf/frames/scene123/{timestamp}/######",
        "frames": "1-10",
        "chunk_size": 3,
        "fps": 24.0,
        "format": "PNG",
        "has_previews": False,
        "image_file_extension": ".png",
        "scene": "Scene",
    }
    settings.update(overrides)
    return settings


def submitted_job(job_type: str = "simple-blender-render", settings: dict | None = None, **fields) -> dict:
    job = {
        "name": "test job",
        "type": job_type,
        "priority": 50,
        "submitter_platform": "linux",
        "settings": blender_settings() if settings is None else settings,
        "metadata": {"user.name": "Tester"},
    }
    job.update(fields)
    return job
