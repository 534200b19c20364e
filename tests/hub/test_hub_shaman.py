"""The hub's Shaman: files uploaded to the hub once; a site fetches only the ones it lacks, makes the
checkout itself, and the job runs there on its own copy."""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiohttp
import pytest

from app.hub.shaman_relay import BLOBS_PATH
from app.manager.hub_link import protocol as p
from tests.conftest import echo_job


def _spec(data: bytes, path: str) -> dict:
    return {"sha": hashlib.sha256(data).hexdigest(), "size": len(data), "path": path}


async def _upload_checkout(hub, files: dict[str, bytes], checkout: str, sent: list[int] | None = None) -> str:
    """What the add-on does: ask what is missing, upload that, make the checkout; its path. The bytes
    uploaded are added to `sent[0]`."""
    specs = [_spec(data, path) for path, data in files.items()]
    status, body = await hub.request("POST", "/api/v3/shaman/checkout/requirements", json={"files": specs})
    assert status == 200, body
    missing = {(f["sha"], f["size"]) for f in body["files"]}
    for path, data in files.items():
        spec = _spec(data, path)
        if (spec["sha"], spec["size"]) in missing:
            status, _ = await hub.request("POST", f"/api/v3/shaman/files/{spec['sha']}/{spec['size']}", data=data,
                                          headers={"Content-Type": "application/octet-stream"})
            assert status in (204, 208)
            if sent is not None:
                sent[0] += len(data)
    status, body = await hub.request("POST", "/api/v3/shaman/checkout/create",
                                     json={"files": specs, "checkoutPath": checkout})
    assert status == 200, body
    return body["checkoutPath"]


def _checkout_dir(site, path: str) -> Path:
    return Path(site.services.shaman.config.checkout_root_path) / path


async def test_a_site_fetches_only_the_files_it_lacks_and_runs_the_job_on_its_own_checkout(hub_farm):
    hub = await hub_farm.start_hub(shaman=True)
    await hub_farm.join("A")
    site_a = await hub_farm.start_site("A")
    status, storage = await hub.request("GET", "/api/v3/configuration/shared-storage/users/linux")
    assert status == 200 and storage["shamanEnabled"] is True

    files = {"scene.blend": b"BLENDER-v304 a scene" * 100, "tex/wood.png": b"\x89PNG wood" * 50}
    checkout = await _upload_checkout(hub, files, "artist/shot-1")
    job = echo_job("with files", metadata={"site": "A"}, storage={"shaman_checkout_id": checkout})
    job["settings"]["message"] = f"{{jobs}}/{checkout}/scene.blend"
    status, first = await hub.request("POST", "/api/v3/jobs", json=job)
    assert status == 200 and first["hub"]["state"] == "delivered", first
    assert hub.hub.shaman.blobs_served == 2
    status, at_a = await site_a.request("GET", f"/api/v3/jobs/{first['id']}")
    assert at_a["storage"]["shaman_checkout_id"] == checkout
    for path, data in files.items():
        assert (_checkout_dir(site_a, checkout) / path).read_bytes() == data

    # A second job with one new file: only that one travels.
    files2 = {**files, "tex/stone.png": b"\x89PNG stone" * 70}
    checkout2 = await _upload_checkout(hub, files2, "artist/shot-2")
    status, second = await hub.request("POST", "/api/v3/jobs", json=echo_job(
        "more files", metadata={"site": "A"}, storage={"shaman_checkout_id": checkout2}))
    assert status == 200 and second["hub"]["state"] == "delivered", second
    assert hub.hub.shaman.blobs_served == 3
    assert (_checkout_dir(site_a, checkout2) / "tex/stone.png").read_bytes() == files2["tex/stone.png"]


async def _moved(hub, files: dict[str, bytes], checkout: str, site: str) -> tuple[int, int]:
    """Submit `files` for `site` as the add-on does; (bytes the artist uploaded, bytes the site fetched)."""
    status, before = await hub.request("GET", "/api/v3/tablao/hub/sites")
    fetched_before = next(s for s in before["sites"] if s["name"] == site)["files_sent"]["bytes"]
    uploaded = [0]
    path = await _upload_checkout(hub, files, checkout, uploaded)
    job = echo_job(checkout, metadata={"site": site}, storage={"shaman_checkout_id": path})
    status, shown = await hub.request("POST", "/api/v3/jobs", json=job)
    assert status == 200 and shown["hub"]["state"] == "delivered", shown
    status, after = await hub.request("GET", "/api/v3/tablao/hub/sites")
    assert after["files_received_bytes"] - before["files_received_bytes"] == uploaded[0], "the hub counts alike"
    return uploaded[0], next(s for s in after["sites"] if s["name"] == site)["files_sent"]["bytes"] - fetched_before


async def test_files_travel_once_bytes_moved_per_case(hub_farm):
    """The same .blend submitted to the other site uploads 0 bytes from the artist, and each site
    fetches from the hub only what its own Shaman lacks. Prints the bytes moved per case."""
    hub = await hub_farm.start_hub(shaman=True)
    await hub_farm.join("A")
    await hub_farm.join("B")
    await hub_farm.start_site("A")
    await hub_farm.start_site("B")
    blend, wood, stone = b"BLENDER-v304 scene" * 4000, b"\x89PNG wood" * 3000, b"\x89PNG stone" * 2000
    files = {"scene.blend": blend, "tex/wood.png": wood}
    cases = [
        ("first submission, to site A", files, "A", len(blend) + len(wood), len(blend) + len(wood)),
        ("the same .blend again, to site B", files, "B", 0, len(blend) + len(wood)),
        ("the same .blend again, to site A", files, "A", 0, 0),
        ("one new texture, to site B", {**files, "tex/stone.png": stone}, "B", len(stone), len(stone)),
    ]
    for n, (case, these, site, artist_to_hub, hub_to_site) in enumerate(cases):
        moved = await _moved(hub, these, f"artist/shot-{n}", site)
        print(f"hub files: {case}: artist->hub {moved[0]:,} bytes, hub->site {moved[1]:,} bytes")
        assert moved == (artist_to_hub, hub_to_site), case


async def test_a_checkout_name_the_site_already_has_gets_another_and_the_job_follows_it(hub_farm):
    hub = await hub_farm.start_hub(shaman=True)
    await hub_farm.join("A")
    site_a = await hub_farm.start_site("A")
    (_checkout_dir(site_a, "artist/shot-1")).mkdir(parents=True)  # a folder of that name is already there
    checkout = await _upload_checkout(hub, {"scene.blend": b"BLENDER scene"}, "artist/shot-1")
    job = echo_job(metadata={"site": "A"}, storage={"shaman_checkout_id": checkout})
    job["settings"]["message"] = f"{{jobs}}/{checkout}/scene.blend"
    status, shown = await hub.request("POST", "/api/v3/jobs", json=job)
    assert status == 200, shown
    status, at_a = await site_a.request("GET", f"/api/v3/jobs/{shown['id']}")
    actual = at_a["storage"]["shaman_checkout_id"]
    assert actual.startswith("artist/shot-1-") and at_a["settings"]["message"] == f"{{jobs}}/{actual}/scene.blend"


async def test_files_at_the_hub_and_no_shaman_are_refused_in_words(hub_farm):
    hub = await hub_farm.start_hub(shaman=True)
    await hub_farm.join("A")
    await hub_farm.start_site("A", shaman_enabled=False)
    checkout = await _upload_checkout(hub, {"scene.blend": b"BLENDER scene"}, "x/y")
    status, body = await hub.request("POST", "/api/v3/jobs", json=echo_job(
        metadata={"site": "A"}, storage={"shaman_checkout_id": checkout}))
    assert status == 400 and "this site has no Shaman" in body["message"], body
    status, body = await hub.request("POST", "/api/v3/jobs", json=echo_job(
        metadata={"site": "A"}, storage={"shaman_checkout_id": "not/made/here"}))
    assert status == 400 and "not a checkout made by this hub's Shaman" in body["message"]


async def test_a_hub_without_shaman_says_so(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    await hub_farm.start_site("A")
    status, storage = await hub.request("GET", "/api/v3/configuration/shared-storage/users/linux")
    assert status == 200 and storage["shamanEnabled"] is False
    status, body = await hub.request("POST", "/api/v3/shaman/checkout/requirements", json={"files": []})
    assert status == 503
    status, body = await hub.request("POST", "/api/v3/jobs", json=echo_job(storage={"shaman_checkout_id": "a/b"}))
    assert status == 400 and "this hub has no Shaman" in body["message"]


@pytest.mark.parametrize(("site", "token", "status"), [("", None, 401), ("A", "wrong-token-wrong-token", 403)])
async def test_the_blob_route_serves_only_joined_sites(hub_farm, site, token, status):
    hub = await hub_farm.start_hub(shaman=True)
    await hub_farm.join("A")
    data = b"secret frames"
    await _upload_checkout(hub, {"f.bin": data}, "c/d")
    spec = _spec(data, "f.bin")
    path = BLOBS_PATH.format(checksum=spec["sha"], filesize=spec["size"])
    headers = {p.SITE_HEADER: site} if site else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    got, _ = await hub.request("GET", path, headers=headers)
    assert got == status
    good = {p.SITE_HEADER: "A", "Authorization": f"Bearer {hub_farm.tokens['A']}"}
    async with aiohttp.ClientSession(hub.url) as http, http.get(path, headers=good) as resp:
        assert resp.status == 200 and await resp.read() == data
    got, body = await hub.request("GET", BLOBS_PATH.format(checksum="0" * 64, filesize=5), headers=good)
    assert got == 404 and "stores no file" in body["message"]
    got, body = await hub.request("GET", BLOBS_PATH.format(checksum="../../etc", filesize=5), headers=good)
    assert got in (400, 404)
