"""Parsing of the Shaman upload headers (`X-Shaman-Can-Defer-Upload`, `X-Shaman-Original-Filename`).

The original filename is ASCII or RFC 2047 encoded-words in UTF-8 (the add-on encodes it with
`email.header`). `email.header.decode_header` silently turns broken base64 into nothing, and the
spec asks for a 400 on a bad encoding, so the encoded-words are decoded strictly here.
"""

from __future__ import annotations

import base64
import binascii
import re

from app.api.errors import BadRequest

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")  # whitespace between encoded-words is not content
_QP_ESCAPE = re.compile(r"=([0-9A-Fa-f]{2})")


def parse_bool_header(value: str | None, name: str) -> bool:
    """`true`/`false` (any case; absent means false), as the spec declares the header boolean."""
    if value is None or value.strip() == "":
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise BadRequest(f"header {name} must be true or false, not {value[:40]!r}")


def decode_original_filename(value: str | None) -> str:
    """Decode the filename header; raises BadRequest for non-ASCII raw text or bad encoded-words."""
    if value is None:
        return ""
    if not value.isascii():
        raise BadRequest("X-Shaman-Original-Filename must be ASCII or RFC 2047 encoded")
    joined = _BETWEEN_WORDS.sub(r"\1\2", value)
    parts: list[str] = []
    pos = 0
    for match in _ENCODED_WORD.finditer(joined):
        parts.append(joined[pos : match.start()])
        parts.append(_decode_word(match.group(1), match.group(2), match.group(3)))
        pos = match.end()
    parts.append(joined[pos:])
    result = "".join(parts)
    if "=?" in joined[pos:] or any(ord(ch) < 32 for ch in result):
        raise BadRequest("X-Shaman-Original-Filename has a malformed encoded-word")
    return result


def _decode_word(charset: str, encoding: str, text: str) -> str:
    # RFC 2231 allows "utf-8*lang"; the language tag is irrelevant for logging.
    if charset.split("*", 1)[0].lower() not in ("utf-8", "utf8", "us-ascii"):
        raise BadRequest(f"X-Shaman-Original-Filename must be UTF-8, not {charset[:20]!r}")
    try:
        raw = base64.b64decode(text, validate=True) if encoding in "bB" else _decode_q(text)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise BadRequest(f"X-Shaman-Original-Filename is not valid RFC 2047: {exc}") from None


def _decode_q(text: str) -> bytes:
    if re.search(r"=(?![0-9A-Fa-f]{2})", text):
        raise ValueError("bad '=' escape in Q-encoded word")
    text = text.replace("_", " ")
    return _QP_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text).encode("latin-1")
