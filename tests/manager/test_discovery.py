"""UPnP/SSDP discovery: a real Manager (subprocess, and in process with its own advertiser), the
advertiser, the finder, and the limits on what the advertiser answers.

The searches go unicast to 127.0.0.1 (multicast is not routed in the test sandbox); the
advertisement and the answer are the same bytes a LAN search gets. A source outside the LAN is
real where this machine has such an address, and a fake address in the unit tests of the responder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import urllib.request
from pathlib import Path

import pytest

from app.common import discovery
from app.manager.lan.discovery import SsdpAdvertiser, answer, is_search_for_us, own_address_towards
from app.manager.lan.ssdp_guard import PER_SOURCE_BURST, PER_SOURCE_RATE, AnswerLimits, on_the_lan
from tests.ui.conftest import ManagerProcess


@pytest.fixture
def manager(tmp_path: Path):
    proc = ManagerProcess(tmp_path / "m").start()
    try:
        yield proc
    finally:
        proc.stop()


def _flamenco_worker_search(port: int) -> bytes:
    """What Flamenco's worker (gossdp ListenFor) sends: an M-SEARCH for the Manager's service type."""
    return (b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
            b"MX: 3\r\nST: urn:flamenco:manager:0\r\n\r\n")


def test_the_answer_is_what_a_flamenco_worker_expects():
    reply = answer(_flamenco_worker_search(1900), "127.0.0.1", 8080)
    start, headers = discovery.parse_headers(reply)
    assert start == "HTTP/1.1 200 OK"
    assert headers["ST"] == "urn:flamenco:manager:0"
    assert headers["LOCATION"] == "http://127.0.0.1:8080/upnp/description.xml"
    assert headers["USN"] == f"uuid:{discovery.FLAMENCO_UUID}::urn:flamenco:manager:0"
    assert answer(_flamenco_worker_search(1900).replace(b"urn:flamenco:manager:0", b"urn:other:1"),
                  "127.0.0.1", 8080) is None


def test_the_finder_finds_a_manager_advertised_on_loopback(manager):
    advertiser = SsdpAdvertiser(lambda: manager.port, bind=("127.0.0.1", 0), multicast=False)

    async def body():
        task = asyncio.create_task(advertiser.run())
        try:
            while advertiser.address is None:
                await asyncio.sleep(0.01)
            # A raw search, as a stock Flamenco worker sends it, gets the description's location.
            loop = asyncio.get_running_loop()
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            await loop.sock_sendto(sock, _flamenco_worker_search(1900), advertiser.address)
            data = await asyncio.wait_for(loop.sock_recv(sock, 2048), 5)
            sock.close()
            location = discovery.parse_headers(data)[1]["LOCATION"]
            assert location == f"{manager.url}/upnp/description.xml"
            # The finder: search, verify with /api/v3/version, return the base URL.
            found = await discovery.find_manager(0.5, targets=[advertiser.address])
            assert found == manager.url
            assert await discovery.find_manager(0.3, targets=[("127.0.0.1", 9)]) is None
        finally:
            task.cancel()

    asyncio.run(body())
    with urllib.request.urlopen(f"{manager.url}/upnp/description.xml", timeout=5) as resp:
        xml = resp.read().decode()
    assert "<deviceType>urn:flamenco:manager:0</deviceType>" in xml and f"<URLBase>{manager.url}</URLBase>" in xml


# --- what the responder answers, and how often --------------------------------------------------

def test_only_lan_sources_get_an_answer():
    search = _flamenco_worker_search(1900)
    for lan in ("10.1.2.3", "172.16.0.9", "192.168.1.20", "169.254.7.7", "127.0.0.1", "::ffff:192.168.1.20"):
        assert answer(search, lan, 8080) is not None, lan
    for outside in ("8.8.8.8", "100.64.0.1", "192.0.2.5", "172.32.0.1", "224.0.0.1", "2001:db8::1", "::1",
                    "not an address"):
        assert answer(search, outside, 8080) is None, outside


@pytest.mark.parametrize("search", [
    _flamenco_worker_search(1900).replace(b"urn:flamenco:manager:0", b"ssdp:all"),
    _flamenco_worker_search(1900).replace(b"urn:flamenco:manager:0", b"upnp:rootdevice"),
    _flamenco_worker_search(1900).replace(b"HOST: 239.255.255.250:1900\r\n", b""),
    _flamenco_worker_search(1900).replace(b'"ssdp:discover"', b'"ssdp:alive"'),
    _flamenco_worker_search(1900).replace(b"M-SEARCH * HTTP/1.1", b"M-SEARCH"),
    _flamenco_worker_search(1900).replace(b"MX: 3", b"MX: soon"),
    _flamenco_worker_search(1900).replace(b"\r\n\r\n", b"\r\nX-PAD: " + b"x" * 1024 + b"\r\n\r\n"),
    b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: urn:flamenco:manager:0\r\n\r\n",
    b"M-SEARCH\r\nMAN:ssdp:discover\r\nST:ssdp:all\r\n\r\n",  # the 41-byte probe of the finding, give or take
])
def test_only_well_formed_searches_for_the_manager_are_answered(search):
    assert not is_search_for_us(search)
    assert answer(search, "192.168.1.20", 8080) is None


def test_the_searches_workers_send_are_answered():
    for search in (_flamenco_worker_search(1900), discovery.m_search(mx=3)):
        assert is_search_for_us(search)


def test_answers_are_rate_limited_per_source_and_overall_in_bounded_memory():
    now = [0.0]
    limits = AnswerLimits(per_source=(2.0, 5), total=(20.0, 40), max_sources=100, clock=lambda: now[0])
    assert [limits.allow("10.0.0.1") for _ in range(10)] == [True] * 5 + [False] * 5
    now[0] += 1.0
    assert [limits.allow("10.0.0.1") for _ in range(3)] == [True, True, False]
    assert limits.allow("10.0.0.2")  # another source has its own bucket
    # Many sources together hit the overall limit: 40 at once, then 20 a second.
    now[0] += 10.0
    allowed = sum(limits.allow(f"10.1.{i // 250}.{i % 250}") for i in range(1000))
    assert allowed == 40 and limits.sources == 100


class _Sent:
    def __init__(self):
        self.sent = []

    def sendto(self, data, addr):
        self.sent.append((data, addr))


def _responder(interface=None):
    from app.manager.lan.discovery import _Responder

    responder = _Responder(lambda: 8080, AnswerLimits(), interface)
    responder.transport = _Sent()
    return responder


def test_the_responder_answers_lan_sources_only_and_only_on_its_interface():
    search = _flamenco_worker_search(1900)
    anywhere = _responder()
    anywhere.datagram_received(search, ("203.0.113.9", 1900))
    anywhere.datagram_received(search, ("127.0.0.1", 0))
    assert anywhere.transport.sent == []
    anywhere.datagram_received(search, ("127.0.0.1", 5000))
    assert [addr for _, addr in anywhere.transport.sent] == [("127.0.0.1", 5000)]
    # Listening on one address: a searcher whose route back leaves from another gets nothing.
    elsewhere = _responder(interface="192.168.77.1")
    elsewhere.datagram_received(search, ("127.0.0.1", 5000))
    assert elsewhere.transport.sent == []


# --- the Manager's own advertiser, on a real Manager ---------------------------------------------

def _udp_sockets_of_this_process() -> set[str]:
    inodes = set()
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as fh:
            inodes |= {line.split()[9] for line in list(fh)[1:]}
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/self/fd/{fd}")
            if link.startswith("socket:[") and link[8:-1] in inodes:
                mine.add(link[8:-1])
    return mine


def _non_lan_address() -> str | None:
    """This machine's address towards the world, when it is not a LAN one (a real non-LAN source)."""
    address = own_address_towards("192.0.2.123")
    return None if on_the_lan(address) else address


async def _ask(source: str, target: tuple[str, int], count: int = 1, wait_s: float = 0.5) -> list[bytes]:
    """Send `count` searches from `source` spread over about a second; the answers that came back."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.setblocking(False)
    start = loop.time()
    for i in range(count):
        sock.sendto(_flamenco_worker_search(1900), target)
        if i % 100 == 99:
            await asyncio.sleep(max(0.0, start + (i + 1) / count - loop.time()))
    await asyncio.sleep(wait_s)
    answers = []
    with contextlib.suppress(BlockingIOError):
        while True:
            answers.append(sock.recv(4096))
    sock.close()
    return answers


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts sockets through /proc")
async def test_a_manager_listening_on_loopback_opens_no_ssdp_socket(manager_factory, caplog):
    before = _udp_sockets_of_this_process()
    with caplog.at_level(logging.INFO, logger="app.manager.lan.discovery"):
        manager = await manager_factory(listen="127.0.0.1:0", autodiscoverable=True, autodiscovery_port=0)
        await asyncio.sleep(0.2)
    assert manager.service.advertiser is None
    assert _udp_sockets_of_this_process() - before == set()
    assert "this machine only" in caplog.text


@pytest.mark.slow  # waits out the answer rate
async def test_a_real_manager_answers_lan_searches_a_few_times_a_second_and_nothing_else(manager_factory):
    manager = await manager_factory(listen="0.0.0.0:0", autodiscoverable=True, autodiscovery_port=0)
    advertiser = manager.service.advertiser
    for _ in range(100):
        if advertiser is not None and advertiser.address is not None:
            break
        await asyncio.sleep(0.05)
    assert advertiser is not None and advertiser.address is not None
    port = advertiser.address[1]

    outside = _non_lan_address()
    if outside is not None:  # this machine has a non-LAN address: a real search from it gets nothing
        assert await _ask(outside, (outside, port)) == []

    [one] = await _ask("127.0.0.2", ("127.0.0.1", port))
    assert discovery.parse_headers(one)[1]["LOCATION"] == f"http://127.0.0.1:{manager.service.port}/upnp/description.xml"

    loop = asyncio.get_running_loop()
    started = loop.time()
    answers = await _ask("127.0.0.1", ("127.0.0.1", port), count=5000)
    elapsed = loop.time() - started
    limit = PER_SOURCE_BURST + PER_SOURCE_RATE * elapsed
    assert 1 <= len(answers) <= limit, (len(answers), elapsed)
    assert all(len(a) < 300 for a in answers)
