"""Who may call which route: one table, checked by one middleware.

Every route of the Manager is in `ROUTE_ACCESS`, keyed by method and path template, with one of:

- `PUBLIC`: always open, also when an `access_token` is configured (the version, the API explorer and
  its document, the status page's files, which hold no data and ask for the token), so a user can
  see what is wrong; and the Manager's proof to a worker that it is
  the worker's own Manager, which the worker asks for before it sends any credentials (so a stock
  worker's setup, without a token, works) and which reveals nothing without the worker's key.
- `WORKER`: the worker API. Its handlers check worker credentials (HTTP Basic); stock workers send
  no access token, so these are not behind it.
- `OPEN`: submitting and watching (what the stock Flamenco add-on and a dashboard use): open on the
  LAN, behind the `access_token` when one is configured. `/job-files/` (task logs) is here, and the
  Blender add-on download: it holds nothing secret (the Manager's address), but it is only of use to
  someone who may submit, and a Manager with an access token is one that does not tell strangers
  what it is.
- `ADMIN`: administering (configuration, variables, setup checks, worker actions, job deletion, worker
  tags): behind the access token and also the Manager's admin token, or a request from the Manager's
  own machine when `trust_local_requests` is on (off by default), no proxy header says it was
  forwarded from elsewhere and no browser says a page of another site made it (`Sec-Fetch-Site`).
- `ADMIN_OR_SELF`: as `ADMIN`, or a worker acting on ITSELF with its own HTTP Basic credentials (an
  artist's tray worker sleeping, waking or snoozing its own computer on a remote Manager). The
  middleware lets a Basic-authenticated request through with `SELF_ONLY` set on it; the handler
  checks the credentials and that the path's worker is the caller (another worker's id: 403).
- `OPEN_OR_SELF`: as `OPEN`, or a worker reading about ITSELF with its own HTTP Basic credentials
  (an artist's tray worker showing its day, from a Manager with an access token it does not hold);
  `SELF_ONLY` is set as for `ADMIN_OR_SELF`.

A route missing from the table is treated as `ADMIN` (closed by default), and a test walks the
router so that a new route cannot be forgotten.

Credentials on the wire:
- access token: `Authorization: Bearer <access_token>` or `?access_token=<access_token>`;
- submit token: `Authorization: Bearer <submit_token>`; passes where the access token does, on the
  `OPEN` routes, and marks a submitted job as credentialed (`carries_credential`);
- admin token: `X-Tablao-Admin-Token: <admin token>` (or `Authorization: Bearer <admin token>` when
  no access token is configured, or `?admin_token=` for a browser's websocket). A valid admin token
  also passes the access-token check.
Auth schemes are case-insensitive (RFC 9110 section 11.1).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from enum import StrEnum
from pathlib import Path

from aiohttp import web

from app.api.errors import ApiError, Forbidden
from app.common.credentials import ADMIN_TOKEN_FILENAME, ADMIN_TOKEN_HEADER

_log = logging.getLogger(__name__)


class Access(StrEnum):
    PUBLIC = "public"
    WORKER = "worker"
    OPEN = "open"
    ADMIN = "admin"
    ADMIN_OR_SELF = "admin-or-self"
    OPEN_OR_SELF = "open-or-self"


#: Set on a request that reached an `ADMIN_OR_SELF` route with worker credentials instead of admin
#: rights: the handler must authenticate the worker and allow only its own id.
SELF_ONLY: web.RequestKey[bool] = web.RequestKey("tablao.self_only", bool)


V3 = "/api/v3"
_P, _W, _O, _A = Access.PUBLIC, Access.WORKER, Access.OPEN, Access.ADMIN
_S, _OS = Access.ADMIN_OR_SELF, Access.OPEN_OR_SELF

ROUTE_ACCESS: dict[tuple[str, str], Access] = {
    # meta and configuration
    ("GET", f"{V3}/version"): _P,
    ("GET", f"{V3}/configuration"): _O,
    ("POST", f"{V3}/configuration/check/shared-storage"): _A,
    ("GET", f"{V3}/configuration/check/blender"): _A,
    ("POST", f"{V3}/configuration/check/blender"): _A,
    ("GET", f"{V3}/configuration/variables/{{audience}}/{{platform}}"): _O,
    ("GET", f"{V3}/configuration/shared-storage/{{audience}}/{{platform}}"): _O,
    ("GET", f"{V3}/status"): _O,
    ("POST", f"{V3}/configuration/setup-assistant"): _A,
    # The file holds the access token and possibly a database password: reading it is admin too.
    ("GET", f"{V3}/configuration/file"): _A,
    ("PUT", f"{V3}/configuration/file"): _A,
    # jobs
    ("GET", f"{V3}/jobs/types"): _O,
    ("GET", f"{V3}/jobs/type/{{type_name}}"): _O,
    ("GET", f"{V3}/jobs"): _O,
    ("POST", f"{V3}/jobs"): _O,
    ("POST", f"{V3}/jobs/check"): _O,
    ("DELETE", f"{V3}/jobs/mass-delete"): _A,
    ("GET", f"{V3}/jobs/last-rendered"): _O,
    ("GET", f"{V3}/jobs/{{job_id}}"): _O,
    ("DELETE", f"{V3}/jobs/{{job_id}}"): _A,
    ("GET", f"{V3}/jobs/{{job_id}}/what-would-delete-do"): _O,
    ("GET", f"{V3}/jobs/{{job_id}}/last-rendered"): _O,
    ("POST", f"{V3}/jobs/{{job_id}}/setstatus"): _O,
    ("POST", f"{V3}/jobs/{{job_id}}/setpriority"): _O,
    ("POST", f"{V3}/jobs/{{job_id}}/settag"): _O,
    ("GET", f"{V3}/jobs/{{job_id}}/tasks"): _O,
    ("GET", f"{V3}/jobs/{{job_id}}/blocklist"): _O,
    ("DELETE", f"{V3}/jobs/{{job_id}}/blocklist"): _O,
    # tasks
    ("GET", f"{V3}/tasks/{{task_id}}"): _O,
    ("POST", f"{V3}/tasks/{{task_id}}/setstatus"): _O,
    ("GET", f"{V3}/tasks/{{task_id}}/logtail"): _O,
    ("GET", f"{V3}/tasks/{{task_id}}/log"): _O,
    # worker API (worker credentials, checked by the handlers)
    ("POST", f"{V3}/worker/register-worker"): _W,
    ("POST", f"{V3}/worker/sign-on"): _W,
    ("POST", f"{V3}/worker/sign-off"): _W,
    ("GET", f"{V3}/worker/state"): _W,
    ("POST", f"{V3}/worker/state-changed"): _W,
    ("POST", f"{V3}/worker/task"): _W,
    ("POST", f"{V3}/worker/task/{{task_id}}"): _W,
    ("GET", f"{V3}/worker/task/{{task_id}}/may-i-run"): _W,
    ("POST", f"{V3}/worker/task/{{task_id}}/output-produced"): _W,
    # worker management
    ("GET", f"{V3}/worker-mgt/workers"): _O,
    ("GET", f"{V3}/worker-mgt/workers/{{worker_id}}"): _O,
    ("DELETE", f"{V3}/worker-mgt/workers/{{worker_id}}"): _A,
    ("POST", f"{V3}/worker-mgt/workers/{{worker_id}}/setstatus"): _S,  # also the worker itself
    ("POST", f"{V3}/worker-mgt/workers/{{worker_id}}/settags"): _A,
    ("GET", f"{V3}/worker-mgt/workers/{{worker_id}}/sleep-schedule"): _O,
    ("POST", f"{V3}/worker-mgt/workers/{{worker_id}}/sleep-schedule"): _S,  # also the worker itself
    ("GET", f"{V3}/worker-mgt/tags"): _O,
    ("POST", f"{V3}/worker-mgt/tags"): _A,
    ("GET", f"{V3}/worker-mgt/tag/{{tag_id}}"): _O,
    ("PUT", f"{V3}/worker-mgt/tag/{{tag_id}}"): _A,
    ("DELETE", f"{V3}/worker-mgt/tag/{{tag_id}}"): _A,
    # Shaman (the add-on's uploads)
    ("POST", f"{V3}/shaman/checkout/requirements"): _O,
    ("POST", f"{V3}/shaman/checkout/create"): _O,
    ("GET", f"{V3}/shaman/files/{{checksum}}/{{filesize}}"): _O,
    ("POST", f"{V3}/shaman/files/{{checksum}}/{{filesize}}"): _O,
    # Tablao additions
    ("GET", f"{V3}/tablao/events"): _O,
    ("GET", f"{V3}/tablao/jobs"): _O,
    ("GET", f"{V3}/tablao/jobs/{{job_id}}/chain"): _O,
    ("PUT", f"{V3}/tablao/jobs/{{job_id}}/depends-on"): _O,  # as setstatus: open to those who submit
    ("GET", f"{V3}/tablao/jobs/{{job_id}}/requirements"): _O,
    ("GET", f"{V3}/tablao/jobs/{{job_id}}/task-stats"): _O,  # as the job's tasks
    ("GET", f"{V3}/tablao/fair-share"): _O,
    ("GET", f"{V3}/tablao/jobs/eta"): _O,
    ("GET", f"{V3}/tablao/submit-policy"): _O,
    ("GET", f"{V3}/tablao/variables"): _O,
    ("PUT", f"{V3}/tablao/variables"): _A,
    ("POST", f"{V3}/tablao/storage-check"): _A,
    ("GET", f"{V3}/tablao/tasks/{{task_id}}/log"): _O,
    ("POST", f"{V3}/tablao/worker/prove"): _P,
    ("POST", f"{V3}/tablao/worker/vitals"): _W,
    ("GET", f"{V3}/tablao/workers/{{worker_id}}/day"): _OS,  # also the worker itself
    ("GET", "/tablao-addon.zip"): _O,
    ("GET", "/tablao-extension.zip"): _O,
    # the API document and explorer
    ("GET", f"{V3}/openapi3.json"): _P,
    ("GET", f"{V3}/openapi.yaml"): _P,
    ("GET", f"{V3}/swagger-ui/"): _P,
    ("GET", f"{V3}/swagger-ui/{{filename}}"): _P,
    ("GET", f"{V3}/swagger-ui"): _P,
    ("GET", f"{V3}/explorer"): _P,
    ("GET", f"{V3}/explorer/"): _P,
    # task logs and last-rendered images
    ("GET", "/job-files"): _O,
    # the status page: static files; its data comes from the routes above, under their rules
    ("GET", "/"): _P,
    ("GET", "/ui/{asset}"): _P,
    ("GET", "/upnp/description.xml"): _P,  # discovery: what any worker on the LAN may read
}


def route_key(request: web.Request) -> tuple[str, str] | None:
    """(method, path template) of the matched route; None when no route matched (404, 405)."""
    resource = request.match_info.route.resource
    if resource is None:
        return None
    method = "GET" if request.method == "HEAD" else request.method
    return method, resource.canonical


def access_of(request: web.Request, table: dict[tuple[str, str], Access] | None = None) -> Access:
    """The route's class in `table` (the Manager's `ROUTE_ACCESS` unless another app, the hub, has its own)."""
    key = route_key(request)
    if key is None:
        return Access.OPEN  # unknown paths answer 404/405, behind the access token like the rest
    return (ROUTE_ACCESS if table is None else table).get(key, Access.ADMIN)


class Unauthorized(ApiError):
    status = 401


def carries_credential(request: web.Request, access_token: str, admin_token: str, submit_token: str) -> bool:
    """True when the request shows one of the Manager's tokens: access, submit or admin.

    A job submitted so is "credentialed": the scripts in its .blend file may run on the workers when
    the Manager allows that (`allow_blend_scripts`); an anonymous job's never do.
    """
    bearer = _bearer(request)
    return (_matches(request.headers.get(ADMIN_TOKEN_HEADER), admin_token)
            or any(_matches(bearer, token) for token in (access_token, admin_token, submit_token))
            or _matches(request.query.get("access_token"), access_token))


def check_request(request: web.Request, access_token: str, admin_token: str, trust_local: bool,
                  config_dir: str, submit_token: str = "",
                  table: dict[tuple[str, str], Access] | None = None) -> None:
    """Raise 401/403 with a message saying what to send, or return when `request` may go on."""
    access = access_of(request, table)
    if access in (Access.PUBLIC, Access.WORKER) or (access in _OPEN and not access_token):
        return  # the hot paths (worker long-polls, reads) cost one dict lookup
    bearer = _bearer(request)
    if access is Access.OPEN_OR_SELF and _is_basic(request):
        request[SELF_ONLY] = True  # a worker on itself, without the access token, like the worker API
        return
    admin_given = request.headers.get(ADMIN_TOKEN_HEADER) or request.query.get("admin_token")
    if not admin_given and not access_token:
        admin_given = bearer  # no access token configured: the bearer slot is free for the admin token
    is_admin = _matches(admin_given, admin_token)
    if access is Access.ADMIN_OR_SELF and not is_admin and _is_basic(request):
        request[SELF_ONLY] = True  # a worker on itself; like the worker endpoints, no access token
        return
    if access_token and not is_admin and not (
            _matches(bearer, access_token) or _matches(request.query.get("access_token"), access_token)
            or (access in _OPEN and _matches(bearer, submit_token))):
        raise Forbidden("this Manager requires an access token (Authorization: Bearer <token>, "
                        "or ?access_token=<token>); it is `access_token` in the Manager's "
                        "flamenco-manager.yaml")
    if access not in (Access.ADMIN, Access.ADMIN_OR_SELF) or is_admin:
        return
    if trust_local and is_local_peer(request) and not is_proxied(request) and not from_another_site(request):
        return
    where = str(Path(config_dir) / ADMIN_TOKEN_FILENAME) if config_dir else ADMIN_TOKEN_FILENAME
    if admin_given:
        _log.debug("refused %s %s from %s: wrong admin token", request.method, request.path,
                   _peer_host(request))
        raise Forbidden(f"the admin token sent ({ADMIN_TOKEN_HEADER}) is not this Manager's; "
                        f"the right one is in {where} on the Manager's machine")
    raise Unauthorized(
        f"{request.method} {request.path} needs the Manager's admin token: send it as "
        f"`{ADMIN_TOKEN_HEADER}: <token>`; it is in {where} on the Manager's machine",
        headers={"WWW-Authenticate": 'Bearer realm="Tablao Manager admin"'})


_OPEN = (Access.OPEN, Access.OPEN_OR_SELF)

#: Headers a reverse proxy adds: a request with any of them came from somewhere else, whatever its peer.
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP", "X-Forwarded-Host")


def is_proxied(request: web.Request) -> bool:
    """True when a proxy says it forwarded the request (never trusted as local, even from 127.0.0.1)."""
    headers = request.headers
    return any(name in headers for name in PROXY_HEADERS)


def from_another_site(request: web.Request) -> bool:
    """True when a browser says another site made this request (`Sec-Fetch-Site`): an image, a form or
    a new window opened by a page elsewhere carries no `Origin` on a GET, but a browser on this machine
    still says where it came from. The desktop app and other programs send no such header."""
    return request.headers.get("Sec-Fetch-Site", "none").strip().lower() not in ("none", "same-origin")


def _is_basic(request: web.Request) -> bool:
    return request.headers.get("Authorization", "").strip().lower().startswith("basic ")


def _bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _matches(given: str | None, expected: str) -> bool:
    if not given or not expected:
        return False
    # surrogateescape: a header with stray bytes compares unequal instead of raising.
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())


def _peer_host(request: web.Request) -> str | None:
    """The TCP peer's address (never X-Forwarded-For or other headers a client can write)."""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, (tuple, list)) and peer:
        return str(peer[0])
    return None


def is_local_peer(request: web.Request) -> bool:
    """True when the TCP peer is this machine's loopback (127.0.0.0/8, ::1, ::ffff:127.x.y.z)."""
    host = _peer_host(request)
    if not host:
        return False
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback
