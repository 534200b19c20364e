"""Durations in Go's spelling (the config file) and in words (what people read)."""

from __future__ import annotations

import pytest

from app.common.durations import format_duration, parse_duration, say_duration, split_duration, unit_seconds


def test_go_spelling_round_trips_for_the_config_file():
    assert format_duration(parse_duration("10m")) == "10m0s"
    assert parse_duration("1h30m") == 5400


@pytest.mark.parametrize(("seconds", "words"), [
    (600, "10 minutes"), (60, "1 minute"), (5400, "1 hour 30 minutes"), (45, "45 seconds"), (1, "1 second"),
    (3661, "1 hour 1 minute 1 second"), (0, "0 seconds"), (744 * 3600, "744 hours"), (89.6, "1 minute 30 seconds"),
])
def test_words_name_each_unit_once_in_the_singular_or_plural(seconds, words):
    assert say_duration(seconds) == words


@pytest.mark.parametrize(("seconds", "split"), [
    (600, (10, "minutes")), (3600, (1, "hours")), (5400, (90, "minutes")), (45, (45, "seconds")),
    (90, (90, "seconds")), (0, (0, "minutes")), (1.4, (1, "seconds")),
])
def test_split_picks_the_largest_unit_that_holds_it_whole(seconds, split):
    value, unit = split
    assert split_duration(seconds) == split
    assert value * unit_seconds(unit) == round(seconds)


def test_an_unknown_unit_is_refused_in_words():
    with pytest.raises(ValueError, match="hours, minutes or seconds"):
        unit_seconds("fortnights")
