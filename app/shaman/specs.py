"""Shaman value types and input validation: file keys, file specs and upload statuses.

Everything that arrives from the wire passes through the parsers here before it
reaches the store, so the store and checkout code can trust their inputs. A request's body is
decoded with its model of `app.api.meta` (types, required keys, sizes; a 400 naming the field),
then each file's digest and path are checked here, in the Shaman's words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

from app.api.codec import decode_request
from app.api.errors import BadRequest, ContractError
from app.api.limits import kind
from app.api.meta import ShamanCheckout, ShamanFileSpec, ShamanRequirement, ShamanRequirementsRequest
from app.shaman.paths import shown, validate_relative_path

M = TypeVar("M")

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


def requirements_files(body: Any) -> list[FileSpec]:
    """The files of a requirements request (`ShamanRequirementsRequest`): a file may leave out its
    `path`, because the question is which contents the store lacks (Flamenco's own example asks it
    without paths, as Tablao's add-on does); a path that is given is checked."""
    return file_specs(_decoded(ShamanRequirementsRequest, body).files)


def checkout_request(body: Any) -> tuple[list[FileSpec], str]:
    """The files and the checkout path of a checkout request (`ShamanCheckout`); the path's form
    is the checkout's to check."""
    checkout = _decoded(ShamanCheckout, body)
    return file_specs(checkout.files), checkout.checkout_path


def checkout_files(files: Any) -> list[FileSpec]:
    """A checkout's list of files (`ShamanFileSpec`s), as a hub forwards it with a job."""
    if not isinstance(files, list):
        raise BadRequest(f"`files` must be a list, not {kind(files)}")
    try:
        return file_specs([decode_request(ShamanFileSpec, item, f"files[{i}]") for i, item in enumerate(files)])
    except ContractError as exc:
        raise BadRequest(str(exc)) from None


def _decoded(model: type[M], body: Any) -> M:
    try:
        return model.from_json(body)  # type: ignore[attr-defined, no-any-return]
    except ContractError as exc:
        raise BadRequest(str(exc)) from None


def file_specs(files: Sequence[ShamanRequirement | ShamanFileSpec]) -> list[FileSpec]:
    """Checked specs of decoded files: a digest of 64 hexadecimal digits (read in lowercase) and a
    clean relative path where one is given ("" where it is not); BadRequest naming the file otherwise."""
    specs = []
    for i, file in enumerate(files):
        sha = file.sha.lower()
        if not _SHA256_HEX.fullmatch(sha):
            raise BadRequest(f"`files[{i}].sha` must be a SHA-256 digest, 64 hexadecimal digits, not "
                             f"{shown(file.sha)}")
        path = file.path
        if path is None:
            path = ""
        else:
            validate_relative_path(path, f"`files[{i}].path`")
        specs.append(FileSpec(sha, file.size, path))
    return specs
