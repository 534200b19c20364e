"""Reading a request's JSON body: the one helper every Manager handler uses.

A body is bounded before it is read (413 with a message in words), then decoded with bounded
nesting and valid Unicode only (`app.common.jsontext`, 400 in words), then, with `read_body`,
into its request model from `app.api` (400 naming the field that does not fit). Job submissions may be
large (a job's settings and metadata); everything else the API takes is small. Shaman uploads
stream to disk elsewhere and are bounded by their declared size.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web

from app.api.codec import decode_request as _decode_request
from app.api.errors import ApiError, BadRequest, ContractError
from app.common.jsontext import JsonRejected, parse_json

M = TypeVar("M")

MIB = 1024 * 1024
JOB_BODY_MAX = 16 * MIB  # job submissions and checks
WORKER_BODY_MAX = 4 * MIB  # task updates carry batches of log lines
DEFAULT_BODY_MAX = 1 * MIB  # everything else: tags, statuses, configuration, variables


class BodyTooLarge(ApiError):
    status = 413

    def __init__(self, max_bytes: int):
        super().__init__(f"the request body is larger than {_size(max_bytes)}, the most this endpoint "
                         "accepts; send less (for a job: fewer or shorter settings and metadata)")


async def read_json(request: web.Request, max_bytes: int = DEFAULT_BODY_MAX) -> Any:
    """The request body as JSON, or a 413/400 that says what is wrong with it."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise BodyTooLarge(max_bytes)
    raw = bytearray()
    async for chunk in request.content.iter_any():
        raw += chunk
        if len(raw) > max_bytes:
            raise BodyTooLarge(max_bytes)
    if not raw:
        raise BadRequest("the request body is empty; expected JSON")
    try:
        return parse_json(raw)
    except JsonRejected as exc:
        raise BadRequest(f"the request body {exc}") from None


async def read_json_object(request: web.Request, max_bytes: int = DEFAULT_BODY_MAX) -> dict[str, Any]:
    body = await read_json(request, max_bytes)
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object")
    return body


async def read_body(request: web.Request, model: type[M], max_bytes: int = DEFAULT_BODY_MAX) -> M:
    """The request body as `model` (a request model of `app.api`), or a 400 naming the field."""
    return body_as(model, await read_json(request, max_bytes))


async def read_body_list(request: web.Request, model: type[M], max_bytes: int = DEFAULT_BODY_MAX) -> list[M]:
    """A body that is a list of `model`s (a blocklist), or a 400 naming the item's field."""
    body = await read_json(request, max_bytes)
    if not isinstance(body, list):
        raise BadRequest("expected a JSON list")
    return [body_as(model, item, f"[{i}]") for i, item in enumerate(body)]


def body_as(model: Any, body: Any, path: str = "") -> Any:
    """`body` decoded strictly into `model`; a `ContractError` becomes a 400 with its words."""
    try:
        return model.from_json(body) if not path else _decode_request(model, body, path)
    except ContractError as exc:
        raise BadRequest(str(exc)) from None


def _size(n: int) -> str:
    return f"{n // MIB} MiB" if n % MIB == 0 else f"{n:,} bytes"
