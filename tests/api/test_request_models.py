"""Request models decode strictly: types, required keys, no null, and the bounds their fields carry."""

from __future__ import annotations

import pytest

from app.api import codec
from app.api.errors import ContractError
from app.api.jobs import JobPriorityChange, SubmittedJob
from app.api.limits import ENTRIES_MAX, VALUE_MAX, is_number, is_whole
from app.api.workers import WorkerTag, WorkerTagChangeRequest

JOB = {"name": "shot 10", "type": "simple-blender-render", "submitter_platform": "linux"}


@pytest.mark.parametrize("body, words", [
    ({**JOB, "priority": True}, "`priority` must be a whole number from 0 to 100, not a boolean"),
    ({**JOB, "priority": 101}, "`priority` must be a whole number from 0 to 100, not 101"),
    ({**JOB, "priority": None}, "`priority` must be a whole number from 0 to 100, not null"),
    ({**JOB, "name": None}, "`name` is required: a string, not null"),
    ({**JOB, "name": " \t"}, "`name` is required and must not be empty"),
    ({**JOB, "name": "x" * 1001}, "`name` must be at most 1,000 characters long (it has 1,001)"),
    ({**JOB, "settings": {"frames": 1, "deep": [{"a": "\x00"}]}}, "`settings.deep[0].a` must not contain NUL"),
    ({**JOB, "settings": {"k": "v" * (VALUE_MAX + 1)}}, "`settings.k` must be at most 65,536 characters"),
    ({**JOB, "settings": {str(i): i for i in range(ENTRIES_MAX + 1)}}, "`settings` may have at most 1,000 entries"),
    ({**JOB, "metadata": {"user.name": 3}}, "`metadata.user.name` must be a string, not a number"),
    ({**JOB, "storage": {"shaman_checkout_id": None}}, "`storage.shaman_checkout_id` must be a string, not null"),
    ({**JOB, "initial_status": "active"}, "`initial_status` must be one of queued, paused, not 'active'"),
    ({**JOB, "initial_status": "bogus"}, "`initial_status` must be one of queued, paused, not 'bogus'"),
    ({"type": "t", "submitter_platform": "linux"}, "`name` is required: a string"),
    ("job", "expected a JSON object, not a string"),
])
def test_a_submitted_job_that_does_not_fit_names_the_field(body, words):
    with pytest.raises(ContractError) as info:
        SubmittedJob.from_json(body)
    assert str(info.value).startswith(words)


def test_a_fitting_body_decodes_with_its_defaults_and_ignores_unknown_keys():
    job = SubmittedJob.from_json({**JOB, "settings": {"frames": "1-10"}, "newer_field": 1})
    assert (job.priority, job.settings, job.metadata, job.initial_status) == (50, {"frames": "1-10"}, {}, None)
    assert SubmittedJob.from_json(job.to_json()) == job


def test_bounds_hold_for_lists_and_their_items():
    with pytest.raises(ContractError, match=r"`tag_ids` may have at most 1,000 items"):
        WorkerTagChangeRequest.from_json({"tag_ids": ["t"] * 1001})
    with pytest.raises(ContractError, match=r"`tag_ids\[1\]` must be at most 255 characters"):
        WorkerTagChangeRequest.from_json({"tag_ids": ["t", "t" * 256]})


def test_a_managers_answer_is_read_leniently():
    """The same model in an answer: null is absent, no bounds (a Manager may write a little differently)."""
    assert codec.decode(WorkerTag, {"name": "x" * 300, "description": None}).description is None
    with pytest.raises(ContractError, match="`description` must be a string, not null"):
        WorkerTag.from_json({"name": "gpu", "description": None})
    assert JobPriorityChange.from_json({"priority": 0}).priority == 0


def test_whole_numbers_and_numbers_are_never_booleans():
    assert [is_whole(v) for v in (3, -1, True, 2.0, "3", None)] == [True, True, False, False, False, False]
    assert [is_number(v) for v in (3, 2.5, False, "1")] == [True, True, False, False]


def test_checks_across_fields_run_after_each_field_fits_and_name_both():
    from app.api.workers import TablaoWorkerVitalsReport

    with pytest.raises(ContractError, match=r"^`gpus\[1\]\.memory_used` \(9\) cannot be more than "
                                            r"`gpus\[1\]\.memory_total` \(8\)$"):
        TablaoWorkerVitalsReport.from_json({"gpus": [{"name": "a"}, {"name": "b", "memory_used": 9,
                                                                     "memory_total": 8}]})
    # A Manager's answer is not a request: read leniently, no checks.
    assert codec.decode(TablaoWorkerVitalsReport, {"sample": 9, "samples_total": 8}).sample == 9


def test_numbers_are_finite_and_large_bounds_are_written_out():
    from app.api.workers import TablaoWorkerVitalsReport

    with pytest.raises(ContractError, match=r"^`cpu_percent` must be a number from 0 to 100, not nan$"):
        TablaoWorkerVitalsReport.from_json({"cpu_percent": float("nan")})
    with pytest.raises(ContractError, match=r"from 0 to 1,125,899,906,842,624, not -1$"):
        TablaoWorkerVitalsReport.from_json({"memory_total": -1})
