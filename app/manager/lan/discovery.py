"""The Manager's UPnP/SSDP advertisement, as Flamenco's: answers M-SEARCH for `urn:flamenco:manager:0`.

Off by default (`autodiscoverable` in the config), and off whatever that says when the Manager
listens on loopback only: then no SSDP socket is opened at all. The answer's LOCATION is the
Manager's `/upnp/description.xml` on the address the searcher can reach, so a stock Flamenco worker
(which drops the path) and Tablao's finder both get the Manager's base URL. Binding the SSDP port
can fail (another program holds it, no multicast route): the advertiser then says so once and
stops; the Manager keeps running. The description document itself is served by the web app.

What it answers is narrow on purpose (it is UDP: a reply goes wherever the source address says):
only a well-formed M-SEARCH for Flamenco's service type, only to LAN sources, rate-limited per
source and overall (`app.manager.lan.ssdp_guard`), and, when `listen` names one address, only on that
address's interface: the group is joined there alone, and a searcher whose route back leaves from
another address gets nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import struct
import sys
from collections.abc import Callable
from xml.sax.saxutils import escape

from app.common.discovery import DESCRIPTION_PATH, FLAMENCO_UUID, MULTICAST, SERVICE_TYPE, parse_headers
from app.manager.lan.ssdp_guard import AnswerLimits, on_the_lan

_log = logging.getLogger(__name__)

MAX_AGE_S = 1800
MAX_SEARCH_BYTES = 1024  # a real search is about 100 bytes
IP_MULTICAST_ALL = 49  # Linux's option number (<linux/in.h>); Python's socket module does not name it
_ANY = ("", "0.0.0.0", "::")


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


def is_search_for_us(search: bytes) -> bool:
    """A well-formed M-SEARCH (start line, HOST, MAN "ssdp:discover", a numeric MX if any) for our type.

    Generic searches (`ssdp:all`, `upnp:rootdevice`) are not answered: Flamenco's workers and
    Tablao's finder ask for the Manager's type, and the generic ones are what reflection attacks use.
    """
    if len(search) > MAX_SEARCH_BYTES:
        return False
    start, headers = parse_headers(search)
    if start != "M-SEARCH * HTTP/1.1" or not headers.get("HOST"):
        return False
    if headers.get("MAN", "").strip('"') != "ssdp:discover" or headers.get("ST") != SERVICE_TYPE:
        return False
    mx = headers.get("MX")
    return mx is None or (mx.isdigit() and len(mx) <= 3)


def reply(location_host: str, http_port: int) -> bytes:
    location = f"http://{location_host}:{http_port}{DESCRIPTION_PATH}"
    return (f"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age={MAX_AGE_S}\r\nEXT:\r\nLOCATION: {location}\r\n"
            f"SERVER: Tablao UPnP/1.0\r\nST: {SERVICE_TYPE}\r\nUSN: uuid:{FLAMENCO_UUID}::{SERVICE_TYPE}\r\n\r\n"
            ).encode("ascii")


def answer(search: bytes, peer: str, http_port: int) -> bytes | None:
    """The unicast answer to an M-SEARCH from `peer`, or None when it is not for us or not from the LAN."""
    if not on_the_lan(peer) or not is_search_for_us(search):
        return None
    return reply(own_address_towards(peer), http_port)


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, http_port: Callable[[], int], limits: AnswerLimits, interface: str | None):
        self.http_port, self.limits, self.interface = http_port, limits, interface
        self.transport: asyncio.DatagramTransport | None = None
        self.answered = 0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        port, source = self.http_port(), addr[0]
        if not port or self.transport is None or not is_search_for_us(data):
            return  # not a search for us: other devices' traffic, not worth a word or a token
        if not on_the_lan(source) or addr[1] == 0:
            self.limits.refuse()
            return
        if not self.limits.allow(source):
            return
        own = own_address_towards(source)
        if self.interface is not None and own != self.interface:
            return  # the searcher is not on the side of the address the Manager listens on
        _log.debug("answering an ssdp search from %s", source)
        self.answered += 1
        self.transport.sendto(reply(own, port), addr)


class SsdpAdvertiser:
    """`async run()`: answer searches until cancelled. `bind` defaults to the SSDP port on all links.

    `interface`: the one local address whose link it answers on (the group is joined there only);
    None for all. `limits`: who gets answers how often (defaults: `app.manager.lan.ssdp_guard`).
    """

    def __init__(self, http_port: Callable[[], int], bind: tuple[str, int] = ("0.0.0.0", MULTICAST[1]),
                 multicast: bool = True, interface: str | None = None, limits: AnswerLimits | None = None):
        self.http_port = http_port
        self.bind = bind
        self.multicast = multicast
        self.interface = interface
        self.limits = limits or AnswerLimits()
        self.address: tuple[str, int] | None = None  # where it listens, once it does
        self.responder: _Responder | None = None

    def _socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if hasattr(socket, "SO_REUSEPORT"):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(self.bind)
            if self.multicast:
                group = struct.pack("4s4s", socket.inet_aton(MULTICAST[0]),
                                    socket.inet_aton(self.interface or "0.0.0.0"))
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
                if self.interface is not None and sys.platform.startswith("linux"):
                    # Linux hands a socket every group joined on ANY link unless told otherwise.
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
        except BaseException:
            sock.close()
            raise
        return sock

    async def run(self) -> None:
        try:
            sock = self._socket()
        except OSError as exc:
            _log.warning("not advertising the manager on the network (UPnP/SSDP): %s", exc)
            return
        loop = asyncio.get_running_loop()
        responder = self.responder = _Responder(self.http_port, self.limits, self.interface)
        transport, _ = await loop.create_datagram_endpoint(lambda: responder, sock=sock)
        self.address = sock.getsockname()
        _log.info("advertising the manager on the network (UPnP/SSDP, %s:%d%s)", *self.address,
                  f", on {self.interface}'s link only" if self.interface else "")
        try:
            await asyncio.Event().wait()
        finally:
            transport.close()


def advertiser_for(listen_host: str, http_port: Callable[[], int], ssdp_port: int = MULTICAST[1]
                   ) -> SsdpAdvertiser | None:
    """The advertiser for a Manager listening on `listen_host`, or None (said why) when there is none.

    All addresses: the group on the default link, answers to every link. One IPv4 address: that
    address's link only. Loopback (or a name for it): none; nobody else could reach the Manager.
    """
    if listen_host in _ANY:
        return SsdpAdvertiser(http_port, bind=("0.0.0.0", ssdp_port))
    try:
        addr = ipaddress.ip_address(listen_host)
    except ValueError:
        try:
            addr = ipaddress.ip_address(socket.gethostbyname(listen_host))
        except OSError as exc:
            _log.warning("not advertising the manager on the network (UPnP/SSDP): cannot resolve listen "
                         "address %r (%s)", listen_host, exc)
            return None
    if addr.is_loopback:
        _log.info("not advertising the manager on the network (UPnP/SSDP): it listens on %s, this "
                  "machine only", listen_host)
        return None
    if addr.version != 4:
        _log.warning("not advertising the manager on the network (UPnP/SSDP): it is IPv4 here, and the "
                     "manager listens on %s only", listen_host)
        return None
    host = str(addr)
    # POSIX delivers multicast only to sockets bound to the wildcard (or the group); Windows
    # wants the interface's own address.
    bind = ("0.0.0.0" if os.name == "posix" else host, ssdp_port)
    return SsdpAdvertiser(http_port, bind=bind, interface=host)
