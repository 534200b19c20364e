"""Middlewares: one place that maps errors to `{code, message}`, and the optional access token.

A 405 from the router lists the methods of the one route the path names: aiohttp's own answer lists
every route the path matches, so `OPTIONS /api/v3/jobs/check` would also offer the `GET` and
`DELETE` of `/api/v3/jobs/{job_id}`, methods that do something else to something else.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from aiohttp.web_urldispatcher import MatchInfoError, PlainResource

from app.api.errors import ApiError
from app.manager.persistence.errors import IntegrityProblem
from app.manager.web.access import check_request
from app.manager.web.keys import ADMIN_TOKEN, SETTINGS
from app.manager.web.request_body import read_json, read_json_object  # noqa: F401 - their old home

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
            if isinstance(exc, web.HTTPMethodNotAllowed):
                allowed = await _allowed_methods(request, exc)
                kept["Allow"] = ",".join(allowed)
                return error_json(exc.status, f"{request.method} is not allowed on {request.path}; "
                                              f"allowed: {', '.join(allowed)}", kept)
            return error_json(exc.status, _http_error_message(request, exc), kept or None)
        raise
    except IntegrityProblem as exc:
        return error_json(500, str(exc))
    except (ConnectionError, RequestPayloadError) as exc:
        return _client_gone(request, exc)
    except Exception:  # noqa: BLE001 - never leak a traceback to the client
        _log.exception("%s %s crashed", request.method, request.path)
        return error_json(500, "internal error in the Manager; see its log for details")


_BODY_HEADERS = {"content-type", "content-length", "content-encoding"}


def _client_gone(request: web.Request, exc: Exception) -> web.Response:
    """A client that hung up mid-request (or sent a broken body) is one INFO line, not a crash."""
    _log.info("%s %s from %s: the request body could not be read (%s)", request.method, request.path,
              request.remote, exc or type(exc).__name__)
    return error_json(400, f"the request body could not be read: {exc or type(exc).__name__}")


async def _allowed_methods(request: web.Request, exc: web.HTTPMethodNotAllowed) -> list[str]:
    """The methods of the most specific route matching the request's path: a fixed path such as
    `/api/v3/jobs/check` before a pattern such as `/api/v3/jobs/{job_id}`, fewer `{...}` parts
    before more. A 405 a handler raises itself keeps the methods it names."""
    if not isinstance(request.match_info, MatchInfoError):
        return sorted(exc.allowed_methods)
    best: tuple[int, int] | None = None
    allowed: set[str] = set(exc.allowed_methods)
    for order, resource in enumerate(request.app.router.resources()):
        match, methods = await resource.resolve(request)
        if match is not None or not methods:
            continue
        rank = (0 if isinstance(resource, PlainResource) else 1 + resource.canonical.count("{"), order)
        if best is None or rank < best:
            best, allowed = rank, set(methods)
    return sorted(allowed)


def _http_error_message(request: web.Request, exc: web.HTTPException) -> str:
    if isinstance(exc, web.HTTPNotFound):
        return f"no such path: {request.path} (the API explorer at /api/v3/swagger-ui/ lists them)"
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return f"the request body is larger than {request.client_max_size:,} bytes, the most the Manager accepts"
    return exc.reason or exc.text or "error"


@web.middleware
async def access_token_middleware(request: web.Request, handler):
    """The optional access token on every route, and the admin token on admin routes (see access.py)."""
    cfg = request.app[SETTINGS].config
    check_request(request, cfg.access_token, request.app[ADMIN_TOKEN], cfg.trust_local_requests,
                  str(cfg.base_dir) if cfg.path is not None else "", cfg.submit_token)
    return await handler(request)
