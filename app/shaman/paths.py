"""Validation of the relative paths clients send: checkout paths and file paths inside a checkout.

A valid path is a clean relative POSIX path that can be created under the jobs root on every
platform of the farm, within the operating systems' limits: no component over `MAX_NAME_BYTES`,
no path over `MAX_PATH_BYTES`, and no more than `MAX_DEPTH` components (deeper trees make Python's
recursive tree walks, `shutil.rmtree` and `os.walk`, fail). Everything that reaches the file system from the wire passes here first.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import PurePosixPath

from app.api.errors import BadRequest

MAX_NAME_BYTES = 255  # NAME_MAX of ext4, APFS, NTFS (in UTF-16 units there, close enough)
MAX_PATH_BYTES = 4096  # PATH_MAX on Linux, including the jobs root in front
MAX_DEPTH = 256  # components of one checkout path, or of one file path
# A job stores its checkout path in a 255-character column (a VARCHAR on PostgreSQL), and a taken
# name gets a 5-character suffix.
MAX_CHECKOUT_PATH_CHARS = 250
MAX_CHECKOUT_ID_CHARS = 255
# Flamenco refuses these in checkout paths; ':' also rules out drive letters and NTFS streams,
# and '{' / '}' would clash with the Manager's `{variable}` substitution.
CHECKOUT_PATH_FORBIDDEN = frozenset('\\:*?;{}"<>|')
FILE_PATH_FORBIDDEN = frozenset('\\:"<>|')


def shown(value: str, limit: int = 120) -> str:
    """`value` for an error message: quoted, and cut short when long (names can be megabytes)."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def validate_relative_path(value: object, what: str, forbidden: frozenset[str] = FILE_PATH_FORBIDDEN) -> str:
    """Return `value` if it is a clean relative POSIX path, or raise BadRequest saying why not.

    Refused: non-strings, empty, absolute (`/x`), drive letters (`C:\\x`, `C:x`), backslashes (a
    separator on Windows workers), control characters (NUL included), characters that cannot be
    file names (lone surrogates), `.`/`..`/empty components, also the ones Windows would turn into
    `..` by trimming trailing dots and spaces, and paths beyond the length and depth limits.
    """
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{what} must be a non-empty string")
    if value.startswith("/"):
        raise BadRequest(f"{what} {shown(value)} must be relative, not absolute")
    if _forbidden_pattern(forbidden).search(value):  # one regex scan: this runs per file of a checkout
        bad = {ch for ch in value if ch in forbidden or ord(ch) < 32 or ch == "\x7f"}
        raise BadRequest(f"{what} {shown(value)} contains forbidden characters {''.join(sorted(bad))!r}")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise BadRequest(f"{what} {shown(value)} contains characters that are not valid text") from None
    if size >= MAX_PATH_BYTES:
        raise BadRequest(f"{what} is {size} bytes long; paths must be under {MAX_PATH_BYTES} bytes")
    parts = value.split("/")
    if len(parts) > MAX_DEPTH:
        raise BadRequest(f"{what} is {len(parts)} levels deep; at most {MAX_DEPTH} are allowed")
    for part in parts:
        if part.strip(". ") == "":
            raise BadRequest(f"{what} {shown(value)} contains an empty, '.' or '..' component")
        if size > MAX_NAME_BYTES and len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise BadRequest(f"{what} has a component of {len(part.encode('utf-8'))} bytes "
                             f"({shown(part, 40)}); names are limited to {MAX_NAME_BYTES} bytes")
    return value


@functools.cache
def _forbidden_pattern(forbidden: frozenset[str]) -> re.Pattern[str]:
    return re.compile("[\x00-\x1f\x7f" + "".join(re.escape(ch) for ch in sorted(forbidden)) + "]")


def validate_checkout_path(value: object, what: str = "checkout path",
                           max_chars: int = MAX_CHECKOUT_ID_CHARS) -> PurePosixPath:
    """A checkout path: a clean relative path (see above) of at most `max_chars` characters.

    New checkouts are limited to `MAX_CHECKOUT_PATH_CHARS`, so that with a suffix the path the
    Shaman answers still fits `MAX_CHECKOUT_ID_CHARS`, the limit for existing ones.
    """
    path = validate_relative_path(value, what, CHECKOUT_PATH_FORBIDDEN)
    if len(path) > max_chars:
        raise BadRequest(f"{what} is {len(path)} characters long; at most {max_chars} are allowed")
    return PurePosixPath(path)


def check_fits_under(root: str, checkout: str, longest_file: str = "") -> None:
    """Raise BadRequest when `root/checkout/longest_file` would reach PATH_MAX.

    `checkout` may grow by a `-xxxx` suffix when its name is taken, so five bytes are reserved.
    """
    total = len(os.fsencode(root)) + 1 + len(checkout.encode()) + 5
    if longest_file:
        total += 1 + len(longest_file.encode())
    if total >= MAX_PATH_BYTES:
        raise BadRequest(f"checkout path {shown(checkout, 60)} with file {shown(longest_file, 60)} would be "
                         f"{total} bytes long under the jobs root; paths must stay under {MAX_PATH_BYTES}")
