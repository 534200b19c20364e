"""Wire models: encode/decode round trips of every model, required and optional keys, contract breaks."""

from __future__ import annotations

import dataclasses
import enum
import re
import typing

import pytest

from app.api import codec, events, jobs, meta, models, workers
from app.api.errors import ContractError

MODULES = (jobs, workers, meta, events)


def wire_models() -> list[type]:
    found = []
    for module in MODULES:
        for obj in vars(module).values():
            if (isinstance(obj, type) and dataclasses.is_dataclass(obj) and issubclass(obj, codec.Wire)
                    and obj.__module__ == module.__name__):
                found.append(obj)
    return found


def _sample_value(hint, depth: int, name: str, meta=None):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    meta = meta or {}
    if origin in (typing.Union, __import__("types").UnionType):
        return _sample_value([a for a in args if a is not type(None)][0], depth, name, meta)
    if meta.get("choices"):  # a request field's bounds (app.api.limits) hold for the sample too
        return hint(meta["choices"][-1])
    if hint is int and ("least" in meta or "most" in meta):
        return int(meta.get("least", meta.get("most", 7)))
    if origin is list:
        return [_sample_value(args[0], depth + 1, name)]
    if origin is dict:
        return {"k": _sample_value(args[1], depth + 1, name)}
    if dataclasses.is_dataclass(hint):
        return sample(hint, depth + 1)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return list(hint)[-1]
    return {bool: True, int: 7, float: 1.5, str: f"{name}-value"}.get(hint, {"any": [1, "two"]})


def sample(cls: type, depth: int = 0, full: bool = True):
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if (required or full) and f.metadata.get("wire", f.name) is not None:
            kwargs[f.name] = _sample_value(hints[f.name], depth, f.name, f.metadata)
    obj = cls(**kwargs)
    if isinstance(obj, events.AssignedWorker):
        obj.id = obj.uuid  # the task event repeats the uuid as `id`
    return obj


def test_there_is_a_model_for_every_shape():
    names = {cls.__name__ for cls in wire_models()}
    for expected in ("Job", "SubmittedJob", "JobsPage", "Task", "TaskSummary", "BlocklistEntry",
                     "LastRenderedInfo", "AvailableJobType", "AvailableJobSetting", "Worker", "WorkerSummary",
                     "WorkerTag", "WorkerSleepSchedule", "ManagerVariable", "TablaoVariable",
                     "StorageCheckResult", "PathCheckResult", "FarmStatusReport", "ErrorBody",
                     "FlamencoVersion", "ManagerConfiguration", "ShamanFileSpec", "TaskLogInfo",
                     "WorkerVitals", "WorkerGpu", "WorkerDay", "WorkerLastFrame"):
        assert expected in names
    assert set(events.PAYLOADS) == {
        events.JOB_DID_CHANGE, events.TASK_DID_CHANGE, events.TASK_LOG_DID_APPEND, events.WORKER_DID_CHANGE,
        events.WORKER_TAG_DID_CHANGE, events.LAST_RENDERED_DID_CHANGE, events.FARM_STATUS_DID_CHANGE,
        events.MANAGER_DID_START, events.MANAGER_WILL_SHUT_DOWN, events.CONFIG_DID_CHANGE,
        events.WORKER_VITALS_DID_CHANGE}


@pytest.mark.parametrize("cls", wire_models(), ids=lambda c: c.__name__)
@pytest.mark.parametrize("full", [True, False], ids=["all-fields", "required-only"])
def test_round_trip(cls, full):
    obj = sample(cls, full=full)
    data = obj.to_json()
    assert all(value is not None for value in data.values()), "optional keys are left out, not null"
    try:
        decoded = cls.from_json(data)
    except ContractError as exc:
        # A request model that needs one of two optional fields (a variable value's `platform` or
        # `platforms`) refuses the bare minimum, saying so; as a Manager's answer it still reads.
        assert not full and issubclass(cls, codec.RequestBody) and "is required" in str(exc), exc
        decoded = codec.decode(cls, data)
    assert decoded == obj
    assert codec.encode(obj) == data, "a hand-written to_json must say what the fields say"


@pytest.mark.parametrize("cls", wire_models(), ids=lambda c: c.__name__)
def test_every_required_field_is_required(cls):
    data = sample(cls, full=False).to_json()
    for f in dataclasses.fields(cls):
        key = f.metadata.get("wire", f.name)
        if key is None or f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        broken = {k: v for k, v in data.items() if k != key}
        with pytest.raises(ContractError, match=re.escape(f"{key}` is required")):
            cls.from_json(broken)


def test_camel_case_keys_are_flamencos():
    cfg = meta.ManagerConfiguration(storage_location="/s", shaman_enabled=True, is_first_run=False)
    assert cfg.to_json() == {"storageLocation": "/s", "shamanEnabled": True, "isFirstRun": False}
    result = meta.ShamanCheckoutResult(checkout_path="a/b", link_mode="symlink")
    assert result.to_json() == {"checkoutPath": "a/b"}, "the link mode comes from a header, not the body"


def test_decoding_names_where_the_contract_breaks():
    with pytest.raises(ContractError, match=r"`Job\.priority` must be a whole number, not a string"):
        jobs.Job.from_json({**sample(jobs.Job).to_json(), "priority": "high"})
    with pytest.raises(ContractError, match=r"`Worker\.tags\[0\]` must be a JSON object, not a string"):
        workers.Worker.from_json({**sample(workers.Worker).to_json(), "tags": ["gpu"]})
    with pytest.raises(ContractError, match="`Job.status` must be one of .*, not 'exploded'"):
        jobs.Job.from_json({**sample(jobs.Job).to_json(), "status": "exploded"})
    with pytest.raises(ContractError, match="must be a whole number, not a boolean"):
        jobs.JobsPage.from_json({"jobs": [], "total": True})


def test_unknown_keys_are_ignored():
    data = {**sample(workers.WorkerTag).to_json(), "colour": "red"}
    assert workers.WorkerTag.from_json(data) == sample(workers.WorkerTag)


def test_event_messages_decode_into_their_payload_models():
    update = sample(events.TaskUpdate)
    message = events.decode_event(events.encode_event(update, seq=4))
    assert message == events.EventMessage(events.TASK_DID_CHANGE, update, 4)
    unknown = events.decode_event({"type": "job_did_dance", "data": {"x": 1}})
    assert unknown.payload == {"x": 1} and unknown.seq is None
    with pytest.raises(ContractError):
        events.decode_event({"type": events.JOB_DID_CHANGE, "data": {"id": "x"}})
    with pytest.raises(ContractError):
        events.decode_event({"data": {}})


def test_task_event_worker_is_flamencos_assigned_worker():
    update = events.TaskUpdate(id="t", job_id="j", name="n", updated="u", status="active", activity="",
                               steps_completed=0, steps_total=1,
                               worker=events.AssignedWorker(uuid="w-uuid", name="w1"))
    assert update.to_json()["worker"] == {"uuid": "w-uuid", "name": "w1", "id": "w-uuid"}


def test_assigned_task_keeps_its_hand_written_decoder():
    task = models.AssignedTask.from_json({"uuid": "u", "job": "j", "name": "n", "status": "active",
                                          "priority": 1, "job_priority": 2, "job_type": "t", "task_type": "misc",
                                          "commands": [{"name": "echo", "parameters": {"message": "hi"}}]})
    assert task.commands[0].parameters == {"message": "hi"}
    with pytest.raises(ContractError):
        models.AssignedTask.from_json({"job": "j"})
