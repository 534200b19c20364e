"""A settings change that needs a new start restarts the Manager in place; live ones do not."""

from __future__ import annotations

import asyncio


async def test_a_new_storage_folder_asks_for_a_restart_and_a_timeout_does_not(manager, tmp_path):
    status, raw = await manager.request("GET", "/api/v3/configuration/file", admin=True)
    assert status == 200
    raw["task_timeout"] = "20m0s"
    status, _ = await manager.request("PUT", "/api/v3/configuration/file", json=raw, admin=True)
    assert status == 204
    await asyncio.sleep(0.5)
    assert not manager.services.settings.restart_requested.is_set()
    (tmp_path / "elsewhere").mkdir()
    raw["shared_storage_path"] = str(tmp_path / "elsewhere")
    status, _ = await manager.request("PUT", "/api/v3/configuration/file", json=raw, admin=True)
    assert status == 204
    async with asyncio.timeout(5):
        await manager.services.settings.restart_requested.wait()


async def test_the_setup_assistant_saves_the_shaman_choice(manager, tmp_path):
    (tmp_path / "farm").mkdir()
    body = {"storageLocation": str(tmp_path / "farm"), "shamanEnabled": False,
            "blenderExecutable": {"source": "input_path", "input": "/usr/bin/blender", "path": "/usr/bin/blender"}}
    status, answer = await manager.request("POST", "/api/v3/configuration/setup-assistant", json=body, admin=True)
    assert status == 204, answer
    text = manager.cfg.path.read_text()
    assert "enabled: false" in text and str(tmp_path / "farm") in text
    status, answer = await manager.request("POST", "/api/v3/configuration/setup-assistant",
                                           json={**body, "shamanEnabled": "yes"}, admin=True)
    assert status == 400 and "shamanEnabled" in answer["message"]
