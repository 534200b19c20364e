"""Worker credentials: salted secret hashes, and a cache so Basic auth costs no database read.

Worker secrets are 32 random bytes chosen by the worker, so a salted SHA-256 is as strong as a
slow hash here (nothing to brute-force) and cheap enough to check on every request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from app.api.errors import Forbidden


def hash_secret(secret: str) -> str:
    salt = secrets.token_hex(8)
    digest = hashlib.sha256((salt + secret).encode()).hexdigest()
    return f"sha256${salt}${digest}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        algo, salt, digest = stored.split("$", 2)
    except ValueError:
        return False
    if algo != "sha256":
        return False
    candidate = hashlib.sha256((salt + secret).encode()).hexdigest()
    return hmac.compare_digest(candidate, digest)


@dataclass(frozen=True)
class WorkerIdentity:
    id: int
    uuid: str


class CredentialCache:
    """Worker uuid → (row id, secret hash), loaded once and updated on register/delete."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, str]] = {}
        # The last header each worker proved itself with, exactly as sent: the next request with
        # the same text needs no decoding or hashing. One per known worker (a worker's entry going
        # or changing drops it), and only headers that passed the full check get in.
        self._verified: dict[str, WorkerIdentity] = {}
        self._header_of: dict[str, str] = {}

    def load(self, rows: list[tuple[int, str, str]]) -> None:
        self._entries = {uuid: (wid, secret_hash) for wid, uuid, secret_hash in rows}
        self._verified, self._header_of = {}, {}

    def add(self, worker_id: int, worker_uuid: str, secret_hash: str) -> None:
        self._forget(worker_uuid)
        self._entries[worker_uuid] = (worker_id, secret_hash)

    def knows(self, worker_uuid: str) -> bool:
        return worker_uuid in self._entries

    def remove(self, worker_uuid: str) -> None:
        self._forget(worker_uuid)
        self._entries.pop(worker_uuid, None)

    def _forget(self, worker_uuid: str) -> None:
        header = self._header_of.pop(worker_uuid, None)
        if header is not None:
            self._verified.pop(header, None)

    def authenticate(self, authorization: str | None) -> WorkerIdentity:
        """Check an HTTP Basic `Authorization` header; raise Forbidden with a clear reason."""
        if authorization is not None and (known := self._verified.get(authorization)) is not None:
            return known
        ident = self._check(authorization)
        assert authorization is not None  # `_check` refuses a missing header
        self._forget(ident.uuid)  # a worker's previous header (it may have changed its spelling)
        self._verified[authorization] = ident
        self._header_of[ident.uuid] = authorization
        return ident

    def _check(self, authorization: str | None) -> WorkerIdentity:
        scheme, _, encoded = (authorization or "").strip().partition(" ")
        if scheme.lower() != "basic":  # schemes are case-insensitive (RFC 9110 section 11.1)
            raise Forbidden("worker credentials required (HTTP Basic with worker id and secret)")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except ValueError:  # not base64 (binascii.Error; non-ASCII text too) or not UTF-8
            raise Forbidden("malformed HTTP Basic credentials") from None
        worker_uuid, sep, secret = decoded.partition(":")
        entry = self._entries.get(worker_uuid)
        if not sep or entry is None or not verify_secret(secret, entry[1]):
            raise Forbidden("unknown worker or wrong secret; register the worker again")
        return WorkerIdentity(entry[0], worker_uuid)
