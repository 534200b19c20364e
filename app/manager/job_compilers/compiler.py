"""The job compiler: lists job types and turns a submitted job into tasks by running its script.

`JobCompiler` is the package's front door. On every request it re-scans the script
folders (a few `stat` calls) and re-evaluates only scripts whose file changed, so a new
or edited job type is picked up without restarting the Manager.

Broken scripts: a script that fails to load (syntax error, throws at the top level,
no usable JOB_TYPE, runs too long) is logged once per file version and left out of the
job type list, so it cannot hide the other job types. Asking for it by name gives a 404
that says why; submitting a job of that type gives a 400 with the script's error. A broken
user script that shares its name with a bundled one still replaces it: falling back to
the bundled script would silently run something the user did not ask for.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import secrets
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.api.errors import ContractError
from app.api.jobs import SubmittedJob
from app.common.jsontext import clip
from app.manager.job_compilers import loader
from app.manager.job_compilers.author import AuthoredJob, authored_job_from_script
from app.manager.job_compilers.engine import EngineFailure, JsEngine, ScriptTimeout
from app.manager.job_compilers.engine_pool import EnginePool
from app.manager.job_compilers.errors import (
    InvalidSubmittedJob,
    JobCompileError,
    JobCompileTimeout,
    JobTypeOutdated,
    UnknownJobType,
    UnknownJobTypeSubmitted,
)
from app.manager.job_compilers.job_types import JobTypeDefinitionError, available_job_type
from app.manager.job_compilers.settings import validate_settings

_log = logging.getLogger(__name__)


def manager_platform() -> str:
    """This machine's platform in Go's GOOS spelling, as Flamenco scripts expect."""
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform == "win32":
        return "windows"
    return sys.platform  # "darwin", "freebsd", ...


@dataclass(frozen=True)
class _LoadedScript:
    """A script file with its evaluated job type, or the reason it could not be used."""

    script: loader.ScriptFile
    source: str = ""
    job_type: dict[str, Any] | None = None
    error: str = ""
    retry: bool = False  # the failure was not the script's fault: try again next request


def _format_script_error(error: dict[str, Any], filename: str) -> str:
    message = str(error.get("message") or "unknown error").replace("<dukpy>", filename)
    location = str(error.get("location") or "").replace("<dukpy>", filename)
    if location:
        return f"{filename}: {message} (at {location})"
    return f"{filename}: {message}"


class JobCompiler:
    """Lists the available job types and compiles submitted jobs with their scripts.

    Scripts run in child processes (a small pool; one script per job type at a time, so a slow
    job type delays only its own submissions) and are stopped after `timeout_s`.
    `user_scripts_dir` is the `scripts/` folder beside the Manager's config file (it
    need not exist). `platform` is what scripts see as `process.platform`.
    """

    def __init__(
        self,
        user_scripts_dir: Path | None,
        timeout_s: float = 5.0,
        platform: str | None = None,
        *,
        engine: JsEngine | None = None,
        bundled_scripts_dir: Path = loader.BUNDLED_SCRIPTS_DIR,
    ):
        self._user_dir = user_scripts_dir
        self._bundled_dir = bundled_scripts_dir
        self._timeout_s = timeout_s
        self._platform = platform or manager_platform()
        self._owns_engine = engine is None
        self._engine: JsEngine = engine if engine is not None else EnginePool()
        self._cache: dict[Path, _LoadedScript] = {}

    # ---- public API -----------------------------------------------------------------------

    async def list_job_types(self) -> list[dict[str, Any]]:
        """All usable job types as AvailableJobType dicts, sorted by name."""
        loaded = await self._refresh()
        return [copy.deepcopy(item.job_type) for _, item in sorted(loaded.items()) if item.job_type]

    async def get_job_type(self, name: str) -> dict[str, Any]:
        """One AvailableJobType dict; raises `UnknownJobType` (404) if there is no usable one."""
        loaded = await self._refresh()
        item = loaded.get(name)
        if item is None or item.job_type is None:
            reason = f"its script cannot be used: {item.error}" if item is not None else ""
            raise UnknownJobType(name, _usable_names(loaded), reason)
        return copy.deepcopy(item.job_type)

    async def compile(self, submitted: SubmittedJob | dict[str, Any], *, job_id: str,
                      created: datetime) -> AuthoredJob:
        """Run the job type's `compileJob()` on a SubmittedJob (a dict is decoded into one first).

        `created` is the job's creation time (a naive datetime is taken as UTC); scripts
        see it as `job.created`. Raises `UnknownJobTypeSubmitted`, `JobTypeOutdated`,
        `InvalidJobSettings`, `InvalidSubmittedJob`, `JobCompileError` or `JobCompileTimeout`.
        """
        if not isinstance(submitted, SubmittedJob):
            try:
                submitted = SubmittedJob.from_json(submitted)
            except ContractError as exc:
                raise InvalidSubmittedJob(str(exc)) from None
        type_name = submitted.type
        # Load only this type's script if it changed: another type's slow script must not delay it.
        item = (await self._refresh(only=type_name)).get(type_name)
        if item is None:
            raise UnknownJobTypeSubmitted(type_name, _usable_names(await self._refresh()))
        if item.job_type is None:
            raise JobCompileError(f"job type {type_name!r} cannot be used: {item.error}")
        if submitted.type_etag and submitted.type_etag != item.job_type["etag"]:
            raise JobTypeOutdated(type_name)

        settings = validate_settings(item.job_type["settings"], submitted.settings)
        job_input = _job_input(submitted, settings, job_id, created)
        started = time.perf_counter()
        result = await self._run(item, "compile", job=job_input)
        if not result.get("ok"):
            message = _format_script_error(result.get("error") or {}, item.script.path.name)
            if _out_of_memory(result.get("error") or {}):
                message = _too_large_message(item.script.path.name)
            _log.info("job type %s failed to compile job %s: %s", type_name, job_id, clip(message, 500))
            raise JobCompileError(message)
        float_keys = frozenset(s["key"] for s in item.job_type["settings"] if s["type"] == "float")
        job = await asyncio.to_thread(authored_job_from_script, result["job"], float_keys)
        _log.info(
            "compiled job %s of type %s: %d tasks in %.0f ms",
            job_id, type_name, len(job.tasks), 1000 * (time.perf_counter() - started),
        )  # fmt: skip
        return job

    async def close(self) -> None:
        """Stop the child process, if this compiler started it."""
        if self._owns_engine:
            await self._engine.close()

    # ---- running scripts ----------------------------------------------------------------------

    async def _run(self, item: _LoadedScript, op: str, **kwargs: Any) -> dict[str, Any]:
        env = {"platform": self._platform, "cwd": os.getcwd(), "seed": secrets.token_hex(16)}
        filename = item.script.path.name
        try:
            result = await self._engine.run(
                op,
                self._timeout_s,
                lane=item.script.name,
                source=item.source,
                filename=filename,
                env=env,
                search_dirs=loader.search_dirs(self._user_dir, self._bundled_dir),
                **kwargs,
            )
        except ScriptTimeout:
            raise JobCompileTimeout(
                f"job type script {filename} took too long (more than {self._timeout_s:g} s) and was"
                " stopped; if the job is very large (tens of thousands of tasks), split it into"
                " smaller jobs, otherwise check the script for an endless loop"
            ) from None
        except EngineFailure as exc:
            raise JobCompileError(f"job type script {filename} could not be run: {exc}") from None
        _log_printed(item.script.name, result.get("printed") or [])
        return result

    # ---- loading scripts ------------------------------------------------------------------------

    async def _refresh(self, only: str | None = None) -> dict[str, _LoadedScript]:
        """Current scripts by job type name, (re)evaluating those whose file changed.

        With `only`, just that job type is (re)evaluated; others that changed are left out.
        """
        scripts = await asyncio.to_thread(loader.scan_scripts, self._user_dir, self._bundled_dir)
        loaded: dict[str, _LoadedScript] = {}
        for name, script in scripts.items():
            cached = self._cache.get(script.path)
            if cached is None or cached.script.stamp != script.stamp:
                if only is not None and name != only:
                    continue
                cached = await self._load(script)
            loaded[name] = cached
        if only is None:
            self._cache = {item.script.path: item for item in loaded.values() if not item.retry}
        else:
            # Concurrent refreshes: keep what others cached meanwhile, update this one type.
            current = {path: item for path, item in self._cache.items() if item.script.name != only}
            current.update({i.script.path: i for i in loaded.values() if i.script.name == only and not i.retry})
            self._cache = current
        return loaded

    async def _load(self, script: loader.ScriptFile) -> _LoadedScript:
        try:
            source = (await asyncio.to_thread(loader.read_script, script)).text
        except (OSError, UnicodeDecodeError) as exc:
            return self._broken(_LoadedScript(script), f"cannot read {script.path}: {exc}")
        item = _LoadedScript(script, source)
        try:
            result = await self._run(item, "describe")
        except JobCompileTimeout as exc:
            return self._broken(item, exc.message)
        except JobCompileError as exc:  # the engine failed, not the script
            return replace(self._broken(item, exc.message), retry=True)
        if not result.get("ok"):
            return self._broken(item, _format_script_error(result.get("error") or {}, script.path.name))
        try:
            job_type = available_job_type(script.name, result.get("jobType"))
        except JobTypeDefinitionError as exc:
            return self._broken(item, f"{script.path.name}: bad JOB_TYPE: {exc}")
        _log.info("loaded job type %r from %s", script.name, script.path)
        return _LoadedScript(script, source, job_type)

    @staticmethod
    def _broken(item: _LoadedScript, error: str) -> _LoadedScript:
        _log.error("job type script %s is unusable, leaving it out: %s", item.script.path, error)
        return _LoadedScript(item.script, item.source, None, error)


def _out_of_memory(error: dict[str, Any]) -> bool:
    # The JS heap has a fixed ceiling (about 50,000 tasks of a simple job type); past it QuickJS
    # reports "out of memory", or throws plain `null` when even that error cannot be built.
    text = str(error.get("message") or "").strip()
    return "out of memory" in text or text == "null"


def _too_large_message(filename: str) -> str:
    return (f"this job is too large to compile in one submission: job type script {filename} ran out "
            "of memory while making its tasks (the limit is around 50,000 tasks). Make fewer tasks: "
            "split it into smaller jobs, or for a render use a larger chunk size or part of the frame "
            "range per job")


def _usable_names(loaded: dict[str, _LoadedScript]) -> list[str]:
    return sorted(name for name, item in loaded.items() if item.job_type is not None)


def _log_printed(job_type: str, printed: list[dict[str, str]]) -> None:
    for line in printed:
        level = logging.WARNING if line.get("level") == "warning" else logging.INFO
        _log.log(level, "job type %s: %s", job_type, line.get("text", ""))


def _job_input(
    submitted: SubmittedJob, settings: dict[str, Any], job_id: str, created: datetime
) -> dict[str, Any]:
    """The plain-JSON view of the job that the prelude turns into the script's `job` object."""
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return {
        "jobID": job_id,
        "name": submitted.name,
        "jobType": submitted.type,
        "priority": submitted.priority,
        "status": str(submitted.initial_status or "queued"),
        "createdMs": created.timestamp() * 1000,
        "settings": settings,
        "metadata": dict(submitted.metadata),
        "workerTagUUID": submitted.worker_tag or "",
        "submitterPlatform": submitted.submitter_platform,
        "shamanCheckoutID": (submitted.storage and submitted.storage.shaman_checkout_id) or "",
    }
