"""The hub keys of a Manager's configuration, changed through its API: checked before anything is
saved, and a change restarts the Manager in place (its link is built at start)."""

from __future__ import annotations

import asyncio


async def test_hub_keys_through_the_api_are_checked_and_restart_the_manager(manager):
    status, raw = await manager.request("GET", "/api/v3/configuration/file", admin=True)
    assert status == 200
    before = manager.cfg.path.read_text()
    bad = {**raw, "hub_url": "ftp://hub/", "hub_site": "A", "hub_token": "t" * 43}
    status, body = await manager.request("PUT", "/api/v3/configuration/file", json=bad, admin=True)
    assert status == 400 and "not an http(s) address" in body["message"]
    status, body = await manager.request("PUT", "/api/v3/configuration/file", json={**raw, "hub_url": "http://h/"},
                                         admin=True)
    assert status == 400 and "hub_site, hub_token missing" in body["message"]
    assert manager.cfg.path.read_text() == before, "nothing saved"
    assert not manager.services.settings.restart_requested.is_set()

    good = {**raw, "hub_url": "http://hub.example:8090/", "hub_site": "A", "hub_token": "t" * 43}
    status, _ = await manager.request("PUT", "/api/v3/configuration/file", json=good, admin=True)
    assert status == 204
    assert "hub_site: A" in manager.cfg.path.read_text()
    async with asyncio.timeout(5):
        await manager.services.settings.restart_requested.wait()
