"""What a request must look like before anyone reads it: addressed to us, from us, in words we take.

A web page in a browser on a studio computer can send requests to the Manager (the desktop app in
Manager + Worker mode puts a browser on exactly that computer). Three checks keep such pages out,
each cheap enough for the workers' hot paths:

- **Host.** The `Host` header must name this Manager: one of its host names, one of its addresses,
  its listen address, or a name in `allowed_hosts`. Anything else is 421 (Misdirected Request): that
  is what a DNS-rebinding page (`Host: rebind.example:8080` on a connection to 127.0.0.1) sends.
  A request without `Host` (HTTP/1.0 tools) passes; browsers always send one.
- **Origin.** A request carrying `Origin` (browsers add it to every cross-site request, every POST
  and every websocket) must come from this Manager's own pages: the origin's host and port are the
  ones the request was sent to, or the origin is in `allowed_origins`. Else 403. Non-browser clients
  (workers, the add-on, the desktop app) send no `Origin`.
- **Content-Type.** A request that changes something (POST, PUT, PATCH, DELETE) and carries a body
  must say it is JSON, or one of the upload types its route documents (Shaman files, last-rendered
  images). Else 415. A page can send `text/plain`, a form or multipart without asking the Manager
  first (a "simple" cross-site request); JSON needs the browser's preflight, which we never grant.

Also: any header with bytes that are not UTF-8 is a 400 (the values reach token comparisons and
base64 decoders that would otherwise raise).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp import web

from app.api.errors import ApiError, BadRequest, Forbidden
from app.manager.web.access import route_key

_log = logging.getLogger(__name__)

V3 = "/api/v3"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON = "application/json"
#: Routes that take something other than JSON, as the API document says.
UPLOAD_TYPES: dict[tuple[str, str], frozenset[str]] = {
    ("POST", f"{V3}/shaman/files/{{checksum}}/{{filesize}}"): frozenset({"application/octet-stream"}),
    ("POST", f"{V3}/worker/task/{{task_id}}/output-produced"): frozenset({"image/jpeg", "image/png"}),
}
#: How long the list of this computer's addresses is trusted before it is read again (DHCP, VPNs).
ADDRESSES_TTL_S = 30.0


class Misdirected(ApiError):
    status = 421


class UnsupportedMediaType(ApiError):
    status = 415


def _normal_host(host: str) -> str:
    """Lower case, no brackets, no trailing dot, no IPv6 zone: the form names are compared in."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.split("%", 1)[0]


def split_host_port(value: str) -> tuple[str, int | None]:
    """`name:8080` → ("name", 8080); `[::1]:80` → ("::1", 80); `name` → ("name", None).

    Raises ValueError for what no client would send (a bad port, an empty name).
    """
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise ValueError("unclosed [")
        host, rest = value[1:end], value[end + 1:]
        if rest and not rest.startswith(":"):
            raise ValueError("text after ]")
        port_text = rest[1:]
    elif value.count(":") > 1:  # a bare IPv6 address
        host, port_text = value, ""
    else:
        host, _, port_text = value.partition(":")
    port = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError("bad port")
        port = int(port_text)
    host = _normal_host(host)
    if not host:
        raise ValueError("empty host")
    return host, port


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _interface_addresses() -> set[str]:
    """Every address of this computer's network interfaces (loopback included)."""
    import psutil

    found: set[str] = set()
    try:
        for addrs in psutil.net_if_addrs().values():
            for addr in addrs:
                if addr.family in (socket.AF_INET, socket.AF_INET6):
                    found.add(_normal_host(addr.address))
    except (OSError, RuntimeError) as exc:  # no /proc, a container without interfaces
        _log.warning("cannot list this computer's network addresses: %s", exc)
    return found


def own_host_names() -> set[str]:
    """This computer's names: its host name, fully qualified name and mDNS name, and localhost."""
    names = {"localhost", "localhost.localdomain", "127.0.0.1", "::1"}
    try:
        hostname = socket.gethostname()
    except OSError:
        return names
    names.add(_normal_host(hostname))
    names.add(_normal_host(hostname) + ".local")
    short = _normal_host(hostname).split(".", 1)[0]
    names.update({short, short + ".local"})
    with contextlib.suppress(OSError):
        names.add(_normal_host(socket.getfqdn(hostname)))
    return names


class HostNames:
    """The names and addresses this Manager answers to; the addresses are re-read now and then."""

    def __init__(self, listen_host: str, allowed: Iterable[str] = (), *, any_host: bool = False,
                 addresses=_interface_addresses, names=own_host_names, clock=time.monotonic):
        self.any_host = any_host
        self._static = {_normal_host(h) for h in allowed if h.strip()} | names()
        if listen_host and not _is_wildcard(_normal_host(listen_host)):
            self._static.add(_normal_host(listen_host))
        self._addresses_of, self._clock = addresses, clock
        self._addresses: set[str] = set()
        self._read_at = -ADDRESSES_TTL_S

    def allows(self, host: str) -> bool:
        if self.any_host:
            return True
        host = _normal_host(host)
        if host in self._static or host in self._addresses:
            return True
        now = self._clock()
        if now - self._read_at < ADDRESSES_TTL_S:
            return False
        # An unknown name: perhaps this computer got a new address since we last looked.
        self._addresses, self._read_at = self._addresses_of(), now
        return host in self._addresses


class RequestGuard:
    """The three checks of this module, configured from the Manager's settings."""

    def __init__(self, hosts: HostNames, allowed_origins: Iterable[str] = ()):
        self.hosts = hosts
        self.allowed_origins = {o.strip().rstrip("/").lower() for o in allowed_origins if o.strip()}

    def check(self, request: web.Request) -> None:
        headers = request.headers
        _check_header_bytes(request)
        host_header = headers.get("Host")
        if host_header is not None:
            self._check_host(host_header)
        origin = headers.get("Origin")
        if origin is not None:
            self._check_origin(origin, host_header)
        # A path or method with no route is answered 404 or 405 without its body being read, so it
        # has nothing to guard (and a 415 there would hide the 405 the client needs to see).
        if request.method in STATE_CHANGING and _has_body(request) and route_key(request) is not None:
            _check_content_type(request)

    def _check_host(self, value: str) -> None:
        try:
            host, _port = split_host_port(value)
        except ValueError:
            raise BadRequest(f"the Host header {value[:100]!r} is not a host name or address") from None
        if not self.hosts.allows(host):
            _log.info("refused a request addressed to %r (not one of this manager's names)", host[:100])
            raise Misdirected(
                f"this Manager does not answer to the name {host[:100]!r} (the request's Host header). "
                "If it is one of its names (a DNS alias, or the name a reverse proxy uses), add it to "
                "`allowed_hosts` in flamenco-manager.yaml")

    def _check_origin(self, origin: str, host_header: str | None) -> None:
        if origin.strip().rstrip("/").lower() in self.allowed_origins:
            return
        if host_header is not None and _same_origin(origin, host_header):
            return
        _log.info("refused a request from the web page origin %r", origin[:100])
        raise Forbidden(
            f"requests from web pages of {origin[:100]!r} may not use this Manager (Origin header); "
            "add that origin to `allowed_origins` in flamenco-manager.yaml if it is a page you trust")


def _same_origin(origin: str, host_header: str) -> bool:
    """True when `origin` is scheme://the host and port the request was sent to."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        return False
    default = 443 if parts.scheme == "https" else 80
    try:
        o_host, o_port = split_host_port(parts.netloc)
        h_host, h_port = split_host_port(host_header)
    except ValueError:
        return False
    return o_host == h_host and (o_port or default) == (h_port or default)


def _has_body(request: web.Request) -> bool:
    length = request.content_length
    if length is not None:
        return length > 0
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _check_content_type(request: web.Request) -> None:
    key = route_key(request)
    accepted = UPLOAD_TYPES.get(key, frozenset({JSON})) if key is not None else frozenset({JSON})
    given = request.headers.get("Content-Type")
    if given is not None and request.content_type in accepted:
        return
    what = f"`{given[:100]}`" if given else "no Content-Type"
    raise UnsupportedMediaType(
        f"{request.method} {request.path} takes {' or '.join(sorted(accepted))}; the request sent {what}")


def _check_header_bytes(request: web.Request) -> None:
    for name, value in request.headers.items():
        if not value.isascii() and any("\udc80" <= ch <= "\udcff" for ch in value):
            _log.info("refused a request whose %s header is not UTF-8", name[:60])
            raise BadRequest(f"the {name[:60]} header holds bytes that are not UTF-8 text")


def guard_middleware(guard: RequestGuard):
    @web.middleware
    async def request_guard_middleware(request: web.Request, handler):
        guard.check(request)
        return await handler(request)

    return request_guard_middleware
