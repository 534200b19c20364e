"""A scripted worker that speaks the worker API over real HTTP, for Manager tests.

It is a test driver (the real Worker lives in app/worker and is exercised by the e2e tests).
"""

from __future__ import annotations

import base64
import secrets

import aiohttp


class HttpWorker:
    def __init__(self, base_url: str, name: str = "w1", task_types=("blender", "ffmpeg", "file-management", "misc"),
                 platform: str = "linux", facts: dict | None = None):
        self.base_url, self.name, self.task_types, self.platform = base_url, name, list(task_types), platform
        self.facts = facts  # the sign-on's `facts` (GPU backends, memory, Blender); None: a stock worker
        self.secret = secrets.token_hex(32)
        self.uuid = ""
        self.session = aiohttp.ClientSession(base_url)

    async def close(self) -> None:
        await self.session.close()

    @property
    def auth_header(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.uuid}:{self.secret}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def call(self, method: str, path: str, json=None, headers=None):
        all_headers = {**(self.auth_header if self.uuid else {}), **(headers or {})}
        async with self.session.request(method, path, json=json, headers=all_headers) as resp:
            body = await resp.json() if resp.content_type == "application/json" else await resp.text()
            return resp.status, body

    async def register_and_sign_on(self) -> HttpWorker:
        status, body = await self.call("POST", "/api/v3/worker/register-worker", json={
            "secret": self.secret, "platform": self.platform, "supported_task_types": self.task_types,
            "name": self.name})
        assert status == 200, body
        self.uuid = body["uuid"]
        sign_on = {"name": self.name, "supported_task_types": self.task_types, "software_version": "test"}
        if self.facts is not None:
            sign_on["facts"] = self.facts
        status, body = await self.call("POST", "/api/v3/worker/sign-on", json=sign_on)
        assert status == 200, body
        status, _ = await self.call("POST", "/api/v3/worker/state-changed", json={"status": body["status_requested"]})
        assert status == 204
        return self

    async def claim(self, wait: float = 0):
        headers = {"X-Tablao-Wait": str(wait)} if wait else None
        return await self.call("POST", "/api/v3/worker/task", headers=headers)

    async def update(self, task_id: str, **fields):
        return await self.call("POST", f"/api/v3/worker/task/{task_id}", json=fields)

    async def complete(self, task_id: str, log: str = "done\n"):
        return await self.update(task_id, taskStatus="completed", activity="Completed", log=log)

    async def fail(self, task_id: str, log: str = "it broke\n"):
        return await self.update(task_id, taskStatus="failed", activity="Failed: it broke", log=log)
