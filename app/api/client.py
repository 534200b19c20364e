"""`ManagerClient`: an async HTTP + websocket client of a Tablao (or Flamenco) Manager.

The dashboard, the `farm` release tool and scripts talk to a Manager only through this client, also
when the Manager runs in the same process. Errors come back as `ApiError` carrying the Manager's
`{code, message}`, so callers show the Manager's own words.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from app.api.errors import ApiError
from app.common.credentials import ADMIN_TOKEN_HEADER

_log = logging.getLogger(__name__)


class ManagerUnreachable(ApiError):
    status = 503


class ManagerClient:
    def __init__(self, base_url: str, access_token: str = "", timeout_s: float = 30.0,
                 admin_token: str = ""):
        """`admin_token` (see app/common/credentials.py) is needed for admin operations, unless the
        Manager runs on this machine and trusts local requests; `access_token` only where configured."""
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
        if admin_token:
            self._headers[ADMIN_TOKEN_HEADER] = admin_token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ManagerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send a request; return the decoded JSON (None for 204), or raise `ApiError`."""
        url = self.base_url + path
        try:
            async with self._http().request(method, url, json=body) as resp:
                if resp.status == 204:
                    return None
                text = await resp.text()
                data = _decode(text, resp.content_type)
                if resp.status >= 400:
                    message = data.get("message") if isinstance(data, dict) else None
                    raise ApiError(message or f"HTTP {resp.status} from {url}", status=resp.status)
                return data
        except aiohttp.ClientError as exc:
            raise ManagerUnreachable(f"cannot reach the Manager at {self.base_url}: {exc}") from exc
        except TimeoutError as exc:
            raise ManagerUnreachable(f"the Manager at {self.base_url} did not answer in time") from exc

    # --- meta ------------------------------------------------------------------------------------
    async def version(self) -> dict[str, Any]:
        return await self.request("GET", "/api/v3/version")

    async def configuration(self) -> dict[str, Any]:
        return await self.request("GET", "/api/v3/configuration")

    async def job_types(self) -> list[dict[str, Any]]:
        return (await self.request("GET", "/api/v3/jobs/types"))["job_types"]

    async def variables(self) -> dict[str, Any]:
        return (await self.request("GET", "/api/v3/tablao/variables"))["variables"]

    async def set_variables(self, variables: dict[str, Any]) -> dict[str, Any]:
        return (await self.request("PUT", "/api/v3/tablao/variables", {"variables": variables}))["variables"]

    async def storage_check(self, path: str) -> dict[str, Any]:
        return await self.request("POST", "/api/v3/tablao/storage-check", {"path": path})

    async def farm_status(self) -> str:
        return (await self.request("GET", "/api/v3/status"))["status"]

    # --- jobs and tasks --------------------------------------------------------------------------
    async def submit_job(self, job: dict[str, Any]) -> dict[str, Any]:
        return await self.request("POST", "/api/v3/jobs", job)

    async def jobs_page(self, limit: int = 100, offset: int = 0, statuses: list[str] | None = None) -> dict[str, Any]:
        query = f"?limit={limit}&offset={offset}"
        if statuses:
            query += "&status=" + ",".join(statuses)
        return await self.request("GET", "/api/v3/tablao/jobs" + query)

    async def job(self, job_id: str) -> dict[str, Any]:
        return await self.request("GET", f"/api/v3/jobs/{job_id}")

    async def job_tasks(self, job_id: str) -> list[dict[str, Any]]:
        return (await self.request("GET", f"/api/v3/jobs/{job_id}/tasks"))["tasks"]

    async def task(self, task_id: str) -> dict[str, Any]:
        return await self.request("GET", f"/api/v3/tasks/{task_id}")

    async def set_job_status(self, job_id: str, status: str, reason: str = "") -> None:
        await self.request("POST", f"/api/v3/jobs/{job_id}/setstatus", {"status": status, "reason": reason})

    async def set_task_status(self, task_id: str, status: str, reason: str = "") -> None:
        await self.request("POST", f"/api/v3/tasks/{task_id}/setstatus", {"status": status, "reason": reason})

    async def set_job_priority(self, job_id: str, priority: int) -> None:
        await self.request("POST", f"/api/v3/jobs/{job_id}/setpriority", {"priority": priority})

    async def delete_job(self, job_id: str) -> None:
        await self.request("DELETE", f"/api/v3/jobs/{job_id}")

    async def task_log_tail(self, task_id: str) -> str:
        url = f"{self.base_url}/api/v3/tasks/{task_id}/logtail"
        async with self._http().get(url) as resp:
            if resp.status == 204:
                return ""
            if resp.status >= 400:
                raise ApiError(_decode(await resp.text(), resp.content_type).get("message", ""), resp.status)
            return await resp.text()

    # --- workers -------------------------------------------------------------------------------------
    async def workers(self) -> list[dict[str, Any]]:
        return (await self.request("GET", "/api/v3/worker-mgt/workers"))["workers"]

    async def worker(self, worker_id: str) -> dict[str, Any]:
        return await self.request("GET", f"/api/v3/worker-mgt/workers/{worker_id}")

    async def request_worker_status(self, worker_id: str, status: str, lazy: bool = True) -> None:
        await self.request("POST", f"/api/v3/worker-mgt/workers/{worker_id}/setstatus",
                           {"status": status, "is_lazy": lazy})

    # --- live events -----------------------------------------------------------------------------------
    async def events(self, types: list[str] | None = None, task_logs: list[str] | None = None,
                     ) -> AsyncIterator[dict[str, Any]]:
        """Yield `{"type", "data"}` events from the Manager's websocket until the caller stops."""
        url = self.base_url + "/api/v3/tablao/events"
        params = {"types": ",".join(types)} if types else None
        async with self._http().ws_connect(url, heartbeat=20.0, params=params) as ws:
            for task_id in task_logs or ():
                await ws.send_json({"op": "subscribe", "task_log": task_id})
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    yield json.loads(msg.data)
                elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break


def _decode(text: str, content_type: str) -> Any:
    if content_type == "application/json" or text.startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return {"message": text}
    return {"message": text}


__all__ = ["ApiError", "ManagerClient", "ManagerUnreachable"]
