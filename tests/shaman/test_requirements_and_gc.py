"""Requirements, garbage collection, the disabled state and the periodic service loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from app.shaman import LinkMode, Shaman
from app.shaman.gc import GCReport
from app.shaman.specs import FileSpec
from app.shaman.web import CHECKOUT_PATH, REQUIREMENTS_PATH, add_shaman_routes
from tests.shaman.support import key_of, make_old, upload

DAY = 24 * 3600.0


async def test_requirements_lists_unknown_once_and_touches_stored(client: TestClient, shaman: Shaman) -> None:
    known, unknown = b"known", b"unknown"
    await upload(client, known)
    blob = shaman.store.blob_path(key_of(known))
    make_old(blob, 40 * DAY)
    files = [
        {"sha": key_of(known).sha, "size": len(known), "path": "a"},
        {"sha": key_of(unknown).sha, "size": len(unknown), "path": "b"},
        {"sha": key_of(unknown).sha, "size": len(unknown), "path": "c"},
    ]
    resp = await client.post(REQUIREMENTS_PATH, json={"files": files})
    assert resp.status == 200
    assert await resp.json() == {"files": [{**files[1], "status": "unknown"}]}
    assert blob.stat().st_mtime > time.time() - 60


async def test_requirements_rejects_bad_input(client: TestClient) -> None:
    for body in (
        b"not json",
        b"{}",
        b'{"files": [{"sha": "x", "size": 1}]}',
        b'{"files": [{"sha": "' + b"a" * 64 + b'", "size": true}]}',
    ):
        resp = await client.post(REQUIREMENTS_PATH, data=body, headers={"Content-Type": "application/json"})
        assert resp.status == 400, body
        assert (await resp.json())["code"] == 400


SHA = "ab" * 32


@pytest.mark.parametrize("path, body, words", [
    (REQUIREMENTS_PATH, [], "expected a JSON object, not a list"),
    (REQUIREMENTS_PATH, {}, "`files` is required: a list"),
    (REQUIREMENTS_PATH, {"files": "a.png"}, "`files` must be a list, not a string"),
    (REQUIREMENTS_PATH, {"files": [{"sha": SHA, "size": 1}, 5]}, "`files[1]` must be a JSON object, not a number"),
    (REQUIREMENTS_PATH, {"files": [{"sha": "x" * 64, "size": 1}]},
     "`files[0].sha` must be a SHA-256 digest, 64 hexadecimal digits, not 'xxxx"),
    (REQUIREMENTS_PATH, {"files": [{"sha": SHA, "size": "12"}]}, "`files[0].size` must be a whole number from 0"),
    (REQUIREMENTS_PATH, {"files": [{"sha": SHA, "size": -1}]}, "`files[0].size` must be a whole number from 0"),
    (CHECKOUT_PATH, {"files": [{"sha": SHA, "size": 1, "path": "a"}]}, "`checkoutPath` is required: a string"),
    (CHECKOUT_PATH, {"files": [{"sha": SHA, "size": 1, "path": "a"}], "checkoutPath": 7},
     "`checkoutPath` must be a string, not a number"),
    (CHECKOUT_PATH, {"files": [{"sha": SHA, "size": 1}], "checkoutPath": "x"}, "`files[0].path` is required: a string"),
    (CHECKOUT_PATH, {"files": [{"sha": SHA, "size": 1, "path": "../x"}], "checkoutPath": "x"},
     "`files[0].path` '../x' contains an empty, '.' or '..' component"),
])
async def test_a_body_that_does_not_fit_is_a_400_naming_the_field(client: TestClient, path, body, words) -> None:
    resp = await client.post(path, json=body)
    answer = await resp.json()
    assert resp.status == 400 and answer["code"] == 400 and words in answer["message"], answer


async def test_a_digest_in_capitals_is_the_same_file(client: TestClient) -> None:
    # As before the bodies were models: the store names files by the digest in lowercase.
    resp = await client.post(REQUIREMENTS_PATH, json={"files": [{"sha": SHA.upper(), "size": 3}]})
    assert await resp.json() == {"files": [{"sha": SHA, "size": 3, "path": "", "status": "unknown"}]}


async def test_disabled_shaman_answers_503(aiohttp_client: Callable) -> None:
    app = web.Application()
    add_shaman_routes(app, lambda: None)
    client = await aiohttp_client(app)
    resp = await client.post(REQUIREMENTS_PATH, json={"files": []})
    assert resp.status == 503 and (await resp.json())["code"] == 503
    resp = await client.get(f"/api/v3/shaman/files/{'a' * 64}/1")
    assert resp.status == 503


async def _gc_fixture(client: TestClient, shaman: Shaman) -> dict[str, bytes]:
    """Blobs: old+symlinked, old+unreferenced, new+unreferenced, old+hardlinked, old+copied."""
    blobs = {
        name: os.urandom(100 + i)
        for i, name in enumerate(["symlinked", "orphan", "fresh", "hardlinked", "copied"])
    }
    for data in blobs.values():
        await upload(client, data)
    checkouts = shaman.checkouts
    for name, mode in (
        ("symlinked", LinkMode.SYMLINK),
        ("hardlinked", LinkMode.HARDLINK),
        ("copied", LinkMode.COPY),
    ):
        checkouts.link_mode = mode
        await checkouts.create(_specs({f"{name}.bin": blobs[name]}), f"job-{name}")
    for name, data in blobs.items():
        if name != "fresh":
            make_old(shaman.store.blob_path(key_of(data)), 40 * DAY)
    return blobs


def _specs(files: dict[str, bytes]) -> list[FileSpec]:
    return [FileSpec(key_of(d).sha, len(d), p) for p, d in files.items()]


async def test_gc_dry_run_lists_only_old_unreferenced_blobs(client: TestClient, shaman: Shaman) -> None:
    blobs = await _gc_fixture(client, shaman)
    report = await shaman.collect_garbage(dry_run=True)
    expected = sorted(shaman.store.blob_path(key_of(blobs[n])) for n in ("orphan", "copied"))
    assert report.candidates == expected
    assert report.candidate_bytes == len(blobs["orphan"]) + len(blobs["copied"])
    assert report.deleted == [] and all(p.exists() for p in expected)


async def test_gc_deletes_old_unreferenced_and_keeps_the_rest(client: TestClient, shaman: Shaman) -> None:
    blobs = await _gc_fixture(client, shaman)
    report = await shaman.collect_garbage()
    assert len(report.deleted) == 2 and report.deleted_bytes == len(blobs["orphan"]) + len(blobs["copied"])
    for name, data in blobs.items():
        assert shaman.store.blob_path(key_of(data)).exists() == (name not in ("orphan", "copied")), name
    assert (shaman.checkouts.root / "job-copied" / "copied.bin").read_bytes() == blobs["copied"]
    # Once its checkout is gone, the symlinked blob is garbage too.
    shutil.rmtree(shaman.checkouts.root / "job-symlinked")
    assert [p.name for p in (await shaman.collect_garbage()).deleted] == [f"{len(blobs['symlinked'])}.blob"]


async def test_gc_keeps_a_blob_touched_between_scan_and_delete(client: TestClient, shaman: Shaman) -> None:
    await upload(client, b"racy")
    blob = shaman.store.blob_path(key_of(b"racy"))
    make_old(blob, 40 * DAY)
    candidates = shaman.gc._old_unshared_blobs()
    assert blob in candidates
    shaman.store.touch(key_of(b"racy"))  # a submission referenced it meanwhile
    report = GCReport(dry_run=False)
    shaman.gc._delete(candidates, report)
    assert blob.exists() and report.skipped_changed == 1


async def test_gc_follows_absolute_links_by_inode(client: TestClient, shaman: Shaman) -> None:
    await upload(client, b"abs")
    blob = shaman.store.blob_path(key_of(b"abs"))
    make_old(blob, 40 * DAY)
    (shaman.checkouts.root / "legacy").mkdir()
    # An absolute link spelled through a symlinked alias of the store, as an older tool might make.
    alias = shaman.config.shared_storage / "alias"
    alias.symlink_to(shaman.store.root)
    (shaman.checkouts.root / "legacy" / "f").symlink_to(alias / blob.relative_to(shaman.store.root))
    assert (await shaman.collect_garbage()).deleted == []


async def test_run_collects_periodically_until_cancelled(make_shaman: Callable[..., Shaman]) -> None:
    shaman = make_shaman(gc_first_delay=0.0, gc_period=0.01, gc_max_age=DAY)
    calls = 0
    original = shaman.collect_garbage

    async def counting(dry_run: bool = False):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return await original(dry_run)

    shaman.collect_garbage = counting  # type: ignore[method-assign]
    task = asyncio.create_task(shaman.run())
    while calls < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled()


@pytest.mark.slow  # uploads a large body
async def test_requests_above_aiohttps_default_body_cap_are_accepted(client: TestClient) -> None:
    # A 12,000-file project is ~1.4 MB of JSON, above aiohttp's 1 MiB client_max_size default.
    files = [{"sha": f"{i:064x}", "size": i, "path": f"textures/file-{i:05d}.png"} for i in range(12_000)]
    resp = await client.post(REQUIREMENTS_PATH, json={"files": files})
    assert resp.status == 200
    assert len((await resp.json())["files"]) == 12_000
