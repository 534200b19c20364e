"""Tests for last-rendered image intake, thumbnails and the global pointer."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.api.errors import ApiError
from app.manager.jobs.local_storage import LocalStorage
from app.manager.pictures.last_rendered import (
    DEFAULT_MAX_PIXELS,
    SUFFIXES,
    THUMBNAILS,
    ImageQueueFull,
    ImageTooLarge,
    LastRendered,
    UnsupportedImage,
    make_thumbnails,
)
from app.manager.pictures.picture_header import PictureHeader
from app.manager.pictures.thumbnails import ChildThumbnails, decodes_in_process
from tests.picture_files import blank_png, lying_png

JOB = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
OTHER_JOB = "a1b2c3d4-0000-4000-8000-000000000001"


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def gradient(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    image = Image.linear_gradient("L").resize(size)
    return image.convert(mode)


def fits_snugly(size: tuple[int, int], box: tuple[int, int]) -> bool:
    """Inside the box, touching it on one side (aspect kept, so the other side may be short)."""
    (width, height), (max_width, max_height) = size, box
    return width <= max_width and height <= max_height and (width == max_width or height == max_height)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


@pytest.fixture
async def running(storage: LocalStorage) -> AsyncIterator[tuple[LastRendered, list[tuple[str, Any]]]]:
    seen: list[tuple[str, Any]] = []

    async def on_processed(job_id: str, info: dict[str, Any]) -> None:
        seen.append((job_id, info))

    last_rendered = LastRendered(storage, on_processed=on_processed)
    runner = asyncio.create_task(last_rendered.run())
    yield last_rendered, seen
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner


def sizes_on_disk(storage: LocalStorage, job_id: str) -> dict[str, tuple[int, int]]:
    result = {}
    for name in SUFFIXES:
        with Image.open(storage.job_file(job_id, name)) as image:
            assert image.format == "JPEG"
            result[name] = image.size
    return result


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
async def test_image_becomes_three_jpegs(running, storage: LocalStorage, fmt: str, mime: str) -> None:
    last_rendered, seen = running
    await last_rendered.submit(JOB, encode(gradient((3840, 2160)), fmt), mime)
    await last_rendered.wait_idle()

    sizes = sizes_on_disk(storage, JOB)
    for name, box in THUMBNAILS:
        assert fits_snugly(sizes[name], box), (name, sizes[name])
    assert sizes["last-rendered.jpg"] == (1920, 1080)
    expected = {"base": f"/job-files/job-0f1e/{JOB}", "suffixes": list(SUFFIXES)}
    assert last_rendered.info(JOB) == expected
    assert last_rendered.global_info() == expected
    assert seen == [(JOB, expected)]
    assert not list(storage.job_dir(JOB).glob("*.tmp")), "temporary files must be renamed away"


async def test_portrait_and_small_images_keep_aspect_and_are_not_enlarged(running, storage) -> None:
    last_rendered, _ = running
    await last_rendered.submit(JOB, encode(gradient((1000, 2000)), "PNG"), "image/png")
    await last_rendered.submit(OTHER_JOB, encode(gradient((320, 240)), "PNG"), "image/png; charset=binary")
    await last_rendered.wait_idle()

    portrait = sizes_on_disk(storage, JOB)
    assert portrait["last-rendered.jpg"] == (540, 1080)
    assert portrait["last-rendered-small.jpg"] == (169, 338)
    assert portrait["last-rendered-tiny.jpg"] == (56, 112)
    small = sizes_on_disk(storage, OTHER_JOB)
    assert small["last-rendered.jpg"] == (320, 240)
    assert small["last-rendered-tiny.jpg"] == (149, 112)
    assert last_rendered.global_job_id == OTHER_JOB


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "L", "I;16", "CMYK"])
def test_thumbnails_from_unusual_modes(mode: str) -> None:
    if mode == "I;16":
        source = Image.new("I;16", (64, 48))
        source.putpixel((0, 0), 65535)
        fmt = "PNG"
    else:
        source = gradient((64, 48), mode)
        fmt = "JPEG" if mode == "CMYK" else "PNG"
    images = make_thumbnails(encode(source, fmt), DEFAULT_MAX_PIXELS)
    for _, data in images:
        with Image.open(io.BytesIO(data)) as image:
            assert image.mode == "RGB"
    if mode == "I;16":
        with Image.open(io.BytesIO(images[0][1])) as image:
            # 16-bit white must stay (near) white, not be clipped to a dark value.
            assert image.getpixel((0, 0))[0] > 200


async def test_transparent_png_is_flattened_on_black(running, storage) -> None:
    last_rendered, _ = running
    await last_rendered.submit(JOB, encode(Image.new("RGBA", (100, 100), (255, 0, 0, 0)), "PNG"), "image/png")
    await last_rendered.wait_idle()
    with Image.open(storage.job_file(JOB, "last-rendered.jpg")) as image:
        assert max(image.getpixel((50, 50))) < 10


async def test_wrong_content_type_is_415(storage) -> None:
    last_rendered = LastRendered(storage)
    with pytest.raises(UnsupportedImage) as excinfo:
        await last_rendered.submit(JOB, encode(gradient((10, 10)), "PNG"), "image/gif")
    assert excinfo.value.status == 415


@pytest.mark.parametrize(
    "data",
    [
        b"not an image at all",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        encode(gradient((200, 200)), "PNG")[:300],
        encode(gradient((200, 200)), "JPEG")[:400],
        encode(gradient((20, 20)), "GIF"),
    ],
    ids=["junk", "png-magic-only", "truncated-png", "truncated-jpeg", "gif-as-png"],
)
async def test_undecodable_bytes_are_415(running, storage, data: bytes) -> None:
    last_rendered, _ = running
    with pytest.raises(UnsupportedImage):
        await last_rendered.submit(JOB, data, "image/png")
    assert last_rendered.info(JOB) is None


async def test_too_big_is_413(storage) -> None:
    last_rendered = LastRendered(storage)
    with pytest.raises(ImageTooLarge) as excinfo:
        await last_rendered.submit(JOB, b"\xff" * (25 * 1024 * 1024 + 1), "image/jpeg")
    assert excinfo.value.status == 413


async def test_queue_full_is_429(storage) -> None:
    last_rendered = LastRendered(storage, queue_size=3)  # Not running: nothing drains the queue.
    data = encode(gradient((32, 32)), "JPEG")
    waiting = [asyncio.create_task(last_rendered.submit(JOB, data, "image/jpeg")) for _ in range(3)]
    for _ in range(500):  # until the three are queued, each waiting for its thumbnails
        if last_rendered._queue.full():
            break
        await asyncio.sleep(0.01)
    assert not any(task.done() for task in waiting)
    with pytest.raises(ImageQueueFull) as excinfo:
        await last_rendered.submit(JOB, data, "image/jpeg")
    assert excinfo.value.status == 429
    assert isinstance(excinfo.value, ApiError)
    runner = asyncio.create_task(last_rendered.run())
    await asyncio.gather(*waiting)  # once processed, each upload is answered
    runner.cancel()


async def test_global_info_survives_restart(running, storage) -> None:
    last_rendered, _ = running
    await last_rendered.submit(JOB, encode(gradient((64, 64)), "PNG"), "image/png")
    await last_rendered.wait_idle()

    reborn = LastRendered(storage)
    assert reborn.global_job_id == JOB
    assert reborn.global_info() == {"base": f"/job-files/job-0f1e/{JOB}", "suffixes": list(SUFFIXES)}


async def test_nothing_rendered_yet(storage) -> None:
    last_rendered = LastRendered(storage)
    assert last_rendered.global_info() is None
    assert last_rendered.info(JOB) is None


async def test_corrupt_state_file_is_ignored(storage) -> None:
    storage.root.mkdir(parents=True)
    storage.root_file("last-rendered.json").write_text("{nope")
    assert LastRendered(storage).global_info() is None


async def test_deleted_job_has_no_info_and_can_be_forgotten(running, storage) -> None:
    last_rendered, _ = running
    await last_rendered.submit(JOB, encode(gradient((64, 64)), "PNG"), "image/png")
    await last_rendered.wait_idle()
    storage.remove_job_dir(JOB)
    assert last_rendered.info(JOB) is None
    assert last_rendered.global_info() is None
    await last_rendered.forget(JOB)
    assert LastRendered(storage).global_job_id is None


async def test_failing_callback_does_not_stop_processing(storage) -> None:
    calls: list[str] = []

    def on_processed(job_id: str, info: dict[str, Any]) -> None:
        calls.append(job_id)
        raise RuntimeError("broadcast failed")

    last_rendered = LastRendered(storage, on_processed=on_processed)
    runner = asyncio.create_task(last_rendered.run())
    data = encode(gradient((32, 32)), "PNG")
    await last_rendered.submit(JOB, data, "image/png")
    await last_rendered.wait_idle()
    await last_rendered.submit(OTHER_JOB, data, "image/png")
    await last_rendered.wait_idle()
    runner.cancel()
    assert calls == [JOB, OTHER_JOB]


# Bounds: pixels, bytes, where a picture is decoded -------------------------------------------------------


async def test_the_pixel_limit_is_inclusive_and_refusals_leave_no_file(storage) -> None:
    last_rendered = LastRendered(storage, max_pixels=10_000)
    runner = asyncio.create_task(last_rendered.run())
    try:
        await last_rendered.submit(JOB, encode(gradient((100, 100)), "PNG"), "image/png")
        with pytest.raises(ImageTooLarge) as excinfo:
            await last_rendered.submit(JOB, encode(gradient((100, 101)), "PNG"), "image/png")
        assert "100 x 101 pixels" in excinfo.value.message and "10,000 pixels" in excinfo.value.message
        with pytest.raises(UnsupportedImage):
            await last_rendered.submit(JOB, lying_png(claimed=(90, 90)), "image/png")
    finally:
        runner.cancel()
    assert last_rendered.info(JOB) is not None
    assert list(last_rendered.incoming_dir.iterdir()) == []


async def test_a_body_longer_than_the_byte_limit_is_refused_while_it_streams(storage) -> None:
    last_rendered = LastRendered(storage, max_bytes=1000)

    async def endless():
        while True:
            yield b"\x89PNG" + b"\x00" * 296

    with pytest.raises(ImageTooLarge, match="1,000 bytes"):
        await last_rendered.receive(JOB, "image/png", None, endless())  # no Content-Length
    assert list(last_rendered.incoming_dir.iterdir()) == []


def test_leftovers_of_a_stopped_manager_are_removed_at_start(storage) -> None:
    incoming = storage.root.with_name(storage.root.name + "-incoming")
    incoming.mkdir(parents=True)
    (incoming / "upload-x.tmp").write_bytes(b"half an image")
    assert LastRendered(storage).incoming_dir == incoming
    assert list(incoming.iterdir()) == []


def test_which_pictures_the_manager_decodes_itself() -> None:
    assert decodes_in_process(PictureHeader("JPEG", 7680, 4320, single_scan=True))  # at 1/4 scale
    assert decodes_in_process(PictureHeader("PNG", 1920, 1080))
    assert not decodes_in_process(PictureHeader("JPEG", 7680, 4320))  # progressive: every coefficient
    assert not decodes_in_process(PictureHeader("PNG", 3840, 2160))


async def test_a_big_png_becomes_thumbnails_in_a_child_process(running, storage) -> None:
    last_rendered, _ = running
    data = encode(gradient((2400, 1600), "RGBA"), "PNG")
    assert not decodes_in_process(PictureHeader("PNG", 2400, 1600))
    await last_rendered.submit(JOB, data, "image/png")
    assert sizes_on_disk(storage, JOB)["last-rendered.jpg"] == (1620, 1080)


def _child(tmp_path: Path, data: bytes, **kwargs) -> ChildThumbnails:
    path = tmp_path / "picture"
    path.write_bytes(data)
    child = ChildThumbnails(path, DEFAULT_MAX_PIXELS, **kwargs)
    child.start()
    return child


@pytest.mark.slow  # waits out the decoder's time
def test_the_child_decoder_is_stopped_after_its_time(tmp_path: Path) -> None:
    child = _child(tmp_path, blank_png(7680, 4320), timeout_s=0.05)
    with pytest.raises(UnsupportedImage, match="longer than"):
        child.result()
    assert not child._process.is_alive()


@pytest.mark.slow  # a decoder process at its limit
def test_the_child_decoder_cannot_use_more_memory_than_it_is_given(tmp_path: Path, monkeypatch) -> None:
    from app.manager.pictures import thumbnails
    # 100 MiB of address space: the interpreter and Pillow fit, an 8K frame (133 MB as RGBA) does not.
    monkeypatch.setattr(thumbnails, "_CHILD_BASE_BYTES", 100 * 2**20)
    monkeypatch.setattr(thumbnails, "_CHILD_BYTES_PER_PIXEL", 0)
    with pytest.raises(UnsupportedImage, match="needs more than the 100 MiB"):
        _child(tmp_path, blank_png(7680, 4320)).result()


def test_pillows_own_guard_is_a_413_not_a_crash(monkeypatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert not decodes_in_process(PictureHeader("PNG", 200, 200))  # the child sets its guard to our limit
    with pytest.raises(ImageTooLarge, match="200 x 200"):
        make_thumbnails(encode(gradient((200, 200)), "PNG"), DEFAULT_MAX_PIXELS)


async def test_stopping_the_processor_stops_a_decoding_child(storage) -> None:
    import multiprocessing

    def decoders() -> list:
        return [p for p in multiprocessing.active_children() if p.name == "tablao-thumbnails"]

    last_rendered = LastRendered(storage)
    runner = asyncio.create_task(last_rendered.run())
    upload = asyncio.create_task(last_rendered.submit(JOB, blank_png(7680, 4320), "image/png"))
    for _ in range(200):
        if decoders():
            break
        await asyncio.sleep(0.01)
    assert decoders(), "the 8K PNG should be decoded in a child process"
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    for _ in range(100):
        if not decoders():
            break
        await asyncio.sleep(0.01)
    assert not decoders()
    upload.cancel()
    assert list(last_rendered.incoming_dir.iterdir()) == []


async def test_an_incoming_folder_that_cannot_be_made_falls_back_to_a_temp_folder(running, storage, tmp_path):
    last_rendered, _ = running
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    last_rendered.incoming_dir = blocked / "incoming"
    await last_rendered.submit(JOB, encode(gradient((64, 64)), "PNG"), "image/png")
    assert last_rendered.info(JOB) is not None
    assert last_rendered.incoming_dir != blocked / "incoming" and list(last_rendered.incoming_dir.iterdir()) == []
    last_rendered.incoming_dir.rmdir()
