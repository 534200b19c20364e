"""Errors of the job compiler, each an `ApiError` so the web layer maps it to a status code.

| class                      | status | when                                                    |
|----------------------------|--------|---------------------------------------------------------|
| `UnknownJobType`           | 404    | asking for a job type that does not exist               |
| `UnknownJobTypeSubmitted`  | 400    | submitting a job of a type that does not exist          |
| `JobTypeOutdated`          | 412    | the submitted `type_etag` is not the current one        |
| `InvalidJobSettings`       | 400    | a setting is missing, of the wrong type, or not a choice|
| `JobCompileError`          | 400    | the script failed (threw, syntax error, bad output)     |
| `JobCompileTimeout`        | 400    | the script ran longer than the time limit               |
"""

from __future__ import annotations

from collections.abc import Iterable

from app.api.errors import BadRequest, NotFound, PreconditionFailed


def _known_list(known: Iterable[str]) -> str:
    names = sorted(known)
    return ", ".join(names) if names else "(none)"


class UnknownJobType(NotFound):
    """The requested job type is not known to this Manager (404)."""

    def __init__(self, name: str, known: Iterable[str] = (), reason: str = ""):
        message = f"unknown job type {name!r}"
        if reason:
            message += f": {reason}"
        super().__init__(f"{message}; known job types: {_known_list(known)}")
        self.job_type = name


class UnknownJobTypeSubmitted(BadRequest):
    """A job was submitted with a job type this Manager does not know (400)."""

    def __init__(self, name: str, known: Iterable[str] = ()):
        super().__init__(
            f"job type {name!r} is not known to this Manager; known job types: {_known_list(known)}"
        )
        self.job_type = name


class JobTypeOutdated(PreconditionFailed):
    """The submitter's copy of the job type is stale (412)."""

    def __init__(self, name: str):
        super().__init__(
            f"job type {name!r} changed on the Manager since it was fetched; refresh the job types "
            "from the Manager (in Blender: 'Refresh from Manager') and submit again"
        )
        self.job_type = name


class InvalidJobSettings(BadRequest):
    """A job setting failed validation against the job type (400). `key` names the setting."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"job setting {key!r} {problem}")
        self.key = key


class JobCompileError(BadRequest):
    """The job-type script could not compile the job (400); `message` carries the script's own message."""


class JobCompileTimeout(JobCompileError):
    """The job-type script did not finish within the time limit and was stopped (400)."""


class InvalidSubmittedJob(BadRequest):
    """The submitted job itself (not its settings) is malformed (400)."""
