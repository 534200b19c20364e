"""A burst of sign-ups is handled a few at a time, so the running workers' updates keep their turn."""

from __future__ import annotations

import asyncio
import secrets

from app.manager.workers.worker_sessions import SIGN_UPS_AT_ONCE, _register_sync, _sign_on_sync


async def test_sign_ups_wait_their_turn_and_all_get_through(manager):
    machine = manager.services.sessions.machine
    real_run_quick = machine.run_quick
    in_flight, most = [0], [0]

    async def counting(fn, *args, **kwargs):
        if fn not in (_register_sync, _sign_on_sync):
            return await real_run_quick(fn, *args, **kwargs)
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        try:
            await asyncio.sleep(0.01)  # hold the place a while, as a loaded store would
            return await real_run_quick(fn, *args, **kwargs)
        finally:
            in_flight[0] -= 1
    machine.run_quick = counting

    async def sign_up(i: int) -> int:
        status, body = await manager.request("POST", "/api/v3/worker/register-worker", json={
            "secret": secrets.token_hex(16), "platform": "linux", "supported_task_types": ["misc"],
            "name": f"burst-{i}"})
        assert status == 200, body
        return body["uuid"]

    uuids = await asyncio.gather(*(sign_up(i) for i in range(40)))
    assert len(set(uuids)) == 40
    assert 1 < most[0] <= SIGN_UPS_AT_ONCE  # several at once, never more than the cap
    status, listed = await manager.request("GET", "/api/v3/worker-mgt/workers")
    assert status == 200
    assert {w["id"] for w in listed["workers"]} >= set(uuids)
