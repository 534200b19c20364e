"""The query language of `farm kill` and `farm requeue`, on hand-made jobs."""

from __future__ import annotations

import pytest

from app.api.jobs import Job
from app.farm.errors import UsageError
from app.farm.query import parse_query


def job(name: str, status: str = "active", release: str | None = "r1", type_: str = "simple-blender-render",
        **meta: str) -> Job:
    metadata = dict(meta)
    if release:
        metadata.update({"farm.release": release, "farm.job": name})
    return Job(id=name, name=f"{release}.{name}" if release else name, type=type_, priority=50, status=status,
               activity="", created="", updated="", steps_completed=0, steps_total=0,
               submitter_platform="linux", metadata=metadata)


def names(query: str, jobs: list[Job]) -> list[str]:
    q = parse_query(query)
    return [j.id for j in jobs if q.matches(j)]


JOBS = [job("shot_010"), job("shot_020", status="queued"), job("shot_100", status="completed"),
        job("lookdev", release=None, type_="echo-sleep-test", project="spring"),
        job("shot_011", release="r2", project="spring")]


def test_terms_are_anded_and_globs_match_the_farm_job_name():
    assert names("status:active name:shot_0*", JOBS) == ["shot_010", "shot_011"]
    assert names("shot_0* release:r1", JOBS) == ["shot_010", "shot_020"]


def test_status_lists_metadata_type_and_negation():
    assert names("status:queued,completed", JOBS) == ["shot_020", "shot_100"]
    assert names("project=spring", JOBS) == ["lookdev", "shot_011"]
    assert names("type:echo-*", JOBS) == ["lookdev"]
    assert names("release:r* -status:completed -release:r2", JOBS) == ["shot_010", "shot_020"]
    assert names("release:*", JOBS) == ["shot_010", "shot_020", "shot_100", "shot_011"]


@pytest.mark.parametrize("text, words", [
    ("", "empty"), ("colour:red", "unknown field"), ("status:sleeping", "unknown status"),
    ("name:", "no value"), ("=x", "key is missing"), ("name:'open", "does not parse"),
])
def test_bad_queries_say_what_is_wrong(text, words):
    with pytest.raises(UsageError, match=words):
        parse_query(text)


def test_releases_named_by_the_query():
    assert parse_query("release:r1 -release:r2 name:x").releases() == ["r1"]
