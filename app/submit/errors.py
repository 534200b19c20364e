"""Why a submission failed, as exceptions whose message is one line a user can act on.

Each class says which party is at fault, so front ends can map them: `tablao submit` turns
`BadInput` into exit 2, `Refused` into exit 1 and `Unreachable` into exit 3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.api.jobs import AvailableJobType


class SubmitError(Exception):
    """Base of every submission failure; `str()` is the one-line message."""

    exit_code = 1


class BadInput(SubmitError):
    """The file is missing, not a .blend, or Blender cannot open it; or a scene is unknown."""

    exit_code = 2


class Refused(SubmitError):
    """The Manager (or our check of its job type) refused the job: validation, unknown type, 4xx."""

    exit_code = 1


class UnknownJobType(Refused):
    def __init__(self, name: str, known: list[str]):
        super().__init__(f"the Manager has no job type {name!r}; it has: {', '.join(known) or 'none'}")
        self.name = name
        self.known = known


class InvalidSetting(Refused):
    """A setting value that does not parse, is unknown, or whose `eval` expression failed."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


class JobTypeChanged(Refused):
    """412: the job type changed on the Manager since it was read; `job_type` is the fresh one."""

    def __init__(self, name: str, job_type: AvailableJobType | None):
        super().__init__(f"the job type {name!r} changed on the Manager while submitting; its settings were "
                         "refreshed: check them and submit again")
        self.job_type = job_type


class Unreachable(SubmitError):
    """The Manager did not answer."""

    exit_code = 3


class BlenderFailed(SubmitError):
    """Blender could not be started or did not answer (not the file's fault)."""

    exit_code = 2
