"""Middlewares: one place that maps errors to `{code, message}`, and the optional access token."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from app.api.errors import ApiError, BadRequest
from app.manager.persistence.errors import IntegrityProblem
from app.manager.web.access import check_request
from app.manager.web.keys import SERVICES

_log = logging.getLogger(__name__)


def error_json(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"code": status, "message": message}, status=status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except ApiError as exc:
        if exc.status >= 500:
            _log.error("%s %s failed: %s", request.method, request.path, exc.message)
        return error_json(exc.status, exc.message, exc.headers)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            # Keep headers such as `Allow` (405); the body and its type are ours now.
            kept = {k: v for k, v in exc.headers.items() if k.lower() not in _BODY_HEADERS}
            return error_json(exc.status, _http_error_message(request, exc), kept or None)
        raise
    except IntegrityProblem as exc:
        return error_json(500, str(exc))
    except Exception:  # noqa: BLE001 - never leak a traceback to the client
        _log.exception("%s %s crashed", request.method, request.path)
        return error_json(500, "internal error in the Manager; see its log for details")


_BODY_HEADERS = {"content-type", "content-length", "content-encoding"}


def _http_error_message(request: web.Request, exc: web.HTTPException) -> str:
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        return f"{request.method} is not allowed on {request.path}; allowed: {allowed}"
    if isinstance(exc, web.HTTPNotFound):
        return f"no such path: {request.path} (the API explorer at /api/v3/swagger-ui/ lists them)"
    return exc.reason or exc.text or "error"


@web.middleware
async def access_token_middleware(request: web.Request, handler):
    """The optional access token on every route, and the admin token on admin routes (see access.py)."""
    services = request.app[SERVICES]
    cfg = services.config
    check_request(request, cfg.access_token, services.admin_token, cfg.trust_local_requests,
                  str(cfg.base_dir) if cfg.path is not None else "")
    return await handler(request)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or a 400 that says where it is broken."""
    raw = await request.read()
    if not raw:
        raise BadRequest("the request body is empty; expected JSON")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8 text")
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} "
                         f"column {exc.colno}")


async def read_json_object(request: web.Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object")
    return body
