"""Shaman value types and input validation: file keys, file specs and upload statuses.

Everything that arrives from the wire passes through the parsers here before it
reaches the store, so the store and checkout code can trust their inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from app.api.errors import BadRequest
from app.shaman.paths import validate_relative_path

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_FILE_SIZE = 2**63 - 1  # Flamenco's sizes are 64-bit integers; the document says so too


class FileStatus(StrEnum):
    """Where a file stands in the store (the spec's `ShamanFileStatus`)."""

    UNKNOWN = "unknown"
    UPLOADING = "uploading"
    STORED = "stored"


class FileKey(NamedTuple):
    """The identity of a stored file: lowercase SHA-256 hex digest plus size in bytes."""

    sha: str
    size: int


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One file of a checkout: its identity and its relative (POSIX) path in the checkout."""

    sha: str
    size: int
    path: str

    @property
    def key(self) -> FileKey:
        return FileKey(self.sha, self.size)

    def to_json(self) -> dict[str, Any]:
        return {"sha": self.sha, "size": self.size, "path": self.path}


def parse_checksum(value: Any) -> str:
    """Return the checksum if it is 64 hex digits (case-folded to lowercase), else raise BadRequest."""
    if not isinstance(value, str):
        raise BadRequest("checksum must be a string of 64 hexadecimal digits")
    lowered = value.lower()
    if not _SHA256_HEX.fullmatch(lowered):
        raise BadRequest(f"checksum {value[:80]!r} is not a SHA-256 hex digest")
    return lowered


def parse_size(value: Any) -> int:
    """Return the size if it is a non-negative integer (an int, or a decimal string from a URL)."""
    if isinstance(value, bool):  # bool is an int subclass; `true` is not a size
        raise BadRequest("file size must be a non-negative integer")
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit():
            raise BadRequest(f"file size {value[:40]!r} is not a non-negative integer")
        value = int(value) if len(value) <= 19 else MAX_FILE_SIZE + 1
    if not isinstance(value, int) or value < 0:
        raise BadRequest("file size must be a non-negative integer")
    if value > MAX_FILE_SIZE:
        raise BadRequest(f"file size must be at most {MAX_FILE_SIZE} bytes (a 64-bit integer)")
    return value


def parse_file_spec(obj: Any, *, require_path: bool = True) -> FileSpec:
    """Parse one `ShamanFileSpec` JSON object. A file of a requirements request may leave out its
    `path` (`require_path=False`): the question is which contents the store lacks, and Flamenco's
    own example asks it without paths, as Tablao's add-on does. A path that is given is checked."""
    if not isinstance(obj, dict):
        raise BadRequest("each file must be an object with sha, size and path")
    path = ""
    if require_path or "path" in obj:
        given = obj.get("path")
        if not isinstance(given, str) or not given:
            raise BadRequest("each file needs a non-empty string 'path': where it goes in the checkout")
        path = given
        validate_relative_path(path, "file path")
    return FileSpec(parse_checksum(obj.get("sha")), parse_size(obj.get("size")), path)


def parse_file_list(body: Any, *, require_path: bool = True) -> list[FileSpec]:
    """Parse the `files` array of a requirements or checkout request body."""
    if not isinstance(body, dict) or not isinstance(body.get("files"), list):
        raise BadRequest("request body must be an object with a 'files' array")
    return [parse_file_spec(item, require_path=require_path) for item in body["files"]]
