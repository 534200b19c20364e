"""`GET /tablao-addon.zip` and `/tablao-extension.zip` on a real Manager: the add-on with the Manager's
address filled in, behind the access token when there is one, and a Host header that can only ever
put a checked host:port into the zip."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile

import pytest

from app.manager.lan import addon_zip
from app.manager.lan.addon_zip import MAX_ZIP_BYTES, manager_url


async def _get(manager, path: str, **kwargs) -> tuple[int, bytes, dict]:
    async with manager.session.get(path, **kwargs) as resp:
        return resp.status, await resp.read(), dict(resp.headers)


def _served_url(data: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist().count(name) == 1
        return json.loads(zf.read(name))["manager_url"]


async def _raw(manager, request: bytes) -> tuple[int, bytes]:
    """Send `request` as it is (any Host bytes), return (status, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", manager.service.port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def test_the_addon_carries_the_address_the_request_came_to(manager):
    status, data, headers = await _get(manager, "/tablao-addon.zip")
    assert status == 200, data[:300]
    assert headers["Content-Type"] == "application/zip"
    assert 'filename="tablao-0.1.0-addon.zip"' in headers["Content-Disposition"]
    assert headers["Cache-Control"] == "no-store"
    assert _served_url(data, "tablao_blender/manager.json") == f"{manager.url}/"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
    assert "tablao_blender/__init__.py" in names and "tablao_blender/_api/jobs.py" in names
    assert not any("__pycache__" in n for n in names)
    assert len(data) < MAX_ZIP_BYTES + 1024

    status, data, _ = await _get(manager, "/tablao-addon.zip", headers={"Host": f"localhost:{manager.service.port}"})
    assert status == 200 and _served_url(data, "tablao_blender/manager.json") == \
        f"http://localhost:{manager.service.port}/"
    status, data, _ = await _get(manager, "/tablao-addon.zip", headers={"Host": f"[::1]:{manager.service.port}"})
    assert status == 200 and _served_url(data, "tablao_blender/manager.json") == \
        f"http://[::1]:{manager.service.port}/"


async def test_the_extension_has_the_manifest_and_the_address_at_its_root(manager):
    status, data, headers = await _get(manager, "/tablao-extension.zip")
    assert status == 200
    assert 'filename="tablao-0.1.0-extension.zip"' in headers["Content-Disposition"]
    assert _served_url(data, "manager.json") == f"{manager.url}/"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert "blender_manifest.toml" in zf.namelist()


async def test_head_answers_without_the_zip(manager):
    async with manager.session.head("/tablao-addon.zip") as resp:
        assert resp.status == 200 and int(resp.headers["Content-Length"]) > 1000
        assert await resp.read() == b""


async def test_a_request_without_host_gets_the_address_it_reached(manager):
    status, body = await _raw(manager, b"GET /tablao-addon.zip HTTP/1.0\r\n\r\n")
    assert status == 200
    assert _served_url(body, "tablao_blender/manager.json") == f"http://127.0.0.1:{manager.service.port}/"


async def test_the_access_token_guards_the_download(manager_factory):
    manager = await manager_factory(access_token="s3cret")
    for path in ("/tablao-addon.zip", "/tablao-extension.zip"):
        status, body, _ = await _get(manager, path)
        assert status == 403 and b"access token" in body
    status, data, _ = await _get(manager, "/tablao-addon.zip", headers={"Authorization": "Bearer s3cret"})
    assert status == 200
    # The token is never written into the zip: only the address is.
    assert b"s3cret" not in data
    status, data, _ = await _get(manager, "/tablao-addon.zip", params={"access_token": "s3cret"})
    assert status == 200 and _served_url(data, "tablao_blender/manager.json") == f"{manager.url}/"


ABUSIVE_HOSTS = [
    b'evil.example", "x": "1',
    b"evil.example/../x",
    b"a b.example",
    b"evil.example:80:80",
    b"evil.example:99999",
    b"evil.example:-1",
    b"[::1",
    b"user@evil.example",
    b"evil.example#frag",
    b"\xc3\xa9vil.example",
    b"a" * 300,
    b"-leading.example",
    b"",
]


@pytest.mark.parametrize("host", ABUSIVE_HOSTS, ids=lambda h: h[:24].decode("latin-1"))
async def test_a_host_header_cannot_put_anything_but_a_host_and_port_into_the_zip(manager_factory, host):
    # allowed_hosts "*": the request guard lets any name through, so the route's own check is all there is.
    manager = await manager_factory(allowed_hosts=["*"])
    status, body = await _raw(manager, b"GET /tablao-addon.zip HTTP/1.1\r\nHost: " + host
                              + b"\r\nConnection: close\r\n\r\n")
    assert status == 400, (status, body[:300])
    assert b"Host" in body


async def test_a_name_the_manager_does_not_answer_to_is_refused_before_the_zip(manager):
    status, body = await _raw(manager, b"GET /tablao-addon.zip HTTP/1.1\r\nHost: rebind.example:8080\r\n"
                              b"Connection: close\r\n\r\n")
    assert status == 421


async def test_an_installation_without_the_addon_says_where_to_get_it(manager, monkeypatch):
    monkeypatch.setattr(addon_zip, "_source_folder", lambda: None)
    addon_zip._carried.cache_clear()
    try:
        status, body, _ = await _get(manager, "/tablao-addon.zip")
    finally:
        addon_zip._carried.cache_clear()
    assert status == 404
    assert b"legacy.zip" in body and b"addon.build" in body


async def test_an_oversized_carried_addon_is_not_served(manager, monkeypatch, tmp_path):
    big = tmp_path / "tablao_blender"
    big.mkdir()
    (big / "__init__.py").write_text("bl_info = {}\n")
    (big / "filler.bin").write_bytes(__import__("os").urandom(MAX_ZIP_BYTES + 1))
    monkeypatch.setattr(addon_zip, "_source_folder", lambda: big)
    addon_zip._carried.cache_clear()
    try:
        status, body, _ = await _get(manager, "/tablao-addon.zip")
    finally:
        addon_zip._carried.cache_clear()
    assert status == 404 and b"larger than" in body


def test_manager_url_is_built_from_checked_parts():
    assert manager_url("http", "Render-01.studio.lan.", 8080) == "http://render-01.studio.lan:8080/"
    assert manager_url("http", "192.168.1.20", 80) == "http://192.168.1.20/"
    assert manager_url("https", "farm", 443) == "https://farm/"
    assert manager_url("http", "0:0:0:0:0:0:0:1", 8080) == "http://[::1]:8080/"
    assert manager_url("http", "farm", None) == "http://farm/"
    for bad in ("a/b", "a b", 'a"b', "", "x" * 254, "a..b", "ä.example"):
        with pytest.raises(ValueError):
            manager_url("http", bad, 8080)
    with pytest.raises(ValueError):
        manager_url("javascript", "farm", 80)
    with pytest.raises(ValueError):
        manager_url("http", "farm", 70000)
