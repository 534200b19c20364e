"""Words for a client's value in an error message, for the checks outside a request model.

Request bodies are decoded by their models (`app.api.codec`, with the bounds of `app.api.limits`),
which name the field they refuse; the few values read elsewhere (query parameters, worker vitals)
quote what the client sent with `describe`, clipped so a huge value never fills a message or a log.
"""

from __future__ import annotations

from typing import Any

from app.common.jsontext import clip


def describe(value: Any) -> str:
    """A client's value for an error message: its repr, clipped."""
    return clip(repr(value), 80)
