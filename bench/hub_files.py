"""Bench: files travel once through the hub. Bytes moved per case (artist to hub, hub to site) and
the time from the first upload request to the job stored at its site, for a .blend and its textures
submitted to one site, again to the other, again to the first, then with one new texture.

Run by hand: `.venv/bin/python bench/hub_files.py [--mib 64]`. Prints its figures; asserts nothing.
The hub (with its Shaman) and both site Managers (each with its own) are real `tablao`
subprocesses on 127.0.0.1; this process uploads as the add-on does. The bytes come from the hub's
own counters (`GET /api/v3/tablao/hub/sites`: `files_received_bytes`, each site's `files_sent`).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import ManagerProcess  # noqa: E402
from bench.hub import HubProcess  # noqa: E402


class ShamanHub(HubProcess):
    def __init__(self, root: Path):
        super().__init__(root)
        (root / "hub-shared").mkdir()
        config = yaml.safe_load(self.config.read_text())
        config.update(shared_storage_path=str(root / "hub-shared"), shaman={"enabled": True})
        self.config.write_text(yaml.safe_dump(config))


async def counters(http: aiohttp.ClientSession, hub: str) -> tuple[int, dict[str, int]]:
    async with http.get(f"{hub}/api/v3/tablao/hub/sites") as resp:
        body = await resp.json()
    return body["files_received_bytes"], {s["name"]: s["files_sent"]["bytes"] for s in body["sites"]}


async def submit(http: aiohttp.ClientSession, hub: str, files: dict[str, bytes], checkout: str, site: str) -> float:
    """As the add-on: ask what the hub lacks, upload it, make the checkout, submit; the seconds taken."""
    started = time.perf_counter()
    specs = [{"sha": hashlib.sha256(d).hexdigest(), "size": len(d), "path": p} for p, d in files.items()]
    async with http.post(f"{hub}/api/v3/shaman/checkout/requirements", json={"files": specs}) as resp:
        missing = {(f["sha"], f["size"]) for f in (await resp.json())["files"]}
    for spec, data in zip(specs, files.values(), strict=True):
        if (spec["sha"], spec["size"]) in missing:
            async with http.post(f"{hub}/api/v3/shaman/files/{spec['sha']}/{spec['size']}", data=data) as resp:
                assert resp.status in (204, 208), await resp.text()
    async with http.post(f"{hub}/api/v3/shaman/checkout/create", json={"files": specs, "checkoutPath": checkout}) \
            as resp:
        path = (await resp.json())["checkoutPath"]
    job = {"name": checkout, "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
           "settings": {"message": "hi", "sleep_duration_seconds": 0, "sleep_repeats": 1},
           "metadata": {"site": site}, "storage": {"shaman_checkout_id": path}}
    async with http.post(f"{hub}/api/v3/jobs", json=job) as resp:
        shown = await resp.json()
        assert resp.status == 200 and shown["hub"]["state"] == "delivered", shown
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=64, help="size of the .blend in MiB (textures add a quarter)")
    args = parser.parse_args()
    blend = os.urandom(args.mib * 2**20)
    wood, stone = os.urandom(args.mib * 2**18 // 2), os.urandom(args.mib * 2**18 // 2)
    files = {"scene.blend": blend, "tex/wood.png": wood}
    cases = [("first submission, to site A", files, "A"), ("the same .blend again, to site B", files, "B"),
             ("the same .blend again, to site A", files, "A"),
             ("one new texture, to site B", {**files, "tex/stone.png": stone}, "B")]
    with tempfile.TemporaryDirectory(prefix="tablao-hub-files-") as tmp:
        hub = ShamanHub(Path(tmp))
        tokens = {name: hub.add_site(name) for name in ("A", "B")}
        hub.start()
        try:
            with ManagerProcess(hub_url=hub.url, hub_site="A", hub_token=tokens["A"], shaman={"enabled": True}), \
                    ManagerProcess(hub_url=hub.url, hub_site="B", hub_token=tokens["B"], shaman={"enabled": True}):
                await asyncio.sleep(1.5)  # both sites link
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
                    for n, (case, these, site) in enumerate(cases):
                        received, sent = await counters(http, hub.url)
                        seconds = await submit(http, hub.url, these, f"bench/shot-{n}", site)
                        received2, sent2 = await counters(http, hub.url)
                        total = sum(len(d) for d in these.values())
                        print(f"hub files, {case} ({total / 2**20:.1f} MiB in {len(these)} files): "
                              f"artist->hub {(received2 - received) / 2**20:.1f} MiB, "
                              f"hub->site {(sent2[site] - sent[site]) / 2**20:.1f} MiB, "
                              f"submitted and stored at the site in {seconds * 1000:.0f} ms")
        finally:
            hub.stop()


if __name__ == "__main__":
    asyncio.run(main())
