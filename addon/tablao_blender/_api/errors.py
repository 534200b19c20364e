"""The one error shape of the API, `{code, message}`, and the one error family of its clients.

Server side: every layer raises `ApiError` (or a subclass); one middleware turns it into
`{"code": status, "message": message}` with that status.

Client side: every client of a Manager (the dashboard's `ManagerClient`, the worker's client, the
Shaman client) raises a `ClientError`:

* `ManagerUnreachable`: no answer (connection refused, reset, timeout); retrying later may work.
* `HttpError`: the Manager answered with an error status; carries its status and `{code, message}`.
* `ContractError`: the Manager answered, but the answer breaks the wire contract.
* `ClientClosed`: the client was closed; it makes no new connection (each would be left open).
"""

from __future__ import annotations

from typing import Any


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

    def to_json(self) -> dict[str, Any]:
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


# --- the client side -----------------------------------------------------------------------------


class ClientError(Exception):
    """Base of every failure a Manager client reports."""


class ManagerUnreachable(ClientError):
    """The Manager did not answer (refused, reset, timed out); retrying later may work."""


class ClientClosed(ClientError):
    """A request on a client that was closed: a task that outlived its window or its connection.
    Closing ends the client's connections for good; one opened again afterwards would never be
    closed (its owner thinks it is done), so none is."""


class HttpError(ClientError, ApiError):
    """The Manager answered with an error status: `status`, and its `{code, message}` in words.

    Also an `ApiError`, so code that shows an `ApiError`'s message shows the Manager's own words.
    """

    def __init__(self, status: int, message: str, code: int | None = None):
        ApiError.__init__(self, message or f"HTTP {status}", status=status)
        self.code = status if code is None else code

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.message}"


class ContractError(ClientError, ValueError):
    """The Manager's answer does not fit the wire contract (a missing field, a wrong type, not JSON)."""
