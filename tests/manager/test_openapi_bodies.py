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

from app.api import codec
from app.api.jobs import (
    BlocklistEntry,
    JobDependsOnChange,
    JobMassDeletionSelection,
    JobPriorityChange,
    JobStatusChange,
    JobTagChange,
    SubmittedJob,
    TaskStatusChange,
)
from app.api.meta import PathCheckInput, SetupAssistantConfig, TablaoStorageCheckInput, TablaoVariables
from app.api.models import (
    TablaoManagerChallenge,
    WorkerRegistration,
    WorkerSignOn,
    WorkerStateChanged,
    WorkerTaskUpdate,
)
from app.api.workers import (
    TablaoWorkerVitalsReport,
    WorkerSleepSchedule,
    WorkerStatusChangeRequest,
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
}

#: Routes whose body is not JSON, or not (yet) decoded by a model of `app.api`.
NOT_MODELLED = {
    "taskOutputProduced": "an image",
    "shamanFileStore": "a file",
    "updateConfigurationFile": "the configuration file, any object (as Flamenco)",
    "shamanCheckoutRequirements": "the Shaman's own decoder",
    "shamanCheckout": "the Shaman's own decoder",
}

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _inner(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return inner[0] if len(inner) == 1 else Any
    return hint


def type_problems(hint: Any, meta: dict[str, Any], schema: dict[str, Any], components: dict[str, Any],
                  where: str) -> list[str]:
    """How the schema of one value differs from the model's type and bounds for it."""
    schema = _resolve(schema, components)
    hint = _inner(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    kind = schema.get("type")
    if hint is Any:
        return []
    if dataclasses.is_dataclass(hint):
        return model_problems(hint, schema, components, where)
    if origin is list:
        if kind != "array":
            return [f"{where}: the model has a list, the document {kind!r}"]
        return type_problems(args[0] if args else Any, {}, schema.get("items", {}), components, f"{where}[]")
    if origin is dict:
        if kind != "object":
            return [f"{where}: the model has an object, the document {kind!r}"]
        extra = schema.get("additionalProperties", True)
        if isinstance(extra, dict) and args:
            return type_problems(args[1], {}, extra, components, f"{where}.*")
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
    for bound, key in (("least", "minimum"), ("most", "maximum")):
        if meta.get(bound) != schema.get(key):
            problems.append(f"{where}: the model's {key} is {meta.get(bound)}, the document's {schema.get(key)}")
    if meta.get("choices") and set(meta["choices"]) != set(schema.get("enum", ())):
        problems.append(f"{where}: the model allows {sorted(meta['choices'])}, the document "
                        f"{sorted(schema.get('enum', ()))}")
    return problems


def model_problems(model: type, schema: dict[str, Any], components: dict[str, Any], where: str = "") -> list[str]:
    """How an object schema differs from a request model: fields, required ones, types, bounds."""
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
        # A field the document requires may have a default in the model only where the document says it.
        if model_requires and key not in required:
            problems.append(f"{where}.{key}: required by the model, optional in the document")
        if key in required and not model_requires and "default" not in _resolve(prop, components):
            problems.append(f"{where}.{key}: required by the document, optional in the model")
        problems += type_problems(hint, meta, prop, components, f"{where}.{key}")
    return problems


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
