"""Image files for the last-rendered tests and bench: picture bombs, lying headers, big frames.

PNGs are written with zlib here, not Pillow, so a file can say anything in its header and a
13,000 x 13,000 frame costs a few seconds of deflate instead of gigabytes of pixels.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> samples per pixel

# The picture bomb of the security finding: 13,000 x 13,000, 16-bit RGBA, about 1.3 MB.
BOMB_SIZE = (13_000, 13_000)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def ihdr(width: int, height: int, depth: int = 8, color_type: int = 6) -> bytes:
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0))


@functools.lru_cache(maxsize=8)
def blank_png(width: int, height: int, depth: int = 16, color_type: int = 6) -> bytes:
    """A black PNG of any size; its rows of zeros deflate about 1,000 to 1."""
    row = b"\x00" * (1 + width * _CHANNELS[color_type] * depth // 8)  # filter byte + samples
    packer = zlib.compressobj(6)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return PNG_MAGIC + ihdr(width, height, depth, color_type) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def picture_bomb() -> bytes:
    """The finding's bomb: 13,000 x 13,000 16-bit RGBA (3.4 GB decoded in the old Manager)."""
    return blank_png(*BOMB_SIZE)


def lying_png(claimed: tuple[int, int], actual: tuple[int, int] = (16, 16)) -> bytes:
    """A well-formed PNG (every CRC right) whose IHDR claims `claimed` but whose data holds `actual`."""
    real = blank_png(*actual, depth=8, color_type=2)
    idat_start = len(PNG_MAGIC) + 25
    return PNG_MAGIC + ihdr(*claimed, depth=8, color_type=2) + real[idat_start:]


def header_only_png(width: int, height: int) -> bytes:
    """Signature and IHDR, then IEND: no pixel data at all."""
    return PNG_MAGIC + ihdr(width, height) + png_chunk(b"IEND", b"")


def jpeg_header(width: int, height: int) -> bytes:
    """A JPEG that ends right after its frame header (SOF0) claims `width` x `height`."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3)
    sof += b"".join(bytes([i, 0x11, 0]) for i in (1, 2, 3))
    return b"\xff\xd8" + sof + b"\xff\xd9"


def frame(size: tuple[int, int], fmt: str, mode: str = "RGB", **save) -> bytes:
    """A smooth test frame (gradients, as a render's sky is) encoded with Pillow."""
    from PIL import Image

    width, height = size
    red = Image.linear_gradient("L").resize(size)
    green = Image.radial_gradient("L").resize(size)
    blue = red.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    bands = [red, green, blue] + ([Image.new("L", size, 255)] if mode == "RGBA" else [])
    image = Image.merge(mode, bands) if mode in ("RGB", "RGBA") else red.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()
