"""The worker's client of the Manager's worker endpoints (`/api/v3/worker/...`).

On the shared `app.api.transport.Transport` (session, timeouts, HTTP Basic auth with the worker's id
and secret, the Tablao long-poll header). Failures are the client error family of `app.api.errors`,
read the way a worker needs them:

* `ManagerUnreachable`: connection errors, timeouts and 5xx answers; worth retrying later.
* `AuthRejected`: 401/403; the Manager does not know these credentials.
* `ManagerRejected`: any other unexpected status or a malformed answer; an `HttpError`.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sys
import time
from dataclasses import dataclass
from typing import Any, Self

from app import __version__
from app.api.enums import WorkerStatus
from app.api.errors import ContractError, HttpError, ManagerUnreachable
from app.api.headers import API_PREFIX, TABLAO_PREFIX, WAIT_HEADER
from app.api.models import (
    AssignedTask,
    MayKeepRunning,
    WireFormatError,
    WorkerRegistration,
    WorkerSignOn,
    WorkerStateChanged,
)
from app.api.requirements import WorkerFacts
from app.api.transport import LONG_POLL_MARGIN_S, Transport
from app.api.workers import TablaoWorkerVitalsReport
from app.common.manager_proof import KEY_FIELD, valid_key
from app.worker.config import Credentials
from app.worker.manager_check import Verdict, check_manager

_log = logging.getLogger(__name__)

_WORKER = f"{API_PREFIX}/worker"

__all__ = ["AuthRejected", "ManagerRejected", "ManagerUnreachable", "NotSignedOn", "SignedOn", "TaskOffer",
           "WorkerClient"]


class ManagerRejected(HttpError):
    """The Manager answered with a status this call does not expect (or an answer that breaks the contract)."""

    def __init__(self, status: int, message: str):
        super().__init__(status, message)


class AuthRejected(ManagerRejected):
    """The Manager refused the worker's credentials (401/403)."""


class NotSignedOn(ManagerUnreachable):
    """No credentials yet (before registration/sign-on); like an outage, retrying later will work."""


def platform_name() -> str:
    """The platform name the Manager expects: linux, windows or darwin (like Go's GOOS)."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "darwin"
    if sys.platform.startswith("linux"):
        return "linux"
    return sys.platform


def new_secret() -> str:
    """A fresh worker secret: 32 random bytes, hex-encoded."""
    return secrets.token_hex(32)


@dataclass(frozen=True)
class SignedOn:
    """The answer to a sign-on: the status the Manager wants, and the worker's key when it gives one."""

    status: WorkerStatus
    manager_key: str = ""


@dataclass(frozen=True)
class TaskOffer:
    """The answer to "give me a task": exactly one of the fields says what happened."""

    task: AssignedTask | None = None
    #: 423: the worker must go to this status instead of working.
    status_requested: WorkerStatus | None = None
    #: 409: the Manager does not consider this worker awake.
    not_awake: bool = False


class WorkerClient:
    """Async client for one Manager. Use `async with` or call `close()`."""

    def __init__(self, manager_url: str, credentials: Credentials | None = None):
        self.credentials = credentials
        self.transport = Transport(manager_url, worker_auth=self._auth, user_agent=f"Tablao-Worker/{__version__}")
        #: `time.monotonic()` of the first failure since the Manager last answered; None while it answers.
        self.unreachable_since: float | None = None

    def move_to(self, manager_url: str) -> None:
        """Send every request from now on to the Manager at `manager_url` (it was found again there)."""
        self.transport.base_url = manager_url.rstrip("/")
        self.unreachable_since = None

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    def _auth(self) -> tuple[str, str] | None:
        creds = self.credentials
        return None if creds is None else (creds.worker_id, creds.worker_secret)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.transport.close()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        wait_s: float | None = None,
        auth: bool = True,
        prefix: str = _WORKER,
    ) -> tuple[int, Any]:
        """Do one request; return (status, decoded JSON body or None). 5xx/network → ManagerUnreachable."""
        hdrs = dict(headers or {})
        timeout = None
        if wait_s is not None:
            hdrs[WAIT_HEADER] = str(int(wait_s))
            timeout = self.transport.timeout(wait_s + LONG_POLL_MARGIN_S)
        if auth and self.credentials is None:
            raise NotSignedOn(f"{method} {path}: worker has no credentials yet")
        try:
            reply = await self.transport.send(method, prefix + path, json_body=json, data=data, headers=hdrs,
                                              worker=auth, timeout=timeout)
        except ContractError as exc:
            raise ManagerRejected(200, str(exc)) from exc
        except ManagerUnreachable:
            self._failed()
            raise
        if reply.status >= 500:
            self._failed()
            raise ManagerUnreachable(f"{method} {path}: HTTP {reply.status}: {reply.message}")
        self.unreachable_since = None
        if reply.status in (401, 403):
            raise AuthRejected(reply.status, reply.message)
        return reply.status, reply.body

    def _failed(self) -> None:
        if self.unreachable_since is None:
            self.unreachable_since = time.monotonic()

    def _unexpected(self, status: int, body: Any) -> ManagerRejected:
        return ManagerRejected(status, _message(body))

    async def register(self, name: str, task_types: list[str], secret: str) -> Credentials:
        """Register a new worker; return the credentials to use from now on."""
        payload = WorkerRegistration(secret=secret, platform=platform_name(), supported_task_types=task_types,
                                     name=name)
        status, body = await self._request("POST", "/register-worker", json=payload.to_json(), auth=False)
        if status != 200 or not isinstance(body, dict) or not body.get("uuid"):
            raise self._unexpected(status, body)
        return Credentials(worker_id=str(body["uuid"]), worker_secret=secret, manager_key=_key(body),
                           manager_url=self.base_url)

    async def sign_on(
        self, name: str, task_types: list[str], software_version: str, can_restart: bool,
        facts: WorkerFacts | None = None,
    ) -> SignedOn:
        """Sign on; return the status the Manager wants this worker in (and its key, if it gives one)."""
        payload = WorkerSignOn(name=name, supported_task_types=task_types, software_version=software_version,
                               can_restart=can_restart, facts=facts)
        status, body = await self._request("POST", "/sign-on", json=payload.to_json())
        if status != 200:
            raise self._unexpected(status, body)
        return SignedOn(_status_requested(body), _key(body))

    async def prove_manager(self, url: str | None = None) -> Verdict:
        """Challenge the Manager at `url` (default: this client's) to prove it is this worker's own;
        sends no credentials."""
        return await check_manager(url or self.base_url, self.credentials)

    async def sign_off(self) -> None:
        status, body = await self._request("POST", "/sign-off")
        if status not in (200, 204):
            raise self._unexpected(status, body)

    async def state(self, wait_s: float | None = None) -> WorkerStatus | None:
        """The status change the Manager requests, or None when none is pending (204)."""
        status, body = await self._request("GET", "/state", wait_s=wait_s)
        if status == 204:
            return None
        if status != 200:
            raise self._unexpected(status, body)
        return _status_requested(body)

    async def state_changed(self, new_status: WorkerStatus) -> None:
        status, body = await self._request(
            "POST", "/state-changed", json=WorkerStateChanged(new_status).to_json()
        )
        if status not in (200, 204):
            raise self._unexpected(status, body)

    async def ask_for_task(self, wait_s: float | None = None) -> TaskOffer | None:
        """Ask for work. None means "no task for you now" (204)."""
        status, body = await self._request("POST", "/task", wait_s=wait_s)
        if status == 204:
            return None
        if status == 200:
            try:
                return TaskOffer(task=AssignedTask.from_json(body))
            except (WireFormatError, TypeError, ValueError) as exc:
                raise ManagerRejected(status, f"malformed task: {exc}") from exc
        if status == 423:
            return TaskOffer(status_requested=_status_requested(body))
        if status == 409:
            return TaskOffer(not_awake=True)
        raise self._unexpected(status, body)

    async def task_update(self, task_id: str, payload: dict[str, Any]) -> int:
        """Send one TaskUpdate; return the HTTP status (204 ok, 404/409 task not ours, ...).

        Network errors and 5xx raise `ManagerUnreachable` so the caller can queue the update.
        """
        status, _ = await self._request("POST", f"/task/{task_id}", json=payload)
        return status

    async def may_i_run(self, task_id: str, wait_s: float | None = None) -> MayKeepRunning:
        status, body = await self._request("GET", f"/task/{task_id}/may-i-run", wait_s=wait_s)
        if status == 404:
            return MayKeepRunning(False, reason=_message(body) or "task not found")
        if status != 200:
            raise self._unexpected(status, body)
        try:
            return MayKeepRunning.from_json(body)
        except WireFormatError as exc:
            raise ManagerRejected(status, str(exc)) from exc

    async def output_produced(self, task_id: str, image: bytes, content_type: str = "image/jpeg") -> int:
        """Upload the last-rendered image; return the HTTP status (202 accepted, 429 busy, ...)."""
        status, _ = await self._request(
            "POST",
            f"/task/{task_id}/output-produced",
            data=image,
            headers={"Content-Type": content_type},
        )
        return status

    async def send_vitals(self, vitals: TablaoWorkerVitalsReport) -> bool:
        """Report what the worker measures of itself (Tablao). False when the Manager has no such route
        (404/405: a stock Flamenco Manager); `ManagerRejected` with its words when it refuses them."""
        status, body = await self._request("POST", "/worker/vitals", json=vitals.to_json(), prefix=TABLAO_PREFIX)
        if status in (404, 405):
            return False
        if status != 204:
            raise self._unexpected(status, body)
        return True


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message", body))
    return "" if body is None else str(body)[:500]


def _key(body: Any) -> str:
    """The worker's key in a register/sign-on answer; "" when there is none (stock Flamenco) or it is malformed."""
    key = body.get(KEY_FIELD) if isinstance(body, dict) else None
    return key if valid_key(key) else ""


def _status_requested(body: Any) -> WorkerStatus:
    raw = body.get("status_requested") if isinstance(body, dict) else None
    if isinstance(raw, str):
        with contextlib.suppress(ValueError):
            return WorkerStatus(raw)
    # An unknown status must not crash the worker; like any status without a handler, it means asleep.
    _log.warning("manager requested unknown status %r; treating it as asleep", raw)
    return WorkerStatus.ASLEEP
