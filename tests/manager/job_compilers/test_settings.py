"""Validation of submitted job settings against the job type's setting definitions."""

from __future__ import annotations

import pytest

from app.manager.job_compilers.errors import InvalidJobSettings
from app.manager.job_compilers.settings import validate_settings

DEFS = [
    {"key": "message", "type": "string", "required": True},
    {"key": "repeats", "type": "int32", "default": 1},
    {"key": "fps", "type": "float"},
    {"key": "previews", "type": "bool", "default": False},
    {"key": "format", "type": "string", "choices": ["PNG", "JPEG"], "default": "PNG"},
    {"key": "count", "type": "int32", "required": True, "default": 0},
]


def test_defaults_fill_in_missing_and_null_settings():
    result = validate_settings(DEFS, {"message": "hi", "repeats": None})
    assert result == {"message": "hi", "repeats": 1, "previews": False, "format": "PNG", "count": 0}


def test_unknown_settings_are_kept():
    result = validate_settings(DEFS, {"message": "hi", "addon_extra": [1, 2]})
    assert result["addon_extra"] == [1, 2]


def test_optional_setting_without_default_stays_absent():
    assert "fps" not in validate_settings(DEFS, {"message": "hi", "fps": None})


def test_required_setting_missing():
    with pytest.raises(InvalidJobSettings, match="'message' is required") as info:
        validate_settings(DEFS, {})
    assert info.value.key == "message"
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("message", 5, "must be a string"),
        ("repeats", "3", "whole number"),
        ("repeats", True, "whole number"),
        ("repeats", 2.5, "whole number"),
        ("repeats", 2**31, "32 bits"),
        ("repeats", -(2**31) - 1, "32 bits"),
        ("fps", "24", "must be a number"),
        ("fps", False, "must be a number"),
        ("fps", float("inf"), "finite"),
        ("previews", 1, "boolean"),
        ("format", "EXR", "one of 'PNG', 'JPEG'"),
    ],
)
def test_wrong_values_name_the_key(key, value, fragment):
    settings = {"message": "hi", key: value}
    with pytest.raises(InvalidJobSettings, match=fragment) as info:
        validate_settings(DEFS, settings)
    assert info.value.key == key
    assert repr(key) in info.value.message


def test_numbers_are_accepted_where_they_fit():
    result = validate_settings(DEFS, {"message": "hi", "repeats": 3.0, "fps": 24, "count": -(2**31)})
    assert result["repeats"] == 3 and isinstance(result["repeats"], int)
    assert result["fps"] == 24
    assert result["count"] == -(2**31)


def test_settings_must_be_an_object():
    with pytest.raises(InvalidJobSettings):
        validate_settings(DEFS, ["not", "a", "dict"])


@pytest.mark.parametrize("empty", ["", " \t"])
def test_empty_required_string_counts_as_missing(empty):
    with pytest.raises(InvalidJobSettings, match="'message' is required but empty") as info:
        validate_settings(DEFS, {"message": empty})
    assert info.value.key == "message"


def test_empty_required_string_with_a_default_gets_the_default():
    defs = [{"key": "format", "type": "string", "required": True, "default": "PNG"}]
    assert validate_settings(defs, {"format": ""}) == {"format": "PNG"}


def test_empty_optional_string_is_kept():
    defs = [{"key": "note", "type": "string"}]
    assert validate_settings(defs, {"note": ""}) == {"note": ""}
