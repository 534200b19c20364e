"""AvailableJobType shaping and etags."""

from __future__ import annotations

import hashlib
import json

import pytest

from app.manager.job_compilers.job_types import JobTypeDefinitionError, available_job_type, compute_etag

DEFINITION = {
    "label": "Echo",
    "description": "Says things",
    "settings": [{"key": "message", "type": "string", "required": True, "somethingElse": 1}],
}


def test_shape_and_etag():
    job_type = available_job_type("echo", DEFINITION)
    assert job_type["name"] == "echo"
    assert job_type["label"] == "Echo"
    assert job_type["description"] == "Says things"
    assert job_type["settings"] == [{"key": "message", "type": "string", "required": True}]
    body = {k: v for k, v in job_type.items() if k != "etag"}
    expected = hashlib.sha1(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert job_type["etag"] == expected == compute_etag(job_type)


def test_etag_is_stable_and_follows_changes():
    first = available_job_type("echo", DEFINITION)["etag"]
    assert available_job_type("echo", json.loads(json.dumps(DEFINITION)))["etag"] == first
    changed = dict(DEFINITION, label="Echo 2")
    assert available_job_type("echo", changed)["etag"] != first


def test_label_defaults_from_name_and_eval_info_is_completed():
    job_type = available_job_type(
        "my-job_type", {"settings": [{"key": "f", "type": "string", "evalInfo": {"showLinkButton": True}}]}
    )
    assert job_type["label"] == "My Job Type"
    assert "description" not in job_type
    assert job_type["settings"][0]["evalInfo"] == {"showLinkButton": True, "description": ""}


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("nope", "not an object"),
        ({"settings": {}}, "not a list"),
        ({"settings": [{"type": "string"}]}, "has no key"),
        ({"settings": [{"key": "a"}]}, "has no type"),
        ({"settings": [{"key": "a", "type": "int64"}]}, "type 'int64'"),
        ({"settings": [{"key": "a", "type": "string", "visible": "sometimes"}]}, "visible"),
        ({"settings": [{"key": "a", "type": "string", "choices": [1, 2]}]}, "choices"),
        ({"settings": [{"key": "a", "type": "string"}, {"key": "a", "type": "bool"}]}, "duplicate"),
    ],
)
def test_bad_definitions(definition, message):
    with pytest.raises(JobTypeDefinitionError, match=message):
        available_job_type("x", definition)
