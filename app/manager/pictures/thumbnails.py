"""The three last-rendered JPEGs made from a picture file, with the decoder's memory bounded.

`make_thumbnails` checks the file's header and (PNG) its data before Pillow sees it
(`picture_header`), decodes straight to the largest thumbnail's scale where the format allows
it (JPEG: libjpeg's 1/2, 1/4, 1/8 DCT scaling through Pillow's `draft`), and converts colours
only at thumbnail size. A PNG cannot be decoded a part at a time with Pillow, nor a progressive
JPEG (libjpeg keeps every coefficient): those hold the whole frame, and resampling an RGBA frame
adds its premultiplied copy, so an 8K PNG needs about 330 MiB.

That is too much for the Manager's own process, so the Manager decodes a picture itself only
when `working_pixels` is small (`IN_PROCESS_MAX_PIXELS`: a single-scan JPEG of any size admitted,
or a picture of up to 2.5 megapixels), one at a time in one thread, and every other picture in a
fresh child process (`ChildThumbnails`, multiprocessing's 'spawn' method) whose address space is
capped (RLIMIT_AS, POSIX) at `child_memory_limit` and which is killed after `timeout_s`.
Alternatives weighed: Pillow's `reducing_gap` only applies after the decode, and decoding stripes
of a PNG means re-inflating it from the start each time; a long-lived child would keep the heap
its biggest decode grew, where a child per picture costs about 0.1 s and leaves nothing behind.
Measured with bench/picture_bomb.py (2-core VM; idle Manager 59 MiB): ten 8K frames in a row
raise the Manager's peak by 4 MiB as 8-bit or 16-bit RGBA PNGs and 3 MiB as progressive JPEGs
(their children peak at 329 and 123 MiB), and by 22 MiB as baseline JPEGs decoded in place.

As with the job compilers' child (`job_compilers/engine.py`), 'spawn' re-imports the host's
`__main__`: entry points keep their `if __name__ == "__main__":` guard.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import multiprocessing
import warnings
from multiprocessing.connection import Connection
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from app.api.errors import ApiError
from app.manager.pictures.picture_header import (
    ImageTooLarge,
    PictureHeader,
    UnsupportedImage,
    check_pixels,
    check_png_data,
    read_header,
    working_pixels,
)

_log = logging.getLogger(__name__)

JPEG_QUALITY = 85
# Largest first: each smaller image is made from the previous one, which is cheaper
# than starting from the full frame every time and looks the same at these sizes.
THUMBNAILS: tuple[tuple[str, tuple[int, int]], ...] = (
    ("last-rendered.jpg", (1920, 1080)),
    ("last-rendered-small.jpg", (600, 338)),
    ("last-rendered-tiny.jpg", (200, 112)),
)
MAIN_BOX = THUMBNAILS[0][1]

# Decoded in the Manager's process up to this many working pixels (4 bytes each, held about
# three times over while decoding and resampling): under 30 MiB.
IN_PROCESS_MAX_PIXELS = 2_500_000
DEFAULT_TIMEOUT_S = 120.0
# The child's address space: the interpreter and Pillow (under 200 MiB of mappings) plus room,
# and 16 bytes per pixel the limit admits (a frame at 4 bytes a pixel, held up to three times,
# or a progressive JPEG's coefficients at up to 8).
_CHILD_BASE_BYTES = 512 * 2**20
_CHILD_BYTES_PER_PIXEL = 16

_FORMATS = ("PNG", "JPEG")  # Pillow's JPEG plugin also opens multi-picture JPEGs (MPO)
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")


class DecoderUnavailable(ApiError):
    """429: the child process that decodes big pictures could not be started; the worker skips this frame."""

    status = 429


# In this process ---------------------------------------------------------------------------------------


def make_thumbnails(source: Path | bytes, max_pixels: int) -> list[tuple[str, bytes]]:
    """`(file name, JPEG bytes)` for each entry of `THUMBNAILS`, made from a picture file (or its bytes).

    Raises `ImageTooLarge` or `UnsupportedImage` (checked before decoding, or from the decoder).
    """
    with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as fh:
        header = read_checked(fh, max_pixels)
        fh.seek(0)
        try:
            with Image.open(fh, formats=_FORMATS) as image:
                if image.size != (header.width, header.height):
                    raise UnsupportedImage(f"the image says it is {header.describe()}, but its decoder reads "
                                           f"{image.size[0]} x {image.size[1]}")
                target = fitted(image.size, MAIN_BOX)
                if image.format in ("JPEG", "MPO"):
                    image.draft(None, target)  # libjpeg decodes straight to 1/2, 1/4 or 1/8 scale
                image.load()
                main = _shrink(image, target)
            del image  # the whole frame goes now, before the small copies are made
            current = to_rgb(main)
        except Image.DecompressionBombError as exc:  # only if someone lowered Pillow's guard below ours
            raise ImageTooLarge(f"the image is {header.describe()}, more than this Manager's image library "
                                f"accepts ({exc})") from None
        except (ApiError, MemoryError):
            raise
        except Exception as exc:  # Pillow raises all sorts for hostile files: each is the file's fault
            raise UnsupportedImage(f"the image cannot be decoded: {exc}") from None
    results = [(THUMBNAILS[0][0], _encode_jpeg(current))]
    for name, box in THUMBNAILS[1:]:
        current = current.copy()
        current.thumbnail(box, Image.Resampling.LANCZOS)
        results.append((name, _encode_jpeg(current)))
    return results


def read_checked(fh: BinaryIO, max_pixels: int) -> PictureHeader:
    """The header of the picture in `fh`, refused when over `max_pixels`, with a PNG's data checked too."""
    header = read_header(fh)
    check_pixels(header, max_pixels)
    if header.format == "PNG":
        check_png_data(fh, header)
    return header


def fitted(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled down (never up) to fit in `box`, aspect kept: the size `Image.thumbnail` makes."""
    width, height = size
    x, y = box
    if x >= width and y >= height:
        return size
    aspect = width / height

    def round_aspect(number: float, key) -> int:
        return max(min(math.floor(number), math.ceil(number), key=key), 1)

    if x / y >= aspect:
        return round_aspect(y * aspect, key=lambda n: abs(aspect - n / y)), y
    return x, round_aspect(x / aspect, key=lambda n: 0 if n == 0 else abs(aspect - x / n))


def _shrink(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """The decoded frame resampled to `target`, in its own mode but for the few Pillow cannot resample."""
    if image.mode in ("P", "PA", "1"):
        # Pillow resamples these by nearest neighbour only; a palette frame is 1 byte a pixel.
        image = image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
    elif "transparency" in image.info and image.mode in ("L", "RGB", *_SIXTEEN_BIT):
        image = to_rgb(image)  # a tRNS colour key must be applied before resampling mixes colours
    if image.size == target:
        return image
    # Pillow cannot reduce 16-bit grey in integer steps first; Lanczos alone is exact and only slower.
    gap = None if image.mode in _SIXTEEN_BIT else 2.0
    # resize() premultiplies RGBA/LA by alpha, so a transparent pixel's colour does not bleed.
    return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=gap)


def to_rgb(image: Image.Image) -> Image.Image:
    """`image` in 8-bit RGB (itself when it is already), transparency composited over black."""
    if image.mode in (*_SIXTEEN_BIT, "I"):
        # 16-bit greyscale: convert("RGB") would clip at 255, so scale down first.
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return image if image.mode == "RGB" else image.convert("RGB")
    rgba = image.convert("RGBA")
    # Black, not white: Blender shows transparent film over a dark backdrop.
    backdrop = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
    return Image.alpha_composite(backdrop, rgba).convert("RGB")


def _encode_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


# Where to decode -----------------------------------------------------------------------------------------


def decodes_in_process(header: PictureHeader) -> bool:
    """Whether decoding `header`'s picture fits the Manager's own budget (see the module docstring)."""
    if header.pixels > (Image.MAX_IMAGE_PIXELS or header.pixels):
        return False  # Pillow would warn about it here; the child sets its guard to our limit
    return working_pixels(header, fitted((header.width, header.height), MAIN_BOX)) <= IN_PROCESS_MAX_PIXELS


def child_memory_limit(max_pixels: int) -> int:
    return _CHILD_BASE_BYTES + _CHILD_BYTES_PER_PIXEL * max_pixels


class ChildThumbnails:
    """`make_thumbnails` of one picture in a fresh, memory-capped child process.

    Start it from the event loop (`start`), wait for it in a thread (`result`), and `kill` it from
    the loop if the wait is abandoned (the Manager shutting down): `result` then returns at once.
    """

    _context = multiprocessing.get_context("spawn")

    def __init__(self, path: Path, max_pixels: int, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.path, self.max_pixels, self.timeout_s = path, max_pixels, timeout_s
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    def start(self) -> None:
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_child_main, args=(sender, str(self.path), self.max_pixels, child_memory_limit(self.max_pixels)),
            name="tablao-thumbnails", daemon=True)
        try:
            process.start()
        except OSError as exc:
            receiver.close()
            raise DecoderUnavailable(f"the Manager could not start its image decoder ({exc}); "
                                     "skip this one", headers={"Retry-After": "1"}) from None
        finally:
            sender.close()
        self._process, self._conn = process, receiver

    def result(self) -> list[tuple[str, bytes]]:
        """Blocking: the thumbnails, or the child's `ApiError`; the child is gone when this returns."""
        assert self._process is not None and self._conn is not None
        try:
            if not self._conn.poll(self.timeout_s):
                raise UnsupportedImage(f"decoding the image took longer than {self.timeout_s:.0f} s")
            reply = self._conn.recv()
        except (EOFError, OSError):
            self._process.join(5)
            raise UnsupportedImage(f"the image decoder stopped without an answer (exit code "
                                   f"{self._process.exitcode}); the image may be built to exhaust memory") from None
        finally:
            self._conn.close()
            self.kill()
            self._process.join()
        if reply[0] == "ok":
            return reply[1]
        raise (ImageTooLarge if reply[1] == 413 else UnsupportedImage)(reply[2])

    def kill(self) -> None:
        """Stop the child now (a signal; `result`, in its thread, reaps it)."""
        if self._process is not None:
            self._process.kill()  # no-op once reaped


def _child_main(conn: Connection, path: str, max_pixels: int, max_memory: int) -> None:
    _limit_memory(max_memory)
    # The header is checked against our limit before Pillow opens the file; with its own guard at
    # the same figure, Pillow never warns about (or refuses) a picture the limit admits.
    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    try:
        reply: tuple = ("ok", make_thumbnails(Path(path), max_pixels))
    except ApiError as exc:
        reply = ("error", exc.status, exc.message)
    except MemoryError:
        reply = ("error", 415, f"decoding the image needs more than the {max_memory // 2**20} MiB the Manager's "
                               "image decoder may use")
    except Exception as exc:  # one line in the Manager's log, not this process's traceback
        reply = ("error", 415, f"the image cannot be decoded: {exc!r}")
    with contextlib.suppress(OSError):  # the Manager stopped waiting
        conn.send(reply)


def _limit_memory(max_bytes: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: the pixel limit and the time limit still hold
        return
    try:
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))
    except (ValueError, OSError):
        _log.debug("could not limit the image decoder's memory")
