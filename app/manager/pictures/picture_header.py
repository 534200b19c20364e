"""What an uploaded picture says about itself, read and checked before any pixel is decoded.

A PNG or JPEG states its width and height in its first bytes; decoding it can take gigabytes
(a 1.3 MB PNG can hold 13,000 x 13,000 16-bit pixels). `read_header` reads those bytes with
plain `struct` code, so neither Pillow nor its own decompression-bomb guard is involved before
`check_pixels` has refused a picture over the Manager's pixel limit (413). `check_png_data`
then walks the PNG's chunks (every CRC) and inflates its image data in 1 MiB steps without
keeping it, so a truncated file or one whose header lies about its size is refused (415)
before a decoder allocates anything for it.

`working_pixels` says how many pixels a decode holds at once: a single-scan JPEG decodes a
band at a time, straight to the thumbnail's scale (libjpeg's DCT scaling, Pillow's `draft`);
a PNG, and a progressive or multi-scan JPEG, need the whole frame (or all its coefficients).
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from app.api.errors import ApiError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PIXEL_LIMIT_KEY = "last_rendered_max_pixels"

# PNG colour type -> (samples per pixel, allowed bit depths).
_PNG_TYPES = {0: (1, (1, 2, 4, 8, 16)), 2: (3, (8, 16)), 3: (1, (1, 2, 4, 8)), 4: (2, (8, 16)), 6: (4, (8, 16))}
_PNG_MAX_SIDE = 2**31 - 1
# Adam7 passes: (first column, first row, column step, row step).
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_INFLATE_STEP = 1 << 20
_READ_STEP = 1 << 20

# JPEG frame headers: SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC), which share the range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_SEQUENTIAL_HUFFMAN = frozenset({0xC0, 0xC1})  # the ones libjpeg can decode a band at a time
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # markers without a length
_JPEG_MAX_SEGMENTS = 1024  # real files have a few dozen before the first scan
_JPEG_MAX_STRAY = 1024


class ImageTooLarge(ApiError):
    """413: more bytes than the Manager takes, or more pixels than `last_rendered_max_pixels`."""

    status = 413


class UnsupportedImage(ApiError):
    """415: not a JPEG or PNG, or one that is broken, truncated or lies about its size."""

    status = 415


@dataclass(frozen=True, slots=True)
class PictureHeader:
    format: str  # "PNG" or "JPEG"
    width: int
    height: int
    # JPEG: one sequential Huffman scan holding every component (decodable a band at a time).
    single_scan: bool = False
    # PNG: what the image data must inflate to.
    bit_depth: int = 0
    color_type: int = 0
    interlaced: bool = False

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def describe(self) -> str:
        return f"{self.width} x {self.height} pixels ({megapixels(self.pixels)})"


def megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.1f} megapixels"


# Reading --------------------------------------------------------------------------------------------


def read_header(fh: BinaryIO) -> PictureHeader:
    """The format and size of the picture in `fh` (at its start); `UnsupportedImage` if it has none."""
    start = fh.read(8)
    if not start:
        raise UnsupportedImage("the image is empty (0 bytes); send a JPEG or PNG")
    if start == PNG_SIGNATURE:
        return _png_header(fh)
    if start[:2] == b"\xff\xd8":
        fh.seek(2)
        return _jpeg_header(fh)
    raise UnsupportedImage("the image is neither a JPEG nor a PNG (its first bytes say neither); send one of those")


def check_pixels(header: PictureHeader, max_pixels: int) -> None:
    """413 for a picture over the limit, in words that say both sizes and where the limit is set."""
    if header.pixels > max_pixels:
        raise ImageTooLarge(
            f"the image is {header.describe()}; the Manager takes images of at most "
            f"{max_pixels:,} pixels ({megapixels(max_pixels)}, `{PIXEL_LIMIT_KEY}` in flamenco-manager.yaml). "
            "Send a smaller preview (Tablao workers fit theirs in 1920 x 1080)")


def working_pixels(header: PictureHeader, target: tuple[int, int]) -> int:
    """Pixels a decode for a thumbnail of `target` (width, height) holds in memory at once."""
    if header.format == "JPEG" and header.single_scan:
        scale = jpeg_draft_scale((header.width, header.height), target)
        return math.ceil(header.width / scale) * math.ceil(header.height / scale)
    return header.pixels


def jpeg_draft_scale(size: tuple[int, int], target: tuple[int, int]) -> int:
    """The 1/1, 1/2, 1/4 or 1/8 reduction Pillow's `draft(mode, target)` asks libjpeg for."""
    ratio = min(size[0] // max(1, target[0]), size[1] // max(1, target[1]))
    return next(scale for scale in (8, 4, 2, 1) if ratio >= scale)


def _png_header(fh: BinaryIO) -> PictureHeader:
    raw = fh.read(25)
    if len(raw) < 25:
        raise UnsupportedImage("the PNG ends inside its header (IHDR); the file is truncated")
    length, kind = struct.unpack(">I4s", raw[:8])
    if kind != b"IHDR" or length != 13:
        raise UnsupportedImage("the PNG does not start with an IHDR header chunk; the file is broken")
    data, (crc,) = raw[8:21], struct.unpack(">I", raw[21:25])
    if zlib.crc32(kind + data) != crc:
        raise UnsupportedImage("the PNG's header chunk (IHDR) fails its checksum; the file is broken")
    width, height, depth, color_type, compression, filtering, interlace = struct.unpack(">IIBBBBB", data)
    if width == 0 or height == 0:
        raise UnsupportedImage(f"the PNG says it is {width} x {height} pixels: it has no pixels")
    if width > _PNG_MAX_SIDE or height > _PNG_MAX_SIDE:
        raise UnsupportedImage(f"the PNG says it is {width} x {height} pixels, more than PNG allows")
    samples_depths = _PNG_TYPES.get(color_type)
    if samples_depths is None or depth not in samples_depths[1] or compression or filtering or interlace > 1:
        raise UnsupportedImage(f"the PNG's header is invalid (colour type {color_type}, bit depth {depth}, "
                               f"compression {compression}, filter {filtering}, interlace {interlace})")
    return PictureHeader("PNG", width, height, bit_depth=depth, color_type=color_type, interlaced=interlace == 1)


def _jpeg_header(fh: BinaryIO) -> PictureHeader:
    frame: tuple[int, int, int, int] | None = None  # marker, width, height, components
    for _ in range(_JPEG_MAX_SEGMENTS):
        marker = _next_jpeg_marker(fh)
        if marker is None:  # the file ends before the first scan
            break
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD8, 0xD9):
            break
        raw = fh.read(2)
        if len(raw) < 2:
            break
        (length,) = struct.unpack(">H", raw)
        if length < 2:
            raise UnsupportedImage("the JPEG has a segment of impossible length; the file is broken")
        if marker in _JPEG_SOF and frame is None:
            body = fh.read(6)
            if len(body) < 6:
                break
            _precision, height, width, components = struct.unpack(">BHHB", body)
            if width == 0 or height == 0 or components == 0:
                raise UnsupportedImage(f"the JPEG says it is {width} x {height} pixels with {components} "
                                       "components: it has no pixels")
            frame = (marker, width, height, components)
            fh.seek(length - 8, 1)
        elif marker == 0xDA:  # start of scan: how many components does the first scan hold?
            if frame is None:
                raise UnsupportedImage("the JPEG's image data starts before its frame header; the file is broken")
            scan = fh.read(1)
            single = bool(scan) and frame[0] in _JPEG_SEQUENTIAL_HUFFMAN and scan[0] == frame[3]
            return PictureHeader("JPEG", frame[1], frame[2], single_scan=single)
        else:
            fh.seek(length - 2, 1)
    if frame is None:
        raise UnsupportedImage("the JPEG has no frame header (SOF) saying its size; the file is truncated or broken")
    # A size, but no image data: the size is still checked; decoding will say what is missing.
    return PictureHeader("JPEG", frame[1], frame[2])


def _next_jpeg_marker(fh: BinaryIO) -> int | None:
    """The next marker code, or None at the end of the file."""
    # libjpeg skips a few stray bytes before a marker (some cameras pad segments); so do we.
    for _ in range(_JPEG_MAX_STRAY):
        byte = fh.read(1)
        if not byte:
            return None
        if byte == b"\xff":
            break
    else:
        raise UnsupportedImage("the JPEG has bytes between its segments where a marker belongs; "
                               "the file is broken")
    while byte == b"\xff":  # any number of fill bytes may come before a marker
        byte = fh.read(1)
    return byte[0] if byte else None


# PNG image data --------------------------------------------------------------------------------------


def png_data_size(header: PictureHeader) -> int:
    """Bytes the PNG's image data inflates to: one filter byte per row, then the packed samples."""
    bits = _PNG_TYPES[header.color_type][0] * header.bit_depth

    def rows(width: int, height: int) -> int:
        return 0 if width == 0 or height == 0 else height * (1 + (width * bits + 7) // 8)

    if not header.interlaced:
        return rows(header.width, header.height)
    return sum(rows(-(-(header.width - x0) // dx), -(-(header.height - y0) // dy)) for x0, y0, dx, dy in _ADAM7)


def check_png_data(fh: BinaryIO, header: PictureHeader) -> None:
    """Walk the chunks after IHDR (each CRC) and inflate the image data without keeping it.

    Raises `UnsupportedImage` unless the data inflates to exactly what the header's size needs
    and the file ends with IEND. Memory: one read step and one inflate step (1 MiB each).
    """
    expected, inflated = png_data_size(header), 0
    inflater = zlib.decompressobj()
    fh.seek(len(PNG_SIGNATURE) + 25)
    while True:
        raw = fh.read(8)
        if len(raw) < 8:
            raise UnsupportedImage("the PNG ends before its IEND chunk; the file is truncated")
        length, kind = struct.unpack(">I4s", raw)
        if length > _PNG_MAX_SIDE or not kind.isalpha():
            raise UnsupportedImage("the PNG has a chunk that is not one; the file is broken")
        crc = zlib.crc32(kind)
        remaining = length
        while remaining:
            piece = fh.read(min(remaining, _READ_STEP))
            if not piece:
                raise UnsupportedImage("the PNG ends inside a chunk; the file is truncated")
            remaining -= len(piece)
            crc = zlib.crc32(piece, crc)
            if kind == b"IDAT":
                inflated += _inflate(inflater, piece, expected - inflated, header)
        stored = fh.read(4)
        if len(stored) < 4:
            raise UnsupportedImage("the PNG ends inside a chunk; the file is truncated")
        if struct.unpack(">I", stored)[0] != crc:
            raise UnsupportedImage(f"the PNG's {kind.decode('ascii')} chunk fails its checksum; the file is broken")
        if kind == b"IEND":
            break
    if inflated < expected:
        raise UnsupportedImage(f"the PNG's image data ends early: {header.describe()} need {expected:,} bytes, "
                               f"it holds {inflated:,} (truncated, or its header claims more than it has)")


def _inflate(inflater: zlib._Decompress, data: bytes, room: int, header: PictureHeader) -> int:
    """Inflate `data` in steps, counting and dropping the output; refuse more than `room` bytes."""
    produced = 0
    try:
        while not inflater.eof:
            out = inflater.decompress(data, _INFLATE_STEP)
            produced += len(out)
            if produced > room:
                raise UnsupportedImage(f"the PNG holds more image data than its header's {header.describe()} "
                                       "need; its header does not match its data")
            data = inflater.unconsumed_tail
            if not data and len(out) < _INFLATE_STEP:  # a full step may leave output waiting inside zlib
                break
    except zlib.error as exc:
        raise UnsupportedImage(f"the PNG's image data is not valid deflate data ({exc})") from None
    return produced
