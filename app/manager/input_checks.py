"""Checks for the values a client sends the Manager outside a request model (query parameters,
the bodies not yet described in `app.api`): types, lengths and storable text.

Request bodies are decoded by their models (`app.api.codec`, the bounds in `app.api.limits`); these
helpers give the same words for the rest, so every stored string is bounded, free of NUL and valid
Unicode, and every wrong type is a 400 that names the field instead of a driver error (500).
"""

from __future__ import annotations

from typing import Any

from app.api.errors import BadRequest
from app.api.limits import PATH_MAX, kind, text_problem  # noqa: F401 - PATH_MAX: the bounds live in app.api.limits
from app.common.jsontext import clip


def check_text(value: Any, field: str, max_chars: int, *, required: bool = False) -> str:
    """`value` as storable text, or a 400 naming `field`. Required text must not be blank."""
    if value is None and required:
        raise BadRequest(f"`{field}` is required and must be a non-empty string")
    if not isinstance(value, str):
        raise BadRequest(f"`{field}` must be a string, not {kind(value)}")
    problem = text_problem(value, max_chars)
    if problem:
        raise BadRequest(f"`{field}` {problem}")
    if required and not value.strip():
        raise BadRequest(f"`{field}` is required and must not be empty")
    return value


def describe(value: Any) -> str:
    """A client's value for an error message: its repr, clipped."""
    return clip(repr(value), 80)
