"""Untrusted JSON and text: depth, Unicode, NUL and length checks, and log excerpts."""

from __future__ import annotations

import pytest

from app.api.limits import text_problem
from app.common.jsontext import JsonRejected, check_tree, clip, parse_json


def test_parse_json_accepts_ordinary_documents():
    assert parse_json(b'{"a": [1, {"b": "\\u00e9\\ud83c\\udfac"}]}') == {"a": [1, {"b": "é🎬"}]}


@pytest.mark.parametrize("depth", [65, 500, 5_000])
def test_parse_json_refuses_deep_nesting(depth):
    with pytest.raises(JsonRejected, match="nested too deeply"):
        parse_json("[" * depth + "]" * depth)
    assert parse_json("[" * 64 + "]" * 64) is not None


@pytest.mark.parametrize("raw, where", [
    ('{"name": "\\ud800"}', "in `name`"),
    ('{"a": ["ok", "\\udfff"]}', "in `a[1]`"),
    ('{"\\ud800": 1}', "has a key"),
    (b'{"a": "\xed\xa0\x80"}', "in `a`"),  # a surrogate encoded as UTF-8 bytes
])
def test_parse_json_refuses_lone_surrogates(raw, where):
    with pytest.raises(JsonRejected, match="not valid Unicode") as info:
        parse_json(raw)
    assert where in str(info.value)


def test_parse_json_says_what_is_invalid():
    with pytest.raises(JsonRejected, match="is not valid JSON: Expecting value at line 1 column 1"):
        parse_json("nope")
    with pytest.raises(JsonRejected, match="not UTF-8"):
        parse_json(b"\xff\xfe\xfa")


def test_check_tree_is_iterative():
    deep: object = "x"
    for _ in range(50_000):  # far beyond the recursion limit
        deep = [deep]
    with pytest.raises(JsonRejected, match="nested too deeply"):
        check_tree(deep)


def test_text_problem():
    assert text_problem("fine ✓", 10) == ""
    assert "at most 3 characters long (it has 4)" in text_problem("abcd", 3)
    assert "NUL" in text_problem("a\x00", 10)
    assert "surrogate" in text_problem("a\ud800", 10)


def test_clip_shortens_and_escapes():
    assert clip("short") == "short"
    clipped = clip("x" * 10_000_000)
    assert len(clipped) < 200 and "(10,000,000 characters)" in clipped
    assert clip("a\nb\x00") == "a\\nb\\x00"
