"""Shaman path limits and safety: over-long and over-deep paths are 400s with a message, a failed
checkout leaves no folders behind, requirement paths are validated, checkouts never nest, and only
recorded checkouts are ever erased (the record survives a restart)."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from app.shaman import LinkMode, Shaman
from app.shaman.web import CHECKOUT_PATH, REQUIREMENTS_PATH, add_shaman_routes
from tests.shaman.support import key_of, upload

DATA = b"blend data"


async def post_checkout(client: TestClient, checkout: str, paths: list[str]) -> tuple[int, dict]:
    key = key_of(DATA)
    files = [{"sha": key.sha, "size": key.size, "path": p} for p in paths]
    resp = await client.post(CHECKOUT_PATH, json={"files": files, "checkoutPath": checkout})
    return resp.status, await resp.json()


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


@pytest.mark.parametrize("checkout, paths, words", [
    ("a" * 256, ["scene.blend"], "names are limited to 255 bytes"),
    ("d/" + "a" * 256, ["scene.blend"], "names are limited to 255 bytes"),
    ("é" * 128, ["scene.blend"], "component of 256 bytes"),
    ("/".join(["c" * 50] * 5), ["scene.blend"], "at most 250 are allowed"),
    ("a/" * 125 + "j", ["f"], "at most 250 are allowed"),
    ("job", ["a" * 256 + ".blend"], "component of 262 bytes"),
    ("job", ["é" * 128], "component of 256 bytes"),
    ("job", ["d" * 200 + "/" + "e" * 200 + "/" + "x" * 256], "component of 256 bytes"),
    ("job", ["/".join(["d" * 250] * 17)], "paths must be under 4096 bytes"),
    ("job", ["/".join(["d" * 250] * 16)], "would be"),  # fits alone, not under the jobs root
    ("job", ["a/" * 2000 + "f"], "levels deep"),
    ("job", ["a/" * 300 + "f"], "levels deep"),
])
async def test_over_long_and_over_deep_paths_are_400_and_leave_nothing(
        client: TestClient, shaman: Shaman, checkout: str, paths: list[str], words: str) -> None:
    assert await upload(client, DATA) == 204
    status, body = await post_checkout(client, checkout, paths)
    assert status == 400 and body["code"] == 400 and words in body["message"], body
    assert len(body["message"]) < 600
    assert tree(shaman.checkouts.root) == []


async def test_paths_up_to_the_limits_work_and_erase(client: TestClient, shaman: Shaman) -> None:
    assert await upload(client, DATA) == 204
    deep = "/".join(["d"] * 255) + "/scene.blend"
    long_name = "n" * 255
    checkout = "p/" + "c" * 200
    status, body = await post_checkout(client, checkout, [deep, long_name, "é" * 127])
    assert status == 200, body
    assert (shaman.checkouts.root / checkout / deep).read_bytes() == DATA
    status, body = await post_checkout(client, checkout, ["scene.blend"])  # taken: a suffix
    assert status == 200 and body["checkoutPath"].startswith(checkout + "-")
    assert await shaman.erase_checkout(checkout) is True
    assert await shaman.erase_checkout(body["checkoutPath"]) is True
    assert tree(shaman.checkouts.root) == []


async def test_a_long_multibyte_name_still_gets_a_suffix_that_fits(client: TestClient, shaman: Shaman) -> None:
    assert await upload(client, DATA) == 204
    name = "é" * 127  # 254 bytes: with "-xxxx" it would pass NAME_MAX, so it is shortened
    assert (await post_checkout(client, name, ["f"]))[1] == {"checkoutPath": name}
    status, body = await post_checkout(client, name, ["f"])
    assert status == 200 and len(body["checkoutPath"].encode()) <= 255, body


async def test_a_checkout_that_fails_midway_leaves_no_folders(
        aiohttp_client: Callable, make_shaman: Callable[..., Shaman], monkeypatch: pytest.MonkeyPatch) -> None:
    shaman = make_shaman(link_mode=LinkMode.SYMLINK)
    app = web.Application()
    add_shaman_routes(app, lambda: shaman)
    client = await aiohttp_client(app)
    assert await upload(client, DATA) == 204
    real_symlink = os.symlink
    made = []

    def full_disk(src, dst, *args, **kwargs):
        if len(made) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        made.append(dst)
        return real_symlink(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "symlink", full_disk)
    paths = [f"{'/'.join(['deep'] * 50)}/f{n}" for n in range(5)]
    status, body = await post_checkout(client, "projects/shot/job", paths)
    assert status == 500 and "No space left on device" in body["message"]
    assert tree(shaman.checkouts.root) == []
    assert not await shaman.has_checkout("projects/shot/job")


async def test_a_refused_checkout_keeps_folders_that_were_there(client: TestClient, shaman: Shaman) -> None:
    assert await upload(client, DATA) == 204
    assert (await post_checkout(client, "proj/a", ["f"]))[0] == 200
    status, body = await post_checkout(client, "proj/a/inner/job", ["f"])  # inside another checkout
    assert status == 409 and "inside the existing checkout 'proj/a'" in body["message"]
    assert tree(shaman.checkouts.root) == ["proj", "proj/a", "proj/a/f"]


@pytest.mark.parametrize("path", [
    "../escape.png", "a/../../b.png", "/etc/passwd", "a\x00b.png", "\x00", "C:/x.png", "a\\b.png",
    "./a.png", "a//b.png", "x" * 256, "a/" * 300 + "b", "\ud800",
])
async def test_requirement_paths_are_validated(client: TestClient, path: str) -> None:
    key = key_of(DATA)
    resp = await client.post(REQUIREMENTS_PATH, json={"files": [{"sha": key.sha, "size": key.size, "path": path}]})
    body = await resp.json()
    # A lone surrogate is refused by the JSON reader itself, before any path is looked at.
    assert resp.status == 400 and ("`files[0].path`" in body["message"] or "surrogate" in body["message"]), body


async def test_file_sizes_are_64_bit_integers(client: TestClient) -> None:
    # The document's maximum, as Flamenco's Go integers: one more is a 400, not a number too big to use.
    largest, sha = 2**63 - 1, key_of(DATA).sha
    resp = await client.get(f"/api/v3/shaman/files/{sha}/{largest}")
    assert resp.status == 200 and (await resp.json())["status"] == "unknown"
    for size in (str(largest + 1), "9" * 40):
        resp = await client.get(f"/api/v3/shaman/files/{sha}/{size}")
        assert resp.status == 400 and "file size" in (await resp.json())["message"], size
    resp = await client.post(REQUIREMENTS_PATH, json={"files": [{"sha": sha, "size": largest + 1, "path": "a"}]})
    assert resp.status == 400 and (await resp.json())["message"] == ("`files[0].size` must be a whole number from 0 to "
                                              "9,223,372,036,854,775,807, not 9223372036854775808")


async def test_requirements_may_leave_out_paths_but_not_give_empty_ones(client: TestClient) -> None:
    # Which contents the store lacks needs no path (Flamenco's example and Tablao's add-on ask so);
    # a path that is given is a real one, as the document says.
    key = key_of(DATA)
    for entry in ({"sha": key.sha, "size": key.size}, {"sha": key.sha, "size": key.size, "path": "textures/wood.png"}):
        resp = await client.post(REQUIREMENTS_PATH, json={"files": [entry]})
        assert resp.status == 200, await resp.text()
    for entry in ({"sha": key.sha, "size": key.size, "path": ""}, {"sha": key.sha, "size": key.size, "path": None}):
        resp = await client.post(REQUIREMENTS_PATH, json={"files": [entry]})
        body = await resp.json()
        assert resp.status == 400 and "`files[0].path`" in body["message"], (entry, body)
    resp = await client.post(CHECKOUT_PATH, json={"files": [{"sha": key.sha, "size": key.size}], "checkoutPath": "x"})
    assert (await resp.json())["message"] == "`files[0].path` is required: a string"  # a checkout needs them


async def test_checkout_records_survive_a_restart(client: TestClient, make_shaman: Callable[..., Shaman]) -> None:
    assert await upload(client, DATA) == 204
    assert (await post_checkout(client, "kept", ["f"]))[0] == 200
    again = make_shaman()  # a new process on the same storage
    assert await again.has_checkout("kept") is True
    assert await again.erase_checkout("kept") is True
    assert await again.has_checkout("kept") is False


async def test_only_recorded_checkouts_are_erased(client: TestClient, shaman: Shaman, tmp_path: Path) -> None:
    assert await upload(client, DATA) == 204
    root = shaman.checkouts.root
    handmade = root / "handmade"
    handmade.mkdir()
    (handmade / "file.txt").write_text("not the Shaman's")
    assert (await post_checkout(client, "proj/a", ["f"]))[0] == 200
    for path in ("handmade", "proj", "proj/a/f", "../storage", "/etc", "proj\x00", "x" * 300):
        assert await shaman.erase_checkout(path) is False
    assert (handmade / "file.txt").exists() and (root / "proj" / "a" / "f").exists()


async def test_a_recorded_checkout_replaced_by_a_link_is_not_followed(
        client: TestClient, shaman: Shaman, tmp_path: Path) -> None:
    assert await upload(client, DATA) == 204
    assert (await post_checkout(client, "proj/a", ["f"]))[0] == 200
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    root = shaman.checkouts.root
    import shutil

    shutil.rmtree(root / "proj")
    (root / "proj").symlink_to(outside)  # the parent, and below it the checkout, now lead out
    (outside / "a").mkdir()
    assert await shaman.erase_checkout("proj/a") is False
    assert (outside / "precious.txt").exists() and (outside / "a").is_dir()
    assert await shaman.has_checkout("proj/a") is False  # no longer the Shaman's: record dropped
