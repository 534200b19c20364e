"""The OpenAPI document and the request models of `app.api` describe every body alike.

Each route that takes a JSON body names the model its handler decodes it with (`BODY_MODELS`); the
schema the document declares for that route must have the same fields, the same required ones, the
same types and the same bounds (range, choices) as the model. A field added to a model but not to
the document fails here, and the reverse; so does a route with a body the table does not name.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any

import pytest

from app.api import codec, events
from app.api.fair_share import FairShare
from app.api.jobs import (
    AvailableJobType,
    BlocklistEntry,
    Job,
    JobChain,
    JobDeletionInfo,
    JobDependsOnChange,
    JobEtas,
    JobMassDeletionSelection,
    JobPriorityChange,
    JobsPage,
    JobStatusChange,
    JobTagChange,
    LastRenderedInfo,
    SubmittedJob,
    Task,
    TaskLogInfo,
    TaskStatusChange,
    TaskSummary,
)
from app.api.meta import (
    BlenderPathCheckResult,
    ErrorBody,
    FarmStatusReport,
    FlamencoVersion,
    ManagerConfiguration,
    ManagerVariable,
    PathCheckInput,
    PathCheckResult,
    SetupAssistantConfig,
    ShamanCheckout,
    ShamanCheckoutResult,
    ShamanFileSpecWithStatus,
    ShamanFileStatusReport,
    ShamanRequirementsRequest,
    SharedStorageLocation,
    StorageCheckResult,
    SubmitPolicy,
    TablaoStorageCheckInput,
    TablaoVariables,
)
from app.api.models import (
    AssignedTask,
    MayKeepRunning,
    RegisteredWorker,
    TablaoManagerChallenge,
    TablaoManagerProof,
    WorkerRegistration,
    WorkerSignOn,
    WorkerStateChange,
    WorkerStateChanged,
    WorkerTaskUpdate,
)
from app.api.requirements import JobRequirementsAnswer
from app.api.task_stats import JobTaskStats
from app.api.workers import (
    TablaoWorkerVitalsReport,
    Worker,
    WorkerDay,
    WorkerSleepSchedule,
    WorkerStatusChangeRequest,
    WorkerSummary,
    WorkerTag,
    WorkerTagChangeRequest,
)
from app.manager.web.openapi import load_spec

#: operationId -> the model its handler decodes the body with (a list of them: `[Model]`).
BODY_MODELS: dict[str, Any] = {
    "submitJob": SubmittedJob,
    "submitJobCheck": SubmittedJob,
    "setJobStatus": JobStatusChange,
    "setJobPriority": JobPriorityChange,
    "setJobTag": JobTagChange,
    "deleteJobMass": JobMassDeletionSelection,
    "removeJobBlocklist": [BlocklistEntry],
    "setTaskStatus": TaskStatusChange,
    "registerWorker": WorkerRegistration,
    "signOn": WorkerSignOn,
    "workerStateChanged": WorkerStateChanged,
    "taskUpdate": WorkerTaskUpdate,
    "requestWorkerStatusChange": WorkerStatusChangeRequest,
    "setWorkerTags": WorkerTagChangeRequest,
    "setWorkerSleepSchedule": WorkerSleepSchedule,
    "createWorkerTag": WorkerTag,
    "updateWorkerTag": WorkerTag,
    "checkSharedStoragePath": PathCheckInput,
    "checkBlenderExePath": PathCheckInput,
    "tablaoCheckStorage": TablaoStorageCheckInput,
    "saveSetupAssistantConfig": SetupAssistantConfig,
    "tablaoProveManager": TablaoManagerChallenge,
    "tablaoWorkerVitals": TablaoWorkerVitalsReport,
    "tablaoSetVariables": TablaoVariables,
    "tablaoSetJobDependsOn": JobDependsOnChange,
    "shamanCheckoutRequirements": ShamanRequirementsRequest,
    "shamanCheckout": ShamanCheckout,
}

#: Routes whose body is not JSON, or not (yet) decoded by a model of `app.api`.
NOT_MODELLED = {
    "taskOutputProduced": "an image",
    "shamanFileStore": "a file",
    "updateConfigurationFile": "the configuration file, any object (as Flamenco)",
}

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema:  # one object of all the parts' properties (Job is SubmittedJob plus its own)
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in (_resolve(p, components) for p in schema["allOf"]):
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    return schema


def _inner(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return inner[0] if len(inner) == 1 else Any
    return hint


def type_problems(hint: Any, meta: dict[str, Any], schema: dict[str, Any], components: dict[str, Any],
                  where: str, answer: bool = False) -> list[str]:
    """How the schema of one value differs from the model's type and bounds for it; of an `answer`
    (a response), the type only: an answer is read leniently, its bounds are the Manager's to keep."""
    schema = _resolve(schema, components)
    hint = _inner(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    kind = schema.get("type")
    if hint is Any:
        return []
    if dataclasses.is_dataclass(hint):
        # An answer's model is named by itself: the same model in several answers differs once.
        return model_problems(hint, schema, components, "" if answer else where, answer)
    if origin is list:
        if kind != "array":
            return [f"{where}: the model has a list, the document {kind!r}"]
        return type_problems(args[0] if args else Any, {}, schema.get("items", {}), components, f"{where}[]",
                             answer)
    if origin is dict:
        if kind != "object":
            return [f"{where}: the model has an object, the document {kind!r}"]
        extra = schema.get("additionalProperties", True)
        if isinstance(extra, dict) and args:
            return type_problems(args[1], {}, extra, components, f"{where}.*", answer)
        return []
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        wanted = set(meta.get("choices") or (m.value for m in hint))
        problems = [] if kind == "string" else [f"{where}: the model has an enum, the document {kind!r}"]
        if set(schema.get("enum", ())) != wanted:
            problems.append(f"{where}: the model allows {sorted(wanted)}, the document {sorted(schema.get('enum', ()))}")
        return problems
    problems = []
    if _JSON_TYPES.get(hint) != kind:
        problems.append(f"{where}: the model has {_JSON_TYPES.get(hint, hint)!r}, the document {kind!r}")
    if answer:
        return problems
    for bound, key in (("least", "minimum"), ("most", "maximum")):
        if meta.get(bound) != schema.get(key):
            problems.append(f"{where}: the model's {key} is {meta.get(bound)}, the document's {schema.get(key)}")
    if meta.get("choices") and set(meta["choices"]) != set(schema.get("enum", ())):
        problems.append(f"{where}: the model allows {sorted(meta['choices'])}, the document "
                        f"{sorted(schema.get('enum', ()))}")
    return problems


def model_problems(model: type, schema: dict[str, Any], components: dict[str, Any], where: str = "",
                   answer: bool = False) -> list[str]:
    """How an object schema differs from a model: fields, required ones, types, bounds (of a request
    body; of an `answer`, see `answer_required_problems`)."""
    schema = _resolve(schema, components)
    where = where or model.__name__
    if schema.get("type") != "object":
        return [f"{where}: the document's body is {schema.get('type')!r}, the model an object"]
    props = schema.get("properties", {})
    required = set(schema.get("required", ()))
    fields = {key: (hint, req, meta) for key, hint, req, meta in codec.fields_of(model)}
    problems = [f"{where}.{k}: in the model, not in the document" for k in sorted(fields.keys() - props.keys())]
    problems += [f"{where}.{k}: in the document, not in the model" for k in sorted(props.keys() - fields.keys())]
    for key in sorted(fields.keys() & props.keys()):
        hint, model_requires, meta = fields[key]
        prop = props[key]
        if model_requires and key not in required:
            problems.append(f"{where}.{key}: required by the model, optional in the document")
        if answer:
            problems += answer_required_problems(model, key, key in required, _resolve(prop, components), where)
        # A field the document requires may have a default in the model only where the document says it.
        elif key in required and not model_requires and "default" not in _resolve(prop, components):
            problems.append(f"{where}.{key}: required by the document, optional in the model")
        problems += type_problems(hint, meta, prop, components, f"{where}.{key}", answer)
    return problems


def answer_required_problems(model: type, key: str, required: bool, prop: dict[str, Any], where: str) -> list[str]:
    """A key the document says every answer has may not be one the model leaves out (a field whose
    default is None); a default of its own is written always. A nullable key may be None either way."""
    field = next(f for f in dataclasses.fields(model) if f.metadata.get("wire", f.name) == key)
    if required and field.default is None and not prop.get("nullable"):
        return [f"{where}.{key}: required by the document, left out by the model when None"]
    return []


def _bodies() -> list[tuple[str, dict[str, Any]]]:
    spec = load_spec()
    found = []
    for ops in spec["paths"].values():
        for op in ops.values():
            if isinstance(op, dict) and "requestBody" in op:
                found.append((op["operationId"], op["requestBody"]["content"]))
    return found


def test_every_route_with_a_body_names_its_model():
    ids = {op_id for op_id, _ in _bodies()}
    assert ids - BODY_MODELS.keys() - NOT_MODELLED.keys() == set(), "a new route's body needs a model"
    assert (BODY_MODELS.keys() | NOT_MODELLED.keys()) - ids == set(), "the table names a route that is gone"


@pytest.mark.parametrize("op_id", sorted(BODY_MODELS))
def test_the_document_says_what_the_model_says(op_id):
    components = load_spec()["components"]["schemas"]
    content = dict(_bodies())[op_id]
    schema = content["application/json"]["schema"]
    model = BODY_MODELS[op_id]
    if isinstance(model, list):
        schema = _resolve(schema, components)
        assert schema.get("type") == "array", op_id
        problems = model_problems(model[0], schema["items"], components)
    else:
        problems = model_problems(model, schema, components)
    assert problems == [], f"{op_id}: " + "; ".join(problems)


# --- answers ----------------------------------------------------------------------------------------

#: operationId -> the type its 200 answer is read as: a model, a list or mapping of models, or (for an
#: answer that wraps a list in one key) {key: type}.
RESPONSE_MODELS: dict[str, Any] = {
    "getVersion": FlamencoVersion,
    "getConfiguration": ManagerConfiguration,
    "checkSharedStoragePath": PathCheckResult,
    "findBlenderExePath": list[BlenderPathCheckResult],
    "checkBlenderExePath": BlenderPathCheckResult,
    "getVariables": dict[str, ManagerVariable],
    "getSharedStorage": SharedStorageLocation,
    "getFarmStatus": FarmStatusReport,
    "scheduleTask": AssignedTask,
    "registerWorker": RegisteredWorker,
    "signOn": WorkerStateChange,
    "workerState": WorkerStateChange,
    "tablaoProveManager": TablaoManagerProof,
    "mayWorkerRun": MayKeepRunning,
    "fetchWorkers": {"workers": list[WorkerSummary]},
    "fetchWorker": Worker,
    "fetchWorkerSleepSchedule": WorkerSleepSchedule,
    "fetchWorkerTags": {"tags": list[WorkerTag]},
    "createWorkerTag": WorkerTag,
    "fetchWorkerTag": WorkerTag,
    "getJobTypes": {"job_types": list[AvailableJobType]},
    "getJobType": AvailableJobType,
    "fetchJobs": {"jobs": list[Job]},
    "submitJob": Job,
    "fetchJob": Job,
    "deleteJobWhatWouldItDo": JobDeletionInfo,
    "fetchJobLastRenderedInfo": LastRenderedInfo,
    "fetchGlobalLastRenderedInfo": LastRenderedInfo,
    "fetchJobTasks": {"tasks": list[TaskSummary]},
    "fetchJobBlocklist": list[BlocklistEntry],
    "fetchTask": Task,
    "fetchTaskLogInfo": TaskLogInfo,
    "shamanCheckoutRequirements": {"files": list[ShamanFileSpecWithStatus]},
    "shamanCheckout": ShamanCheckoutResult,
    "shamanFileStoreCheck": ShamanFileStatusReport,
    "tablaoGetFairShare": FairShare,
    "tablaoGetSubmitPolicy": SubmitPolicy,
    "tablaoGetVariables": TablaoVariables,
    "tablaoSetVariables": TablaoVariables,
    "tablaoCheckStorage": StorageCheckResult,
    "tablaoFetchJobsPage": JobsPage,
    "tablaoFetchJobChain": JobChain,
    "tablaoFetchJobRequirements": JobRequirementsAnswer,
    "tablaoFetchJobTaskStats": JobTaskStats,
    "tablaoFetchJobEtas": JobEtas,
    "tablaoFetchWorkerDay": WorkerDay,
}

#: JSON answers not read through a model of `app.api`.
RESPONSES_NOT_MODELLED = {
    "getConfigurationFile": "the configuration file, any object (as Flamenco)",
}

#: Differences between an answer's model and the document that are meant, with the reason.
ANSWER_DIFFERENCES = {
    **{f"Job.{key}: in the document, not in the model": (
        "the document's Job is Flamenco's: SubmittedJob and more, so it names every property of a "
        "submission; the Manager keeps these but does not send them with the job (its chain and "
        "requirements have their own answers, its status is `status`)")
       for key in ("depends_on", "initial_status", "on_dependency_failure", "requirements")},
}


def _answers() -> dict[str, dict[str, Any]]:
    """operationId -> the schema of its 200 JSON answer."""
    found = {}
    for ops in load_spec()["paths"].values():
        for op in ops.values():
            content = (op.get("responses", {}).get("200") or {}).get("content", {}) if isinstance(op, dict) else {}
            if "application/json" in content:
                found[op["operationId"]] = content["application/json"]["schema"]
    return found


def answer_problems(op_id: str, hint: Any, schema: dict[str, Any], components: dict[str, Any]) -> list[str]:
    """How the document's answer differs from the type it is read as."""
    if not isinstance(hint, dict):
        return type_problems(hint, {}, schema, components, op_id if typing.get_origin(hint) else "", True)
    schema = _resolve(schema, components)
    props = schema.get("properties", {})
    problems = [f"{op_id}.{k}: in the model, not in the document" for k in sorted(hint.keys() - props.keys())]
    problems += [f"{op_id}.{k}: in the document, not in the model" for k in sorted(props.keys() - hint.keys())]
    for key in sorted(hint.keys() & props.keys()):
        problems += type_problems(hint[key], {}, props[key], components, f"{op_id}.{key}", True)
    return problems


def test_every_json_answer_names_its_model():
    ids = set(_answers())
    assert ids - RESPONSE_MODELS.keys() - RESPONSES_NOT_MODELLED.keys() == set(), "a new answer needs a model"
    assert (RESPONSE_MODELS.keys() | RESPONSES_NOT_MODELLED.keys()) - ids == set(), "the table names a gone answer"


@pytest.mark.parametrize("op_id", sorted(RESPONSE_MODELS))
def test_the_document_answers_what_the_model_reads(op_id):
    components = load_spec()["components"]["schemas"]
    problems = answer_problems(op_id, RESPONSE_MODELS[op_id], _answers()[op_id], components)
    assert [p for p in problems if p not in ANSWER_DIFFERENCES] == [], f"{op_id}: " + "; ".join(problems)


def test_every_listed_difference_is_still_there():
    components = load_spec()["components"]["schemas"]
    answers = _answers()
    found = {p for op_id, hint in RESPONSE_MODELS.items()
             for p in answer_problems(op_id, hint, answers[op_id], components)}
    assert set(ANSWER_DIFFERENCES) - found == set(), "a difference that is gone: remove it from the list"


#: Event topic -> (the document's schema of its payload, the payload's model in `app.api.events`).
EVENT_MODELS: dict[str, tuple[str, type]] = {
    events.JOB_DID_CHANGE: ("EventJobUpdate", events.JobUpdate),
    events.TASK_DID_CHANGE: ("EventTaskUpdate", events.TaskUpdate),
    events.TASK_LOG_DID_APPEND: ("EventTaskLogUpdate", events.TaskLogUpdate),
    events.WORKER_DID_CHANGE: ("EventWorkerUpdate", events.WorkerUpdate),
    events.WORKER_VITALS_DID_CHANGE: ("TablaoWorkerVitalsUpdate", events.WorkerVitalsUpdate),
    events.WORKER_TAG_DID_CHANGE: ("EventWorkerTagUpdate", events.WorkerTagUpdate),
    events.LAST_RENDERED_DID_CHANGE: ("EventLastRenderedUpdate", events.LastRenderedUpdate),
    events.FARM_STATUS_DID_CHANGE: ("EventFarmStatus", events.FarmStatusUpdate),
    events.MANAGER_WILL_SHUT_DOWN: ("EventLifeCycle", events.ManagerShuttingDown),
}
#: Topics whose payload has no schema of its own in the document (`TablaoEvent` says it in words).
EVENTS_NOT_MODELLED = {
    events.MANAGER_DID_START: "`{\"status\": FarmStatus}`, described in TablaoEvent",
    events.CONFIG_DID_CHANGE: "an object, described in TablaoEvent",
}


def test_every_event_topic_names_its_schema():
    assert set(events.PAYLOADS) == EVENT_MODELS.keys() | EVENTS_NOT_MODELLED.keys()
    for topic, (_schema, model) in EVENT_MODELS.items():
        assert events.PAYLOADS[topic] is model, topic


@pytest.mark.parametrize("topic", sorted(EVENT_MODELS))
def test_the_document_describes_each_event_as_its_model(topic):
    components = load_spec()["components"]["schemas"]
    schema, model = EVENT_MODELS[topic]
    problems = model_problems(model, {"$ref": f"#/components/schemas/{schema}"}, components, answer=True)
    required = set(_resolve(components[schema], components).get("required", ()))
    problems += [f"{schema}.{k}: required, not a property" for k in sorted(
        required - _resolve(components[schema], components).get("properties", {}).keys())]
    assert problems == [], f"{topic}: " + "; ".join(problems)


def test_the_error_body_is_the_document_error():
    assert model_problems(ErrorBody, {"$ref": "#/components/schemas/Error"},
                          load_spec()["components"]["schemas"], answer=True) == []


# --- the check itself can fail ---------------------------------------------------------------------


@dataclasses.dataclass
class _Made(codec.RequestBody):
    name: str
    priority: int = dataclasses.field(default=50, metadata={"least": 0, "most": 100})
    colour: str | None = None


_MADE_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "priority": {"type": "integer", "minimum": 0, "maximum": 100},
                   "colour": {"type": "string"}},
}


def test_a_matching_pair_passes():
    assert model_problems(_Made, _MADE_SCHEMA, {}) == []


@pytest.mark.parametrize("change, words", [
    (lambda s: s["properties"].pop("colour"), "_Made.colour: in the model, not in the document"),
    (lambda s: s["properties"].update(size={"type": "integer"}), "_Made.size: in the document, not in the model"),
    (lambda s: s["required"].append("colour"), "_Made.colour: required by the document, optional in the model"),
    (lambda s: s["required"].remove("name"), "_Made.name: required by the model, optional in the document"),
    (lambda s: s["properties"]["name"].update(type="integer"), "_Made.name: the model has 'string'"),
    (lambda s: s["properties"]["priority"].update(maximum=10), "the model's maximum is 100, the document's 10"),
])
def test_a_field_in_one_place_only_fails(change, words):
    schema = {**_MADE_SCHEMA, "required": list(_MADE_SCHEMA["required"]),
              "properties": {k: dict(v) for k, v in _MADE_SCHEMA["properties"].items()}}
    change(schema)
    problems = model_problems(_Made, schema, {})
    assert any(words in p for p in problems), problems


@dataclasses.dataclass
class _Answered(codec.Wire):
    id: str
    steps: int = 0
    note: str | None = None


_ANSWER_SCHEMA = {
    "type": "object",
    "required": ["id", "steps"],
    "properties": {"id": {"type": "string"}, "steps": {"type": "integer", "minimum": 0},
                   "note": {"type": "string"}},
}


def test_a_matching_answer_passes_and_its_bounds_are_the_managers():
    assert answer_problems("op", _Answered, _ANSWER_SCHEMA, {}) == []
    assert answer_problems("op", {"items": list[_Answered]},
                           {"type": "object", "properties": {"items": {"type": "array", "items": _ANSWER_SCHEMA}}},
                           {}) == []


@pytest.mark.parametrize("change, words", [
    (lambda s: s["properties"].pop("note"), "_Answered.note: in the model, not in the document"),
    (lambda s: s["properties"].update(size={"type": "integer"}), "_Answered.size: in the document, not in the model"),
    (lambda s: s["required"].append("note"), "_Answered.note: required by the document, left out by the model"),
    (lambda s: s["required"].remove("id"), "_Answered.id: required by the model, optional in the document"),
    (lambda s: s["properties"]["steps"].update(type="string"), "_Answered.steps: the model has 'integer'"),
])
def test_an_answer_field_in_one_place_only_fails(change, words):
    schema = {**_ANSWER_SCHEMA, "required": list(_ANSWER_SCHEMA["required"]),
              "properties": {k: dict(v) for k, v in _ANSWER_SCHEMA["properties"].items()}}
    change(schema)
    problems = answer_problems("op", list[_Answered], {"type": "array", "items": schema}, {})
    assert any(words in p for p in problems), problems


def test_a_nullable_key_the_document_requires_may_be_none_in_the_model():
    schema = {**_ANSWER_SCHEMA, "required": ["id", "steps", "note"],
              "properties": {**_ANSWER_SCHEMA["properties"], "note": {"type": "string", "nullable": True}}}
    assert answer_problems("op", _Answered, schema, {}) == []
