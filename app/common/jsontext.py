"""Reading untrusted JSON and text: bounded nesting, valid Unicode, and short log excerpts.

`parse_json` is what every HTTP body goes through (the Manager's API and the Shaman's): it
turns JSON that would crash a handler later (nesting deep enough to exhaust the recursion
limit, strings with a lone UTF-16 surrogate that no file, database or YAML writer can encode)
into a `JsonRejected` with a message in words, at the door (the check of one string a client
wants stored is `app.api.limits.text_problem`); `clip` shortens a client's string for a log line.
"""

from __future__ import annotations

import json
from typing import Any

from app.api.limits import encodable as _encodable

MAX_DEPTH = 64
_CLIP_CHARS = 120


class JsonRejected(ValueError):
    """The JSON text is unusable; the message says why, in words, after "the request body"."""


def parse_json(raw: bytes | bytearray | str, max_depth: int = MAX_DEPTH) -> Any:
    """Decode JSON text, refusing invalid text, nesting deeper than `max_depth`, lone surrogates."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise JsonRejected(_too_deep(max_depth)) from None
    except UnicodeDecodeError:
        raise JsonRejected("is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise JsonRejected(f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    check_tree(value, max_depth)
    return value


def check_tree(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise `JsonRejected` if `value` nests deeper than `max_depth` or holds a lone surrogate.

    Iterative, so a deep document cannot exhaust the recursion limit here either.
    """
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, str):
            if not _encodable(node):
                raise JsonRejected(f"holds text that is not valid Unicode{_at(where)} "
                                   "(a lone UTF-16 surrogate such as \\ud800)")
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > max_depth:
            raise JsonRejected(_too_deep(max_depth))
        if isinstance(node, dict):
            for key, item in node.items():
                path = f"{where}.{key}" if where else key
                if not _encodable(key):
                    raise JsonRejected(f"has a key that is not valid Unicode{_at(where)} "
                                       "(a lone UTF-16 surrogate such as \\ud800)")
                stack.append((item, depth + 1, path))
        else:
            stack.extend((item, depth + 1, f"{where}[{i}]") for i, item in enumerate(node))


def clip(value: object, max_chars: int = _CLIP_CHARS) -> str:
    """`value` as text for a log line: at most `max_chars` characters, no line breaks."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > max_chars:
        text = f"{text[:max_chars]}... ({len(text):,} characters)"
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text


def _at(where: str) -> str:
    return f" in `{clip(where, 80)}`" if where else ""


def _too_deep(max_depth: int) -> str:
    return f"is nested too deeply (at most {max_depth} levels of arrays and objects)"
