"""The one error shape of the API: `{code, message}`."""

from __future__ import annotations


class ApiError(Exception):
    """An error with an HTTP status and a message a user can act on.

    Every layer raises a subclass (or this class); one middleware turns it into
    `{"code": status, "message": message}` with that status.
    """

    status: int = 500

    def __init__(self, message: str, status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def to_json(self) -> dict:
        return {"code": self.status, "message": self.message}


class BadRequest(ApiError):
    status = 400


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PreconditionFailed(ApiError):
    status = 412


class Unprocessable(ApiError):
    status = 422


class ServiceUnavailable(ApiError):
    status = 503
