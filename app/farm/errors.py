"""The errors of `farm`, each with the exit code it ends the command with.

0 done, 1 refused or incomplete, 2 usage (a bad argument or query), 3 Manager unreachable.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


class FarmError(Exception):
    """A failure the command reports in one line and ends with `exit_code`."""

    exit_code = EXIT_REFUSED

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Refused(FarmError):
    """The farm will not do it now (a release still renders, frames are missing, no such release)."""

    exit_code = EXIT_REFUSED


class UsageError(FarmError):
    """The command line or a query does not make sense."""

    exit_code = EXIT_USAGE


class Unreachable(FarmError):
    """The Manager did not answer."""

    exit_code = EXIT_UNREACHABLE
