"""UPnP/SSDP discovery on loopback only: a real Manager (subprocess), the advertiser, the finder.

The searches go unicast to 127.0.0.1 (multicast is not routed in the test sandbox); the
advertisement and the answer are the same bytes a LAN search gets.
"""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from pathlib import Path

import pytest

from app.common import discovery
from app.manager.discovery import SsdpAdvertiser, answer
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
