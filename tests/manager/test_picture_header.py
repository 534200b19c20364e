"""Reading a picture's header and checking a PNG's data without decoding pixels."""

from __future__ import annotations

import io

import pytest

from app.manager.pictures.picture_header import (
    ImageTooLarge,
    PictureHeader,
    UnsupportedImage,
    check_pixels,
    check_png_data,
    png_data_size,
    read_header,
    working_pixels,
)
from tests import picture_files


def header_of(data: bytes) -> PictureHeader:
    return read_header(io.BytesIO(data))


def test_the_bomb_is_read_from_its_first_33_bytes():
    header = header_of(picture_files.picture_bomb()[:33])
    assert (header.format, header.width, header.height, header.bit_depth, header.color_type) == (
        "PNG", 13_000, 13_000, 16, 6)
    with pytest.raises(ImageTooLarge) as excinfo:
        check_pixels(header, 40_000_000)
    assert excinfo.value.status == 413
    message = excinfo.value.message
    assert "13000 x 13000 pixels (169.0 megapixels)" in message
    assert "40,000,000 pixels" in message and "last_rendered_max_pixels" in message


def test_the_limit_is_inclusive():
    check_pixels(PictureHeader("PNG", 100, 100), 10_000)
    with pytest.raises(ImageTooLarge):
        check_pixels(PictureHeader("PNG", 100, 101), 10_000)


@pytest.mark.parametrize(("kwargs", "single_scan"), [
    ({}, True),
    ({"progressive": True}, False),
])
def test_jpeg_size_and_scan_layout(kwargs, single_scan):
    data = picture_files.frame((640, 360), "JPEG", **kwargs)
    header = header_of(data)
    assert (header.format, header.width, header.height, header.single_scan) == ("JPEG", 640, 360, single_scan)


def test_jpeg_after_big_metadata_segments():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buffer, "JPEG", exif=b"Exif\x00\x00" + b"\x00" * 60_000,
                                    icc_profile=b"\x00" * 200_000)
    assert header_of(buffer.getvalue()).width == 64


def test_working_pixels_follow_the_jpeg_draft_scale():
    eight_k = PictureHeader("JPEG", 7680, 4320, single_scan=True)
    assert working_pixels(eight_k, (1920, 1080)) == 1920 * 1080  # decoded at 1/4
    assert working_pixels(PictureHeader("JPEG", 7679, 4319, single_scan=True), (1920, 1079)) == 3840 * 2160
    tall = PictureHeader("JPEG", 1920, 10800, single_scan=True)
    assert working_pixels(tall, (192, 1080)) == 240 * 1350  # the fitted size, not the box, sets the scale
    assert working_pixels(PictureHeader("JPEG", 7680, 4320), (1920, 1080)) == 7680 * 4320  # progressive
    assert working_pixels(PictureHeader("PNG", 7680, 4320), (1920, 1080)) == 7680 * 4320


@pytest.mark.parametrize(("data", "words"), [
    (b"", "empty"),
    (b"GIF89a" + b"\x00" * 40, "neither a JPEG nor a PNG"),
    (picture_files.PNG_MAGIC, "truncated"),
    (picture_files.PNG_MAGIC + picture_files.png_chunk(b"IDAT", b"x" * 13), "IHDR"),
    (picture_files.header_only_png(0, 100), "no pixels"),
    (picture_files.header_only_png(100, 0), "no pixels"),
    (picture_files.header_only_png(2**31, 5), "more than PNG allows"),
    (picture_files.PNG_MAGIC + picture_files.ihdr(10, 10, depth=3, color_type=2), "invalid"),
    (picture_files.jpeg_header(0, 100), "no pixels"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "no frame header"),
    (b"\xff\xd8" + b"\x00" * 2000, "where a marker belongs"),
], ids=["empty", "gif", "png-magic-only", "png-no-ihdr", "png-zero-width", "png-zero-height", "png-too-wide",
        "png-bad-depth", "jpeg-zero-width", "jpeg-no-frame", "jpeg-junk"])
def test_broken_headers_are_415_in_words(data, words):
    with pytest.raises(UnsupportedImage) as excinfo:
        header_of(data)
    assert excinfo.value.status == 415 and words in excinfo.value.message


def test_a_png_header_with_a_wrong_checksum_is_refused():
    data = bytearray(picture_files.header_only_png(100, 100))
    data[19] ^= 1  # a bit of the width, CRC left as it was
    with pytest.raises(UnsupportedImage, match="checksum"):
        header_of(bytes(data))


def test_huge_headers_are_read_and_then_refused_by_size():
    for data in (picture_files.header_only_png(2**31 - 1, 2**31 - 1), picture_files.jpeg_header(65535, 65535)):
        with pytest.raises(ImageTooLarge):
            check_pixels(header_of(data), 40_000_000)


def _check_data(data: bytes) -> None:
    fh = io.BytesIO(data)
    check_png_data(fh, read_header(fh))


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_good_png_data_passes(mode):
    _check_data(picture_files.frame((300, 200), "PNG", mode))
    _check_data(picture_files.blank_png(7680, 4320))


def test_png_data_sizes():
    rgb = {"bit_depth": 8, "color_type": 2}
    assert png_data_size(PictureHeader("PNG", 37, 23, **rgb)) == 23 * (1 + 37 * 3)
    assert png_data_size(PictureHeader("PNG", 13_000, 13_000, bit_depth=16, color_type=6)) == 13_000 * 104_001
    assert png_data_size(PictureHeader("PNG", 9, 2, bit_depth=1, color_type=0)) == 2 * (1 + 2)  # 9 bits: 2 bytes
    # Adam7: the seven passes of an 8 x 8 frame are 1x1, 1x1, 2x1, 2x2, 4x2, 4x4 and 8x4 pixels, each
    # row with its filter byte; a 1 x 1 frame has only the first pass.
    assert png_data_size(PictureHeader("PNG", 8, 8, interlaced=True, **rgb)) == 4 + 4 + 7 + 2 * 7 + 2 * 13 + 4 * 13 + 4 * 25
    assert png_data_size(PictureHeader("PNG", 1, 1, interlaced=True, **rgb)) == 4


@pytest.mark.parametrize(("data", "words"), [
    (picture_files.lying_png(claimed=(4000, 3000)), "ends early"),
    (picture_files.lying_png(claimed=(16, 16), actual=(400, 300)), "more image data"),
    (picture_files.header_only_png(640, 480), "ends early"),
    (picture_files.frame((300, 200), "PNG")[:-12], "ends before its IEND"),
    (picture_files.frame((300, 200), "PNG")[:200], "truncated"),
], ids=["claims-more", "claims-less", "no-data", "no-iend", "cut"])
def test_png_data_that_does_not_match_its_header_is_refused(data, words):
    with pytest.raises(UnsupportedImage) as excinfo:
        _check_data(data)
    assert words in excinfo.value.message


def test_a_corrupted_data_chunk_is_refused():
    data = bytearray(picture_files.frame((300, 200), "PNG"))
    data[60] ^= 0xFF  # inside the first IDAT: the inflater (which reads it first) or the CRC says so
    with pytest.raises(UnsupportedImage, match="checksum|not valid deflate data"):
        _check_data(bytes(data))
    data = bytearray(picture_files.frame((300, 200), "PNG"))
    data[-14] ^= 0xFF  # the last IDAT's CRC (IEND is the last 12 bytes)
    with pytest.raises(UnsupportedImage, match="IDAT chunk fails its checksum"):
        _check_data(bytes(data))


def test_png_data_is_inflated_in_steps_without_keeping_it():
    import tracemalloc

    data = picture_files.blank_png(7680, 4320)  # 265 MB of rows
    tracemalloc.start()
    try:
        _check_data(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, peak
