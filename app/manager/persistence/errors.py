"""Errors raised by the persistence layer; driver exceptions never leak past it."""

from __future__ import annotations

from app.api.errors import ApiError, NotFound, ServiceUnavailable

__all__ = ["DatabaseBusy", "IntegrityProblem", "NotFound", "StoreError", "StoreUnavailable"]


class DatabaseBusy(ServiceUnavailable):
    """The database is locked for longer than the busy timeout; the client should retry."""

    def __init__(self, message: str = "the database is busy, try again in a moment"):
        super().__init__(message, headers={"Retry-After": "1"})


class IntegrityProblem(Exception):
    """The database failed its integrity check; the Manager must not run on it."""


class StoreUnavailable(Exception):
    """The database cannot be opened at start-up; the message says what to fix."""


class StoreError(ApiError):
    status = 500
