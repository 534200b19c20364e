"""The bounds a request field carries, and the words for a value that breaks them.

A request model states its bounds as field metadata, `field(metadata=limits(max_len=SHORT_MAX))`;
`app.api.codec` applies them when it decodes a request body, so every stored string is bounded,
free of NUL and valid Unicode, every number within its range, and every refusal names the field
in words a client can act on ("`priority` must be a whole number from 0 to 100, not 900").
"""

from __future__ import annotations

from typing import Any

NAME_MAX = 1000  # job names: a blend file name plus what the submitter adds
SHORT_MAX = 255  # worker, tag, platform, job type names; ids; one setting's key
TEXT_MAX = 4000  # descriptions, reasons
PATH_MAX = 4096  # a path to check (Linux's PATH_MAX)
ACTIVITY_MAX = 64 * 1024  # a task's activity line, as reported by a worker
VALUE_MAX = 64 * 1024  # one string inside a job's settings, metadata or storage
ENTRIES_MAX = 1000  # keys in a job's settings or metadata, items in a list
LOG_MAX = 4 * 1024 * 1024  # the log lines of one task update (its body's bound)
RENDER_TIME_MAX = 604_800  # seconds a task's frames took to render, as a worker reports them (a week)
PEAK_MEMORY_MAX = 999_999  # MiB of a render's peak memory, as a worker reports it (about a terabyte)


def limits(*, max_len: int | None = None, nonblank: bool = False, least: float | None = None,
           most: float | None = None, max_items: int | None = None, tree: bool = False,
           choices: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Field metadata bounding a request field.

    `max_len`: characters of a string (of each string of a list); `nonblank`: not only white space;
    `least`/`most`: a number's range; `max_items`: items of a list; `tree`: a JSON tree (settings,
    metadata) whose strings, keys and sizes are bounded by VALUE_MAX, SHORT_MAX and ENTRIES_MAX;
    `choices`: the values allowed (of a string or an enum).
    """
    given = {"max_len": max_len, "nonblank": nonblank or None, "least": least, "most": most,
             "max_items": max_items, "tree": tree or None, "choices": choices}
    return {key: value for key, value in given.items() if value is not None}


def is_whole(value: Any) -> bool:
    """A JSON whole number: an int that is not a bool (a bool is an int in Python; JSON's true is no count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A JSON number, whole or not, and not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def text_problem(value: str, max_chars: int) -> str:
    """Why `value` cannot be stored as text of at most `max_chars` characters, or ''."""
    if len(value) > max_chars:
        return f"must be at most {max_chars:,} characters long (it has {len(value):,})"
    if "\x00" in value:
        return "must not contain NUL characters (\\u0000)"
    if not encodable(value):
        return "must be valid Unicode text (it holds a lone UTF-16 surrogate such as \\ud800)"
    return ""


def kind(value: Any) -> str:
    """What a JSON value is, in words: "null", "a boolean", "a number", "a list", ..."""
    names = {type(None): "null", bool: "a boolean", int: "a number", float: "a number",
             list: "a list", dict: "an object", str: "a string"}
    return names.get(type(value), type(value).__name__)


def shown(value: Any, max_chars: int = 30) -> str:
    """A client's value for an error message: its repr, clipped (a wrong value is seldom long)."""
    text = repr(value)
    return text if len(text) <= max_chars else f"{text[:max_chars]}..."


def number_words(want: str, least: float | None, most: float | None) -> str:
    if least is not None and most is not None:
        return f"{want} from {_bound(least)} to {_bound(most)}"
    if least is not None:
        return f"{want}, {_bound(least)} or more"
    if most is not None:
        return f"{want}, {_bound(most)} or less"
    return want


def _bound(value: float) -> str:
    """A bound in words: whole ones with thousands separators (a pebibyte is not "1.1259e+15")."""
    return f"{value:,}" if is_whole(value) else f"{value:g}"


def tree_problem(value: Any, where: str) -> str:
    """The first bound a JSON tree (a job's settings, metadata) breaks, as a message, or ''."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node, VALUE_MAX)
            if problem:
                return f"`{at}` {problem}"
        elif isinstance(node, dict):
            if len(node) > ENTRIES_MAX:
                return f"`{at}` may have at most {ENTRIES_MAX:,} entries (it has {len(node):,})"
            for key, item in node.items():
                problem = text_problem(str(key), SHORT_MAX)
                if problem:
                    return f"the key `{str(key)[:40]}` in `{at}` {problem}"
                stack.append((item, f"{at}.{key}"))
        elif isinstance(node, list):
            if len(node) > ENTRIES_MAX:
                return f"`{at}` may have at most {ENTRIES_MAX:,} items (it has {len(node):,})"
            stack.extend((item, f"{at}[{i}]") for i, item in enumerate(node))
    return ""


def encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
