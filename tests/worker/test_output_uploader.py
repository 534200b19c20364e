"""Last-rendered previews: JPEG re-encoding, skipping unsupported files, newest-only uploads."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image

from app.worker.client import WorkerClient, new_secret
from app.worker.config import Credentials
from app.worker.output_uploader import OutputUploader, encode_preview
from tests.worker.fake_manager import FakeManager


def _image(path: Path, size: tuple[int, int], mode: str = "RGB", fmt: str = "PNG") -> Path:
    Image.new(mode, size, 200 if mode.startswith("I") else (10, 120, 230)).save(path, format=fmt)
    return path


def test_big_png_becomes_a_jpeg_within_1920x1080(tmp_path: Path) -> None:
    jpeg = encode_preview(_image(tmp_path / "big.png", (4000, 2000)))
    assert jpeg is not None
    with Image.open(io.BytesIO(jpeg)) as img:
        assert img.format == "JPEG" and img.size == (1920, 960)


def test_small_images_keep_their_size(tmp_path: Path) -> None:
    for fmt, name in (("JPEG", "a.jpg"), ("TIFF", "a.tif"), ("PNG", "a.png")):
        jpeg = encode_preview(_image(tmp_path / name, (32, 32), fmt=fmt))
        assert jpeg is not None
        assert Image.open(io.BytesIO(jpeg)).size == (32, 32)


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "gray16.png"
    Image.new("I;16", (8, 8), 32768).save(path)
    jpeg = encode_preview(path)
    assert jpeg is not None
    value = Image.open(io.BytesIO(jpeg)).convert("L").getpixel((4, 4))
    assert 120 <= value <= 135


def test_exr_and_non_images_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "frame.exr").write_bytes(b"v/1\x01 not really")
    (tmp_path / "notes.png").write_text("not an image")
    _image(tmp_path / "frame.bmp", (8, 8), fmt="BMP")
    assert encode_preview(tmp_path / "frame.exr") is None
    assert encode_preview(tmp_path / "notes.png") is None
    assert encode_preview(tmp_path / "frame.bmp") is None
    assert encode_preview(tmp_path / "missing.png") is None


async def test_only_the_newest_pending_image_is_uploaded(fake_manager: FakeManager, tmp_path: Path) -> None:
    async with WorkerClient(fake_manager.url) as client:
        client.credentials = await client.register("uploader", ["blender"], new_secret())
        uploader = OutputUploader(client)
        for n in range(3):
            uploader.queue_image("task-1", _image(tmp_path / f"{n}.png", (16 + n, 16)))
        runner = asyncio.create_task(uploader.run())
        assert await uploader.wait_idle(5)
        runner.cancel()
    [(task_id, data, content_type)] = fake_manager.outputs
    assert (task_id, content_type) == ("task-1", "image/jpeg")
    assert Image.open(io.BytesIO(data)).size == (18, 16)


async def test_upload_failures_are_only_logged(tmp_path: Path) -> None:
    async with WorkerClient("http://127.0.0.1:9") as client:  # nothing listens on port 9
        client.credentials = Credentials("worker", "secret")
        uploader = OutputUploader(client)
        runner = asyncio.create_task(uploader.run())
        uploader.queue_image("task-1", _image(tmp_path / "a.png", (8, 8)))
        assert await uploader.wait_idle(5)
        assert uploader.uploaded == 0
        runner.cancel()
