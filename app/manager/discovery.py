"""The Manager's UPnP/SSDP advertisement, as Flamenco's: answers M-SEARCH for `urn:flamenco:manager:0`.

Off by default (`autodiscoverable` in the config). The answer's LOCATION is the Manager's
`/upnp/description.xml` on the address the searcher can reach, so a stock Flamenco worker (which
drops the path) and Tablao's finder both get the Manager's base URL. Binding the SSDP port can fail
(another program holds it, no multicast route): the advertiser then says so once and stops; the
Manager keeps running. The description document itself is served by the web app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Callable
from xml.sax.saxutils import escape

from app.common.discovery import DESCRIPTION_PATH, FLAMENCO_UUID, MULTICAST, SERVICE_TYPE, parse_headers

_log = logging.getLogger(__name__)

MAX_AGE_S = 1800
WANTED = {SERVICE_TYPE, "ssdp:all", "upnp:rootdevice"}


def description_xml(url_base: str, name: str = "Tablao Manager") -> str:
    """The UPnP device description Flamenco serves at /upnp/description.xml."""
    return ("<?xml version=\"1.0\"?>\n<root xmlns=\"urn:schemas-upnp-org:device-1-0\">"
            "<specVersion><major>1</major><minor>0</minor></specVersion>"
            f"<URLBase>{escape(url_base)}</URLBase><device><deviceType>{SERVICE_TYPE}</deviceType>"
            f"<friendlyName>{escape(name)}</friendlyName><manufacturer>Tablao</manufacturer>"
            "<manufacturerURL>https://flamenco.blender.org/</manufacturerURL>"
            "<modelDescription>Render farm Manager (Flamenco v3 API)</modelDescription>"
            f"<modelName>Tablao Manager</modelName><modelURL></modelURL><UDN>uuid:{FLAMENCO_UUID}</UDN>"
            "<serviceList></serviceList><presentationURL>/</presentationURL></device></root>\n")


def own_address_towards(peer: str) -> str:
    """The local address a packet to `peer` leaves from (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((peer, 9))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def answer(search: bytes, peer: str, http_port: int) -> bytes | None:
    """The unicast answer to an M-SEARCH, or None when it is not for us."""
    start, headers = parse_headers(search)
    if not start.upper().startswith("M-SEARCH") or headers.get("ST") not in WANTED:
        return None
    if headers.get("MAN", "").strip('"') != "ssdp:discover":
        return None
    location = f"http://{own_address_towards(peer)}:{http_port}{DESCRIPTION_PATH}"
    return (f"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age={MAX_AGE_S}\r\nEXT:\r\nLOCATION: {location}\r\n"
            f"SERVER: Tablao UPnP/1.0\r\nST: {SERVICE_TYPE}\r\nUSN: uuid:{FLAMENCO_UUID}::{SERVICE_TYPE}\r\n\r\n"
            ).encode("ascii")


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, http_port: Callable[[], int]):
        self.http_port = http_port
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        port = self.http_port()
        reply = answer(data, addr[0], port) if port else None
        if reply is not None and self.transport is not None:
            _log.debug("answering an ssdp search from %s", addr[0])
            self.transport.sendto(reply, addr)


class SsdpAdvertiser:
    """`async run()`: answer searches until cancelled. `bind` defaults to the SSDP group on all links."""

    def __init__(self, http_port: Callable[[], int], bind: tuple[str, int] = ("0.0.0.0", MULTICAST[1]),
                 multicast: bool = True):
        self.http_port = http_port
        self.bind = bind
        self.multicast = multicast
        self.address: tuple[str, int] | None = None  # where it listens, once it does

    def _socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(self.bind)
        if self.multicast:
            group = struct.pack("4s4s", socket.inet_aton(MULTICAST[0]), socket.inet_aton("0.0.0.0"))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
        return sock

    async def run(self) -> None:
        try:
            sock = self._socket()
        except OSError as exc:
            _log.warning("not advertising the manager on the network (UPnP/SSDP): %s", exc)
            return
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Responder(self.http_port), sock=sock)
        self.address = sock.getsockname()
        _log.info("advertising the manager on the network (UPnP/SSDP, %s:%d)", *self.address)
        try:
            await asyncio.Event().wait()
        finally:
            transport.close()
