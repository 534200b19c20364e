"""Checkouts through the HTTP routes: link modes, path validation, suffixes, missing blobs, erase."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from app.shaman import LinkMode, Shaman
from app.shaman.specs import checkout_files
from app.shaman.web import CHECKOUT_PATH, LINK_MODE_HEADER, add_shaman_routes
from tests.shaman.support import key_of, upload

FILES = {"scene.blend": b"blend data", "textures/wood.png": b"png bytes", "textures/sub/rock.png": b"rock"}


def specs(files: dict[str, bytes]) -> list[dict]:
    return [{"sha": key_of(data).sha, "size": len(data), "path": path} for path, data in files.items()]


async def upload_all(client: TestClient, files: dict[str, bytes]) -> None:
    for data in files.values():
        assert await upload(client, data) in (204, 208)


async def post_checkout(
    client: TestClient, path: str, files: dict[str, bytes] = FILES
) -> tuple[int, dict, str]:
    resp = await client.post(CHECKOUT_PATH, json={"files": specs(files), "checkoutPath": path})
    return resp.status, await resp.json(), resp.headers.get(LINK_MODE_HEADER, "")


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


async def test_symlink_checkout_uses_relative_links(client: TestClient, shaman: Shaman) -> None:
    await upload_all(client, FILES)
    status, body, mode = await post_checkout(client, "project/shot-1")
    assert (status, body, mode) == (200, {"checkoutPath": "project/shot-1"}, "symlink")
    root = shaman.checkouts.root / "project" / "shot-1"
    for path, data in FILES.items():
        assert (root / path).is_symlink() and not os.path.isabs(os.readlink(root / path))
        assert (root / path).read_bytes() == data


@pytest.mark.parametrize("mode", [LinkMode.HARDLINK, LinkMode.COPY])
async def test_forced_link_modes(
    aiohttp_client: Callable, make_shaman: Callable[..., Shaman], mode: LinkMode
) -> None:
    shaman = make_shaman(link_mode=mode)
    app = web.Application()
    add_shaman_routes(app, lambda: shaman)
    client = await aiohttp_client(app)
    await upload_all(client, FILES)
    status, _body, reported = await post_checkout(client, "job")
    assert (status, reported) == (200, mode.value)
    wood = shaman.checkouts.root / "job" / "textures" / "wood.png"
    assert not wood.is_symlink() and wood.read_bytes() == FILES["textures/wood.png"]
    assert wood.stat().st_nlink == (2 if mode is LinkMode.HARDLINK else 1)


async def test_auto_mode_falls_back_when_symlinks_are_refused(
    client: TestClient, shaman: Shaman, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(1, "A required privilege is not held by the client")

    await upload_all(client, FILES)
    monkeypatch.setattr(os, "symlink", refuse)
    status, _body, mode = await post_checkout(client, "no-symlinks")
    assert (status, mode) == (200, "hardlink")
    monkeypatch.setattr(os, "link", refuse)
    result = await shaman.checkout(checkout_files(specs(FILES)), "no-links-at-all")
    assert result.link_mode is LinkMode.COPY


async def test_existing_checkout_gets_a_suffix(client: TestClient, shaman: Shaman) -> None:
    await upload_all(client, FILES)
    assert (await post_checkout(client, "job"))[1] == {"checkoutPath": "job"}
    status, body, _ = await post_checkout(client, "job")
    assert status == 200 and body["checkoutPath"].startswith("job-") and len(body["checkoutPath"]) == 8
    assert (shaman.checkouts.root / body["checkoutPath"] / "scene.blend").read_bytes() == FILES["scene.blend"]


async def test_checkout_path_in_use_after_ten_suffixes_is_409(
    client: TestClient, shaman: Shaman, monkeypatch: pytest.MonkeyPatch
) -> None:
    await upload_all(client, FILES)
    monkeypatch.setattr("app.shaman.checkout.secrets.choice", lambda _alphabet: "a")
    assert (await post_checkout(client, "job"))[0] == 200
    assert (await post_checkout(client, "job"))[1] == {"checkoutPath": "job-aaaa"}
    status, body, _ = await post_checkout(client, "job")
    assert status == 409 and body["code"] == 409


async def test_missing_blob_is_424_and_nothing_is_created(client: TestClient, shaman: Shaman) -> None:
    await upload(client, FILES["scene.blend"])
    status, body, _ = await post_checkout(client, "job")
    assert status == 424 and body["code"] == 424 and "textures/wood.png" in body["message"]
    assert listing(shaman.checkouts.root) == []


@pytest.mark.parametrize(
    "checkout_path",
    [
        "../outside",
        "a/../../outside",
        "/abs/path",
        "C:\\Windows",
        "C:/Windows",
        "c:relative",
        "a\\..\\..\\x",
        "a//b",
        "./a",
        "a/.",
        "...",
        "a/. /b",
        "",
        "a\x00b",
        "job*",
        "{jobs}",
    ],
)
async def test_bad_checkout_paths_are_refused(client: TestClient, shaman: Shaman, checkout_path: str) -> None:
    await upload_all(client, FILES)
    status, body, _ = await post_checkout(client, checkout_path)
    assert status == 400 and body["code"] == 400
    assert listing(shaman.checkouts.root) == []


@pytest.mark.parametrize(
    "file_path", ["../escape.png", "/etc/passwd", "C:\\x.png", "a\\b.png", "a/../../b.png", "D:/x"]
)
async def test_bad_file_paths_are_refused(client: TestClient, shaman: Shaman, file_path: str) -> None:
    await upload_all(client, FILES)
    status, _body, _ = await post_checkout(client, "job", {**FILES, file_path: b"png bytes"})
    assert status == 400
    assert listing(shaman.checkouts.root) == []


async def test_symlinked_parent_leading_outside_is_refused(
    client: TestClient, shaman: Shaman, tmp_path: Path
) -> None:
    await upload_all(client, FILES)
    outside = tmp_path / "outside"
    outside.mkdir()
    (shaman.checkouts.root / "evil").symlink_to(outside)
    for path in ("evil/job", "evil/deeper/job"):
        status, body, _ = await post_checkout(client, path)
        assert status == 409 and "symbolic link 'evil'" in body["message"], body
    assert list(outside.iterdir()) == []


async def test_file_used_as_directory_is_refused(client: TestClient, shaman: Shaman) -> None:
    await upload_all(client, FILES)
    status, _body, _ = await post_checkout(client, "job", {**FILES, "scene.blend/x": b"rock"})
    assert status == 400
    assert listing(shaman.checkouts.root) == []


async def test_erase_checkout_removes_tree_and_empty_parents_but_not_blobs(
    client: TestClient, shaman: Shaman
) -> None:
    await upload_all(client, FILES)
    await post_checkout(client, "project/job")
    assert await shaman.erase_checkout("project/job") is True
    assert listing(shaman.checkouts.root) == []
    assert len(list(shaman.store.stored_dir.rglob("*.blob"))) == len(FILES)
    assert await shaman.erase_checkout("project/job") is False
