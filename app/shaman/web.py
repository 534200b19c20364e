"""HTTP routes of the Shaman API (the spec's four `shaman` operations).

`add_shaman_routes` mounts them on any aiohttp application. Handlers parse input, call the `Shaman`
facade and write the response, including `{code, message}` error bodies, themselves, so these
routes behave the same with or without the Manager's error middleware.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from app.api.errors import ApiError, BadRequest
from app.api.headers import LINK_MODE_HEADER, SHAMAN_CAN_DEFER_HEADER, SHAMAN_FILENAME_HEADER
from app.api.meta import ShamanCheckoutResult, ShamanFileStatusReport
from app.common.jsontext import JsonRejected, parse_json
from app.shaman.errors import ShamanDisabled, UploadMismatch
from app.shaman.headers import decode_original_filename, parse_bool_header
from app.shaman.specs import FileKey, checkout_request, parse_checksum, parse_size, requirements_files
from app.shaman.store import UploadOutcome

if TYPE_CHECKING:
    from app.shaman.service import Shaman

_log = logging.getLogger(__name__)

REQUIREMENTS_PATH = "/api/v3/shaman/checkout/requirements"
CHECKOUT_PATH = "/api/v3/shaman/checkout/create"
FILES_PATH = "/api/v3/shaman/files/{checksum}/{filesize}"
# Our addition (a header, so Flamenco's JSON shape stays untouched): which link mode a checkout used.

_MAX_JSON_BYTES = 256 << 20  # a 10,000-file checkout is ~1.5 MB; aiohttp's default cap is 1 MiB
_UPLOAD_CHUNK = 256 << 10
_OUTCOME_STATUS = {
    UploadOutcome.STORED: 204,
    UploadOutcome.ALREADY_STORED: 208,
    UploadOutcome.DEFERRED: 425,
}

_Handler = Callable[[web.Request, "Shaman"], Awaitable[web.StreamResponse]]
_Endpoint = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_shaman_routes(app: web.Application, get_store: Callable[[], Shaman | None]) -> None:
    """Add the Shaman operations; `get_store()` returning None means Shaman is disabled (503)."""
    app.router.add_post(REQUIREMENTS_PATH, _endpoint(get_store, _requirements))
    app.router.add_post(CHECKOUT_PATH, _endpoint(get_store, _checkout))
    app.router.add_get(FILES_PATH, _endpoint(get_store, _file_status))
    app.router.add_post(FILES_PATH, _endpoint(get_store, _file_store))


def error_response(exc: ApiError) -> web.Response:
    return web.json_response(exc.to_json(), status=exc.status, headers=exc.headers)


def _endpoint(get_store: Callable[[], Shaman | None], handler: _Handler) -> _Endpoint:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        try:
            shaman = get_store()
            if shaman is None:
                raise ShamanDisabled()
            response = await handler(request, shaman)
        except ApiError as exc:
            if exc.status >= 500:
                _log.warning("%s %s: %s", request.method, request.path, exc.message)
            response = error_response(exc)
        if request.body_exists and not request.content.is_eof():
            # The body was not read to its end (duplicate upload, mismatch): don't make the client
            # push the rest of it, and don't reuse a connection with unread bytes in it.
            response.force_close()
        return response

    endpoint.__name__ = handler.__name__.lstrip("_")
    return endpoint


async def _requirements(request: web.Request, shaman: Shaman) -> web.StreamResponse:
    files = requirements_files(await _read_json(request))
    missing = await shaman.requirements(files)
    # `ShamanFileSpecWithStatus`, written out: a big scene's first submission lacks thousands of files.
    return web.json_response(
        {"files": [{**spec.to_json(), "status": status.value} for spec, status in missing]}
    )


async def _checkout(request: web.Request, shaman: Shaman) -> web.StreamResponse:
    files, checkout_path = checkout_request(await _read_json(request))
    result = await shaman.checkout(files, checkout_path)
    return web.json_response(
        ShamanCheckoutResult(result.checkout_path).to_json(), headers={LINK_MODE_HEADER: result.link_mode.value}
    )


async def _file_status(request: web.Request, shaman: Shaman) -> web.StreamResponse:
    status = await shaman.file_status(_key_from_url(request))
    return web.json_response(ShamanFileStatusReport(status.value).to_json())


async def _file_store(request: web.Request, shaman: Shaman) -> web.StreamResponse:
    key = _key_from_url(request)
    can_defer = parse_bool_header(
        request.headers.get(SHAMAN_CAN_DEFER_HEADER), SHAMAN_CAN_DEFER_HEADER
    )
    label = decode_original_filename(request.headers.get(SHAMAN_FILENAME_HEADER))
    if request.content_length is not None and request.content_length != key.size:
        raise UploadMismatch(f"Content-Length {request.content_length} differs from the file size {key.size}")
    outcome = await shaman.store_file(
        key, request.content.iter_chunked(_UPLOAD_CHUNK), can_defer=can_defer, label=label or key.sha[:12]
    )
    return web.Response(status=_OUTCOME_STATUS[outcome])


def _key_from_url(request: web.Request) -> FileKey:
    return FileKey(parse_checksum(request.match_info["checksum"]), parse_size(request.match_info["filesize"]))


async def _read_json(request: web.Request) -> Any:
    """Read a JSON body with our own size cap (checkouts can exceed aiohttp's 1 MiB default)."""
    if request.content_length is not None and request.content_length > _MAX_JSON_BYTES:
        raise ApiError(f"request body larger than {_MAX_JSON_BYTES} bytes", status=413)
    raw = bytearray()
    async for chunk in request.content.iter_any():
        raw += chunk
        if len(raw) > _MAX_JSON_BYTES:
            raise ApiError(f"request body larger than {_MAX_JSON_BYTES} bytes", status=413)
    try:
        # Off the loop: a big checkout document takes tens of milliseconds to parse.
        return await asyncio.to_thread(parse_json, raw) if len(raw) > 65536 else parse_json(raw)
    except JsonRejected as exc:
        raise BadRequest(f"request body {exc}") from None
