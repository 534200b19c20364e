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
from app.manager.last_rendered import (
    SUFFIXES,
    THUMBNAILS,
    ImageQueueFull,
    ImageTooLarge,
    LastRendered,
    UnsupportedImage,
    make_thumbnails,
)
from app.manager.local_storage import LocalStorage

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
    images = make_thumbnails(encode(source, fmt))
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
async def test_undecodable_bytes_are_415(storage, data: bytes) -> None:
    last_rendered = LastRendered(storage)
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
    for _ in range(3):
        await last_rendered.submit(JOB, data, "image/jpeg")
    with pytest.raises(ImageQueueFull) as excinfo:
        await last_rendered.submit(JOB, data, "image/jpeg")
    assert excinfo.value.status == 429
    assert isinstance(excinfo.value, ApiError)


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
