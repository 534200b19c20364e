"""Finding a Manager on the LAN with UPnP/SSDP, the way Flamenco does (no Qt, no config).

A Flamenco Manager answers an M-SEARCH for `urn:flamenco:manager:0` with a `LOCATION` pointing at
its `/upnp/description.xml`; the Manager's base URL is that location without its path. The finder
sends the search (to the SSDP multicast group by default; tests send it unicast to 127.0.0.1,
because multicast may not be routed in a sandbox), collects the answers for a few seconds, and
keeps the locations whose Manager answers `GET /api/v3/version`.

`find_again` looks for a Manager that was lost: the same one (its name in `/version`, and the
caller's `accepts`: a worker's Manager must prove it holds the key it gave the worker, before any
credentials go there) at whatever address it answers now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

_log = logging.getLogger(__name__)

SERVICE_TYPE = "urn:flamenco:manager:0"
FLAMENCO_UUID = "aa80bc5f-d0af-46b8-8630-23bd7e80ec4d"  # the USN uuid Flamenco's Manager uses
DESCRIPTION_PATH = "/upnp/description.xml"
MULTICAST = ("239.255.255.250", 1900)


def m_search(st: str = SERVICE_TYPE, mx: int = 1, host: tuple[str, int] = MULTICAST) -> bytes:
    return (f"M-SEARCH * HTTP/1.1\r\nHOST: {host[0]}:{host[1]}\r\nMAN: \"ssdp:discover\"\r\n"
            f"MX: {mx}\r\nST: {st}\r\n\r\n").encode("ascii")


def parse_headers(data: bytes) -> tuple[str, dict[str, str]]:
    """The start line and the headers (upper-cased names) of an SSDP message."""
    text = data.decode("utf-8", "replace")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().upper()] = value.strip()
    return (lines[0].strip() if lines else ""), headers


def base_url(location: str) -> str:
    """`http://host:8080/upnp/description.xml` → `http://host:8080`."""
    parts = urlsplit(location.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.urls: list[str] = []

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        start, headers = parse_headers(data)
        if not start.startswith("HTTP/1.1 200") or headers.get("ST") != SERVICE_TYPE:
            return
        url = base_url(headers.get("LOCATION", ""))
        if url and url not in self.urls:
            _log.debug("ssdp answer from %s: %s", addr, url)
            self.urls.append(url)


async def search(timeout_s: float = 3.0, targets: list[tuple[str, int]] | None = None) -> list[str]:
    """Base URLs of every Manager that answered, in the order they answered (unverified)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    sock.bind(("127.0.0.1", 0) if targets and all(t[0].startswith("127.") for t in targets) else ("", 0))
    transport, proto = await loop.create_datagram_endpoint(_Collector, sock=sock)
    try:
        for target in targets or [MULTICAST]:
            with contextlib.suppress(OSError):  # no route for multicast: the others may still work
                transport.sendto(m_search(mx=max(1, int(timeout_s))), target)
        await asyncio.sleep(timeout_s)
        return list(proto.urls)
    finally:
        transport.close()


async def answers(url: str, timeout_s: float = 3.0) -> bool:
    """True when `url` is a Manager (its version endpoint answers)."""
    from app.api.client import ManagerClient

    try:
        async with ManagerClient(url, timeout_s=timeout_s) as client:
            await client.version()
            return True
    except Exception as exc:  # noqa: BLE001 - any failure means: not a Manager we can use
        _log.debug("%s does not answer as a manager: %s", url, exc)
        return False


async def find_manager(timeout_s: float = 3.0, targets: list[tuple[str, int]] | None = None) -> str | None:
    """The first Manager found on the network that answers, or None."""
    for url in await search(timeout_s, targets):
        if await answers(url):
            _log.info("found a Manager at %s (UPnP/SSDP)", url)
            return url
    return None


def parse_target(text: str) -> tuple[str, int]:
    """`host` or `host:port` (default port 1900) → an SSDP search target; ValueError in words."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = text.strip(), str(MULTICAST[1])
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not host or host:port")
    return host, int(port)


async def manager_name(url: str, timeout_s: float = 3.0) -> str | None:
    """The `name` a Manager gives in its `/version`, or None when it does not answer."""
    from app.api.client import ManagerClient

    try:
        async with ManagerClient(url, timeout_s=timeout_s) as client:
            return (await client.version()).name
    except Exception as exc:  # noqa: BLE001 - no answer is the answer
        _log.debug("%s does not tell its name: %s", url, exc)
        return None


async def find_again(name: str | None, accepts: Callable[[str], Awaitable[bool]], timeout_s: float = 3.0,
                     targets: list[tuple[str, int]] | None = None) -> str | None:
    """The base URL of the lost Manager, found again on the network, or None.

    A candidate must give the same `name` in `/version` (when the name is known) and `accepts(url)`
    must say yes: for a worker, the candidate proves it is the worker's own Manager (a name is
    easily copied). `accepts` says why it refuses one.
    """
    for url in await search(timeout_s, targets):
        if name is not None and await manager_name(url) != name:
            _log.info("%s answers the search but is another Manager", url)
            continue
        if await accepts(url):
            _log.info("found the Manager again at %s (UPnP/SSDP)", url)
            return url
    return None
