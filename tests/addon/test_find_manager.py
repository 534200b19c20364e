"""The add-on's "Find Automatically" inside a real Blender (3.4, background): real Managers advertised
with the Manager's own SSDP advertiser on loopback only (searches go unicast to 127.0.0.1, as in
tests/manager/test_discovery.py), found with the tray worker's finder vendored into the add-on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.manager.lan.discovery import SsdpAdvertiser
from tests.addon.conftest import needs_blender, run_blender, steps_named
from tests.conftest import RunningManager, make_config

pytestmark = [needs_blender, pytest.mark.slow]


async def _advertise(manager) -> tuple[SsdpAdvertiser, asyncio.Task]:
    advertiser = SsdpAdvertiser(lambda: manager.service.port, bind=("127.0.0.1", 0), multicast=False)
    task = asyncio.create_task(advertiser.run())
    while advertiser.address is None:
        await asyncio.sleep(0.01)
    return advertiser, task


async def test_find_fills_the_url_lets_the_artist_pick_and_says_when_none(manager_factory, tmp_path: Path):
    first = await manager_factory()
    second = await RunningManager(make_config(tmp_path / "second")).start()
    (ad1, task1), (ad2, task2) = await _advertise(first), await _advertise(second)
    one, both = f"127.0.0.1:{ad1.address[1]}", f"127.0.0.1:{ad1.address[1]},127.0.0.1:{ad2.address[1]}"
    typed = "http://farm.invalid:8080/"
    try:
        result = await run_blender(
            tmp_path,
            {
                "url": typed,
                "project": str(tmp_path / "project"),
                "steps": [
                    ("find", {"targets": "127.0.0.1:9"}),  # nothing listens there
                    ("find", {"targets": one}),
                    ("check_connection",),
                    ("find", {"targets": both}),
                    ("pick", {"url": second.url + "/"}),
                    ("check_connection",),
                ],
            },
        )
    finally:
        for task in (task1, task2):
            task.cancel()
        await second.stop()
    none, single, several = steps_named(result, "find")
    for step in (none, single, several):  # the operator returns at once; the timer applies the outcome
        assert step["result"] == ["FINISHED"] and step["searching"] and step["timer_registered"]
        assert not step["can_start_another"]
        assert step["poll_again_in"] is None
    assert none["url_while_searching"] == typed
    assert none["url"] == typed and not none["ok"] and none["found"] == []
    assert none["message"] == "No Manager answered within 3 s: the URL above is kept."
    assert "autodiscoverable" in none["hint"] and single["hint"] == ""
    assert single["url"] == first.url + "/" and single["ok"]
    assert single["message"].startswith("Found ") and first.url in single["message"]
    first_check, second_check = steps_named(result, "check_connection")
    assert first_check["ok"], first_check
    # Two Managers answered: both listed, the URL untouched until the artist picks one.
    assert sorted(several["urls"]) == sorted([first.url + "/", second.url + "/"])
    assert several["url"] == first.url + "/" and several["message"] == "2 Managers answered: pick one below"
    status, version = await first.request("GET", "/api/v3/version")
    assert status == 200
    for label in several["found"]:  # each Manager shown with its name and version
        assert label.startswith(f"{version['name']} {version['version']} at http://127.0.0.1:")
    (pick,) = steps_named(result, "pick")
    assert pick["url"] == second.url + "/" and pick["message"].startswith("Using ")
    assert second_check["ok"], second_check
    assert result["unregistered"]
