"""A release on a real farm: a Manager, a `tablao worker` process and Debian's Blender.

One scenario, in the order a studio runs it: plan three small .blend files (and plan again: nothing
new), render, harvest with a deleted frame (reported exactly, nothing moved), `--requeue-missing`
renders it again, harvest into dist/, archive (the manifest matches the archive), then replace a
job after its file changed (the new frames differ).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from tests.e2e.farm import MAKE_BLEND, have_blender, wait_awake, wait_job

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg")]

RELEASE = "r1"
FILES = {"alpha": 2, "bravo": 2, "charlie": 3}  # job name -> frames


def make_blends(specs: list[tuple[Path, int, int]]) -> None:
    """Several tiny Cycles scenes (path, frames, width) from one Blender start (each start is seconds)."""
    for path, _, _ in specs:
        path.parent.mkdir(parents=True, exist_ok=True)
    script = "\n".join(MAKE_BLEND.format(adaptive=True, samples=1, width=width, height=18, frames=frames, path=path)
                       for path, frames, width in specs)
    result = subprocess.run(["blender", "-b", "--factory-startup", "--python-expr", script],
                            capture_output=True, text=True, timeout=180)
    for path, _, _ in specs:
        assert path.exists(), result.stdout[-2000:] + result.stderr[-2000:]


def pixels_differ(a: Path, b: Path) -> bool:
    with Image.open(a) as one, Image.open(b) as two:
        return one.size != two.size or ImageChops.difference(one.convert("RGB"), two.convert("RGB")).getbbox() is not None


async def wait_release(manager, run_farm, url, workers) -> dict:
    jobs = (await run_farm("status", RELEASE, "--json", *url)).json["releases"][RELEASE]["jobs"]
    for job in jobs:
        assert await wait_job(manager, job["id"], {"completed", "failed", "canceled"}, 240, workers) == "completed"
    return {j["job"]: j for j in jobs}


async def test_plan_render_harvest_archive_replace(farm, run_farm, tmp_path: Path):
    start_manager, start_workers, _ = farm
    manager = await start_manager()
    root = tmp_path / "shared"
    store = root / "releases" / RELEASE / "store"
    make_blends([(store / f"{name}.blend", frames, 32) for name, frames in FILES.items()])
    url = ("--manager", manager.url)

    planned = await run_farm("plan", "release", RELEASE, "--chunk-size", "2", "--json", *url)
    assert planned.code == 0, planned.err
    assert sorted(j["job"] for j in planned.json["submitted"]) == sorted(FILES)
    assert {d.name for d in root.iterdir()} >= {"quick", "releases", "dist", "archives"}
    again = await run_farm("plan", "release", RELEASE, "--json", *url)
    assert again.code == 0 and again.json["submitted"] == [] and len(again.json["already"]) == 3

    workers = start_workers(1)
    await wait_awake(manager, 1)
    jobs = await wait_release(manager, run_farm, url, workers)
    out = root / "releases" / RELEASE / "out"
    for name, frames in FILES.items():
        assert sorted(p.name for p in (out / name).glob("*.png")) == [f"{i:06d}.png" for i in range(1, frames + 1)]

    # A deleted frame: reported exactly, nothing moves, exit 1.
    (out / "charlie" / "000002.png").unlink()
    short = await run_farm("harvest", "release", RELEASE, "--json", *url)
    assert short.code == 1
    assert short.json["jobs"]["charlie"]["problems"] == {"missing": "2"}
    assert all(not j["problems"] for n, j in short.json["jobs"].items() if n != "charlie")
    assert not (root / "dist" / RELEASE).exists() and (out / "alpha" / "000001.png").exists()

    # --requeue-missing requeues only the task that owns frame 2, and it renders it again.
    requeued = await run_farm("harvest", "release", RELEASE, "--requeue-missing", "--json", *url)
    assert requeued.code == 1
    assert [(t["job"], t["frames"]) for t in requeued.json["requeued_tasks"]] == [("charlie", "2")]
    assert requeued.json["requeued_tasks"][0]["name"] in ("render-1,2", "render-1-2")  # chunk of frames 1-2
    assert await wait_job(manager, jobs["charlie"]["id"], {"completed", "failed"}, 240, workers) == "completed"
    assert (out / "charlie" / "000002.png").stat().st_size > 0

    harvested = await run_farm("harvest", "release", RELEASE, "--check-black", "--json", *url)
    assert harvested.code == 0, harvested.out + harvested.err
    dist = root / "dist" / RELEASE
    expected = sorted(f"{name}_{i:06d}.png" for name, frames in FILES.items() for i in range(1, frames + 1))
    assert sorted(p.name for p in dist.iterdir()) == expected and harvested.json["harvested"] == 7
    assert not list(out.glob("*/*.png"))  # moved, not copied
    assert (await run_farm("harvest", "release", RELEASE, *url)).code == 0  # again: already harvested

    archived = await run_farm("archive", "release", RELEASE, "--json", *url)
    assert archived.code == 0, archived.err
    with tarfile.open(root / "archives" / f"{RELEASE}.tar.gz") as tar:
        manifest = json.load(tar.extractfile(f"{RELEASE}/manifest.json"))
        assert {j["job"]: j["frames_expected"] for j in manifest["jobs"]} == FILES
        listed = {f["path"]: f["sha256"] for f in manifest["files"]}
        for path, sha in listed.items():
            assert hashlib.sha256(tar.extractfile(f"{RELEASE}/{path}").read()).hexdigest() == sha
        assert {f"dist/{n}" for n in expected} | {f"store/{n}.blend" for n in FILES} <= set(listed)
    assert (await run_farm("archive", "release", RELEASE, *url)).code == 1  # exists: not overwritten

    # The alpha scene changed after the release was made: replace its job, the new frames differ.
    make_blends([(store / "alpha.blend", 2, 40)])
    replaced = await run_farm("replace", "job", "alpha", "--json", *url)
    assert replaced.code == 0, replaced.err
    assert await wait_job(manager, replaced.json["id"], {"completed", "failed"}, 240, workers) == "completed"
    new = out / "alpha" / "000001.png"
    assert new.exists() and pixels_differ(new, dist / "alpha_000001.png")
    status = await run_farm("status", RELEASE, "--json", *url)
    assert status.json["releases"][RELEASE]["jobs"][0]["id"] == replaced.json["id"]

    # An independent job goes to quick/<job>/.
    seeded = await run_farm("seed", "job", str(store / "bravo.blend"), "lookdev", "--json", *url)
    assert seeded.code == 0, seeded.err
    assert await wait_job(manager, seeded.json["id"], {"completed", "failed"}, 240, workers) == "completed"
    assert (root / "quick" / "lookdev" / "lookdev.blend").is_file()
    assert sorted(p.name for p in (root / "quick" / "lookdev" / "out").glob("*.png")) == ["000001.png", "000002.png"]
