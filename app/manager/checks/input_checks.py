"""Checks for the fields a client sends the Manager: types, lengths and storable text.

Handlers and services read request bodies through these helpers, so every stored string is
bounded, free of NUL and valid Unicode, and every wrong type is a 400 that names the field and
says what it should be, instead of a driver error (500) from deep inside the store.
"""

from __future__ import annotations

from typing import Any

from app.api.errors import BadRequest
from app.common.jsontext import clip, text_problem

NAME_MAX = 1000  # job names: a blend file name plus what the submitter adds
SHORT_MAX = 255  # worker, tag, platform, job type names; ids; one setting's key
TEXT_MAX = 4000  # descriptions, reasons
PATH_MAX = 4096  # a path to check (Linux's PATH_MAX)
ACTIVITY_MAX = 64 * 1024  # a task's activity line, as reported by a worker
VALUE_MAX = 64 * 1024  # one string inside a job's settings, metadata or storage
ENTRIES_MAX = 1000  # keys in a job's settings or metadata, items in a list


def check_text(value: Any, field: str, max_chars: int, *, required: bool = False) -> str:
    """`value` as storable text, or a 400 naming `field`. Required text must not be blank."""
    if value is None and required:
        raise BadRequest(f"`{field}` is required and must be a non-empty string")
    if not isinstance(value, str):
        raise BadRequest(f"`{field}` must be a string, not {_kind(value)}")
    problem = text_problem(value, max_chars)
    if problem:
        raise BadRequest(f"`{field}` {problem}")
    if required and not value.strip():
        raise BadRequest(f"`{field}` is required and must not be empty")
    return value


def text_field(body: dict[str, Any], key: str, max_chars: int, *, required: bool = False,
               default: str = "", prefix: str = "") -> str:
    """`body[key]` as text (see `check_text`); `default` when it is absent or null and not required."""
    value = body.get(key)
    if value is None and not required:
        return default
    return check_text(value, prefix + key, max_chars, required=required)


def text_list(value: Any, field: str, max_chars: int = SHORT_MAX, max_items: int = ENTRIES_MAX) -> list[str]:
    """A list of storable strings, or a 400 naming `field`."""
    if not isinstance(value, list):
        raise BadRequest(f"`{field}` must be a list of strings, not {_kind(value)}")
    if len(value) > max_items:
        raise BadRequest(f"`{field}` may have at most {max_items:,} items (it has {len(value):,})")
    return [check_text(item, f"{field}[{i}]", max_chars) for i, item in enumerate(value)]


def check_values(value: Any, field: str) -> None:
    """Bound a JSON tree a job carries (settings, metadata, storage): key and string lengths, NUL."""
    stack: list[tuple[Any, str]] = [(value, field)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            check_text(node, where, VALUE_MAX)
        elif isinstance(node, dict):
            if len(node) > ENTRIES_MAX:
                raise BadRequest(f"`{where}` may have at most {ENTRIES_MAX:,} entries (it has {len(node):,})")
            for key, item in node.items():
                problem = text_problem(str(key), SHORT_MAX)
                if problem:
                    raise BadRequest(f"the key `{clip(key, 40)}` in `{where}` {problem}")
                stack.append((item, f"{where}.{key}"))
        elif isinstance(node, list):
            if len(node) > ENTRIES_MAX:
                raise BadRequest(f"`{where}` may have at most {ENTRIES_MAX:,} items (it has {len(node):,})")
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(node))


def describe(value: Any) -> str:
    """A client's value for an error message: its repr, clipped."""
    return clip(repr(value), 80)


def _kind(value: Any) -> str:
    names = {type(None): "null", bool: "a boolean", int: "a number", float: "a number",
             list: "a list", dict: "an object", str: "a string"}
    return names.get(type(value), type(value).__name__)
