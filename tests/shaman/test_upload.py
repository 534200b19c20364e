"""Uploads through the real HTTP routes: success, mismatches, races, aborts and restarts."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Callable

from aiohttp.test_utils import TestClient

from app.shaman import Shaman
from app.shaman.specs import FileKey
from tests.shaman.support import file_url, key_of, make_old, stored_blobs, temp_files, upload, wait_for

DATA = os.urandom(3 * 1024 * 1024 + 17)


async def test_upload_good_file_is_stored_and_then_known(client: TestClient, shaman: Shaman) -> None:
    key = key_of(DATA)
    assert await upload(client, DATA) == 204
    assert shaman.store.blob_path(key).read_bytes() == DATA
    resp = await client.get(file_url(key))
    assert await resp.json() == {"status": "stored"}
    assert await upload(client, DATA) == 208
    assert temp_files(shaman) == []


async def test_unknown_file_status(client: TestClient) -> None:
    resp = await client.get(file_url(key_of(b"nope")))
    assert resp.status == 200 and await resp.json() == {"status": "unknown"}


async def test_empty_file_can_be_stored(client: TestClient, shaman: Shaman) -> None:
    assert await upload(client, b"") == 204
    assert shaman.store.blob_path(key_of(b"")).stat().st_size == 0


async def test_wrong_checksum_is_417_and_nothing_stored(client: TestClient, shaman: Shaman) -> None:
    wrong = FileKey("0" * 64, len(DATA))
    resp = await client.post(file_url(wrong), data=io.BytesIO(DATA))
    assert resp.status == 417
    body = await resp.json()
    assert body["code"] == 417 and "checksum" in body["message"]
    assert stored_blobs(shaman) == [] and temp_files(shaman) == []


async def test_content_length_differing_from_size_is_417(client: TestClient, shaman: Shaman) -> None:
    key = key_of(DATA)
    resp = await client.post(file_url(FileKey(key.sha, key.size + 1)), data=io.BytesIO(DATA))
    assert resp.status == 417
    assert stored_blobs(shaman) == [] and temp_files(shaman) == []


async def _chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_chunked_body_shorter_or_longer_than_size_is_417(client: TestClient, shaman: Shaman) -> None:
    key = key_of(DATA)
    short = await client.post(file_url(key), data=_chunks(DATA[:-1]))
    assert short.status == 417
    longer = await client.post(file_url(FileKey(key.sha, key.size - 10)), data=_chunks(DATA))
    assert longer.status == 417
    assert stored_blobs(shaman) == [] and temp_files(shaman) == []


async def test_chunked_body_of_right_size_is_stored(client: TestClient, shaman: Shaman) -> None:
    resp = await client.post(file_url(key_of(DATA)), data=_chunks(DATA))
    assert resp.status == 204


async def test_bad_checksum_or_size_in_url_is_400(client: TestClient) -> None:
    for url in (
        "/api/v3/shaman/files/xyz/12",
        f"/api/v3/shaman/files/{'a' * 64}/-1",
        f"/api/v3/shaman/files/{'a' * 64}/1.5",
    ):
        for method in ("GET", "POST"):
            resp = await client.request(method, url, data=b"")
            assert resp.status == 400, (method, url)
            assert (await resp.json())["code"] == 400


async def test_concurrent_uploads_of_one_file_end_with_one_good_copy(
    client: TestClient, shaman: Shaman
) -> None:
    statuses = await asyncio.gather(*(upload(client, DATA) for _ in range(4)))
    assert sorted(statuses) == [204, 208, 208, 208]
    assert [p.read_bytes() == DATA for p in stored_blobs(shaman)] == [True]
    assert temp_files(shaman) == []


class _Gate:
    """A body that sends half, waits for `release`, then sends the rest."""

    def __init__(self, data: bytes):
        self.data = data
        self.half_sent = asyncio.Event()
        self.release = asyncio.Event()

    async def body(self) -> AsyncIterator[bytes]:
        half = len(self.data) // 2
        yield self.data[:half]
        self.half_sent.set()
        await self.release.wait()
        for start in range(half, len(self.data), 65536):
            yield self.data[start : start + 65536]


async def test_upload_overtaken_by_another_answers_already_stored(client: TestClient, shaman: Shaman) -> None:
    key = key_of(DATA)
    slow = _Gate(DATA)
    slow_task = asyncio.create_task(client.post(file_url(key), data=slow.body()))
    await slow.half_sent.wait()
    await wait_for(lambda: key in shaman.store.uploading_keys())
    assert (await (await client.get(file_url(key))).json()) == {"status": "uploading"}
    defer = {"X-Shaman-Can-Defer-Upload": "true"}
    assert await upload(client, DATA, headers=defer) == 425
    assert await upload(client, DATA) == 204  # no defer allowed: this one runs and wins
    slow.release.set()
    assert (await slow_task).status == 208
    assert [p.read_bytes() == DATA for p in stored_blobs(shaman)] == [True]
    await wait_for(lambda: temp_files(shaman) == [])


async def _open_raw_upload(client: TestClient, key: FileKey, first_part: bytes) -> asyncio.StreamWriter:
    _reader, writer = await asyncio.open_connection(client.host, client.port)
    head = f"POST {file_url(key)} HTTP/1.1\r\nHost: x\r\nContent-Length: {key.size}\r\n\r\n"
    writer.write(head.encode() + first_part)
    await writer.drain()
    return writer


async def test_client_disconnect_mid_body_leaves_no_temp(client: TestClient, shaman: Shaman) -> None:
    key = key_of(DATA)
    writer = await _open_raw_upload(client, key, DATA[: len(DATA) // 2])
    await wait_for(lambda: bool(temp_files(shaman)))
    writer.close()
    await wait_for(lambda: temp_files(shaman) == [] and not shaman.store.uploading_keys())
    assert stored_blobs(shaman) == []
    assert await upload(client, DATA) == 204  # and the file can be uploaded afterwards


async def test_restart_mid_upload_keeps_stored_files_and_sweeps_stale_temps(
    client: TestClient, shaman: Shaman, make_shaman: Callable[..., Shaman]
) -> None:
    stored = os.urandom(1000)
    assert await upload(client, stored) == 204
    # A temp left by a process that died hours ago, and an upload that is running right now.
    crashed = shaman.store.uploading_dir / "ab" / ("c" * 62) / "10-dead.tmp"
    crashed.parent.mkdir(parents=True)
    crashed.write_bytes(b"partial")
    make_old(crashed, 7 * 3600)
    writer = await _open_raw_upload(client, key_of(DATA), DATA[:1000])
    await wait_for(lambda: len(temp_files(shaman)) == 2)

    restarted = make_shaman()  # a new store instance on the same root, as after a restart
    assert not crashed.exists()
    assert restarted.store.blob_path(key_of(stored)).read_bytes() == stored
    assert len(temp_files(restarted)) == 1  # the live upload's temp is young, so it is kept
    writer.close()
    await wait_for(lambda: temp_files(shaman) == [])


async def test_original_filename_header(client: TestClient) -> None:
    encoded = "=?utf-8?b?dMOrc3Qgw7FhbWUuYmxlbmQ=?="
    assert await upload(client, b"a", headers={"X-Shaman-Original-Filename": encoded}) == 204
    assert await upload(client, b"b", headers={"X-Shaman-Original-Filename": "plain.blend"}) == 204
    for bad in ("=?utf-8?b?!!!?=", "=?latin-1?q?a=E9?=", "=?utf-8?q?a=FF?="):
        resp = await client.post(
            file_url(key_of(b"c")), data=b"c", headers={"X-Shaman-Original-Filename": bad}
        )
        assert resp.status == 400, bad
    resp = await client.post(
        file_url(key_of(b"c")), data=b"c", headers={"X-Shaman-Can-Defer-Upload": "maybe"}
    )
    assert resp.status == 400
