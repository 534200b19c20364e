"""How a Manager proves to one of its workers that it is the Manager the worker registered with.

Stdlib only, shared by both sides so they compute the same bytes. At registration (or, for a
worker registered before Managers had keys, at its next sign-on) the Manager gives the worker a key
of its own, `worker_key(manager secret, worker uuid)`, in the `KEY_FIELD` of the answer. Before
the worker sends its credentials to an address it has not used with this Manager, it posts its uuid
and a fresh random nonce to `PROVE_PATH` there; the Manager answers `proof(worker key, nonce,
Host)` and the worker compares it, in constant time, with its own. Only a Manager holding the secret
can answer, and the Host the request was sent to is part of the proof: an answer the real Manager
gave for its own address does not vouch for another one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import TypeGuard
from urllib.parse import urlsplit

PROVE_PATH = "/api/v3/tablao/worker/prove"
#: The optional field of the register-worker and sign-on answers that carries the worker's key.
KEY_FIELD = "tablao_manager_key"
NONCE_CHARS = 64  # 32 random bytes, hex
_HEX = re.compile(r"[0-9a-f]+")


def worker_key(manager_secret: bytes, worker_uuid: str) -> str:
    """The key the Manager gives the worker `worker_uuid` (hex); derived, so nothing per worker is stored."""
    return hmac.new(manager_secret, b"tablao worker key\0" + worker_uuid.encode(), hashlib.sha256).hexdigest()


def proof(key: str, nonce: str, host: str) -> str:
    """What a Manager holding `key` answers to `nonce` sent to `host` (hex)."""
    message = b"tablao manager proof\0" + nonce.encode("ascii") + b"\0" + host.strip().lower().encode()
    return hmac.new(key.encode("ascii"), message, hashlib.sha256).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(NONCE_CHARS // 2)


def valid_nonce(nonce: object) -> TypeGuard[str]:
    return isinstance(nonce, str) and len(nonce) == NONCE_CHARS and _HEX.fullmatch(nonce) is not None


def valid_key(key: object) -> TypeGuard[str]:
    return isinstance(key, str) and len(key) == 64 and _HEX.fullmatch(key) is not None


def host_of(url: str) -> str:
    """The Host a request to `url` names: `http://Farm:8080/x` → `farm:8080`."""
    return urlsplit(url.strip()).netloc.rpartition("@")[2].lower()


def same_address(a: str, b: str) -> bool:
    """True when two Manager base URLs name the same place (scheme, host and port; not the path)."""
    pa, pb = urlsplit(a.strip()), urlsplit(b.strip())
    return (pa.scheme.lower(), host_of(a)) == (pb.scheme.lower(), host_of(b))


def matches(given: object, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())
