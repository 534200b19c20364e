"""The hand-written decoders of the hot path say what their models say.

`AssignedTask.from_json` (each task a worker claims), `WorkerTaskUpdate.from_json` (each task
update a Manager receives) and the Shaman's `ShamanRequirementsRequest.from_json` and
`ShamanCheckout.from_json` (tens of thousands of files for a big scene) are written out by hand for
speed; fed the same bodies, each must give the model, or the message, that the generic codec gives
for the same dataclass.
"""

from __future__ import annotations

import pytest

from app.api import codec
from app.api.errors import ContractError
from app.api.meta import ShamanCheckout, ShamanRequirementsRequest
from app.api.models import AssignedTask, WorkerTaskUpdate

TASK = {
    "uuid": "t1", "job": "j1", "name": "render 1-10", "status": "active", "priority": 50, "job_priority": 60,
    "job_type": "simple-blender-render", "task_type": "blender",
    "commands": [{"name": "blender-render", "parameters": {"exe": "blender"}, "total_step_count": 10}],
}


def _outcome(decode, body):
    try:
        return decode(body)
    except ContractError as exc:
        return f"ContractError: {exc}"


def _task(**changes):
    body = {**TASK, **changes}
    return {k: v for k, v in body.items() if v is not DROP}


DROP = object()

CLAIMS = [
    TASK,
    _task(steps_completed=3, steps_total=10, blend_scripts=True, output_roots=["/render"], output_denied=["/s"]),
    _task(commands=DROP), _task(commands=None), _task(output_roots=None), _task(blend_scripts=None),
    _task(commands=[{"name": "x"}]), _task(commands=[{"name": "x", "parameters": None}]),
    _task(uuid=DROP), _task(job=None), _task(task_type=5), _task(priority="50"), _task(priority=True),
    _task(steps_total=1.5), _task(commands={}), _task(commands=["x"]), _task(commands=[{"parameters": {}}]),
    _task(commands=[{"name": "x", "parameters": []}]), _task(commands=[{"name": "x", "total_step_count": "9"}]),
    _task(blend_scripts="yes"), _task(output_roots="/render"), _task(output_roots=[1]), _task(output_denied=[None]),
    [], "task", None,
]

UPDATES = [
    {}, {"taskStatus": "active", "activity": "Started"}, {"taskStatus": "completed", "log": "done\n"},
    {"steps_completed": 0}, {"steps_completed": 12, "activity": "Rendering 🎬"},
    {"taskStatus": None, "activity": None, "log": None, "steps_completed": None}, {"unknown": 1},
    {"taskStatus": "soft-failed"}, {"taskStatus": "queued"}, {"taskStatus": "nonsense"}, {"taskStatus": 5},
    {"taskStatus": ["active"]}, {"taskStatus": "x" * 1000},
    {"activity": 5}, {"activity": ["a"]}, {"activity": "a\x00"}, {"activity": "a" * 70_000}, {"activity": "\ud800"},
    {"log": {}}, {"log": "l\x00"}, {"steps_completed": -1}, {"steps_completed": True}, {"steps_completed": 1.0},
    {"steps_completed": "3"}, [], "update", None, 5,
    {"taskStatus": "completed", "render_time_s": 12.5, "peak_memory_mb": 812}, {"render_time_s": 0},
    {"render_time_s": 604_800}, {"render_time_s": 604_801}, {"render_time_s": -0.5}, {"render_time_s": None},
    {"render_time_s": float("nan")}, {"render_time_s": float("inf")}, {"render_time_s": "12"},
    {"render_time_s": True}, {"peak_memory_mb": 1e9}, {"peak_memory_mb": [1]}, {"peak_memory_mb": -1},
]


SHA = "ab" * 32
FILE = {"sha": SHA, "size": 12, "path": "textures/wood.png"}
_FILE_LISTS = [
    [FILE], [FILE, {"sha": SHA, "size": 0}], [], [{"sha": SHA.upper(), "size": 2**63 - 1, "path": ""}],
    [{**FILE, "extra": 1}], [{"sha": SHA, "size": 12, "path": None}], [{"sha": SHA, "size": 2**63}],
    [{"sha": SHA, "size": -1, "path": "a"}], [{"sha": SHA, "size": True, "path": "a"}], [{"sha": SHA, "size": 1.0}],
    [{"sha": SHA, "size": "12", "path": "a"}], [{"sha": None, "size": 1}], [{"size": 1, "path": "a"}],
    [{"sha": 5, "size": 1}], [{"sha": SHA, "path": "a"}], [{"sha": SHA, "size": 1, "path": 7}],
    [FILE, "file"], [FILE, None], [FILE, [FILE]],
]
SHAMAN_BODIES = [
    *({"files": files} for files in _FILE_LISTS), *({"files": files, "checkoutPath": "p/q"} for files in _FILE_LISTS),
    {"files": [FILE], "checkoutPath": None}, {"files": [FILE], "checkoutPath": 5}, {"files": [FILE]},
    {"files": None}, {}, {"files": {"a": FILE}}, {"files": "x"}, [], "files", None,
]


@pytest.mark.parametrize("body", SHAMAN_BODIES)
@pytest.mark.parametrize("model", [ShamanRequirementsRequest, ShamanCheckout], ids=lambda m: m.__name__)
def test_the_shaman_decoders_agree_with_the_codec(model, body):
    fast = _outcome(model.from_json, body)
    generic = _outcome(lambda b: codec.decode_request(model, b), body)
    assert fast == generic


@pytest.mark.parametrize("body", CLAIMS)
def test_the_claims_decoder_agrees_with_the_codec(body):
    fast = _outcome(AssignedTask.from_json, body)
    generic = _outcome(lambda b: codec.decode(AssignedTask, b), body)
    assert fast == generic


@pytest.mark.parametrize("body", UPDATES)
def test_the_task_updates_decoder_agrees_with_the_codec(body):
    fast = _outcome(WorkerTaskUpdate.from_json, body)
    generic = _outcome(lambda b: codec.decode_request(WorkerTaskUpdate, b), body)
    assert fast == generic


def test_the_bodies_cover_both_outcomes():
    """A test of agreement proves little if every body fails (or none does)."""
    for decode, bodies in ((AssignedTask.from_json, CLAIMS), (WorkerTaskUpdate.from_json, UPDATES),
                           (ShamanRequirementsRequest.from_json, SHAMAN_BODIES),
                           (ShamanCheckout.from_json, SHAMAN_BODIES)):
        outcomes = [_outcome(decode, b) for b in bodies]
        assert sum(isinstance(o, str) for o in outcomes) >= 10
        assert sum(not isinstance(o, str) for o in outcomes) >= 4
