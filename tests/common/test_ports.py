"""Ports: a busy one is seen as busy, the next free one is found, and the Manager's server says who
holds its port instead of raising a bare OSError."""

from __future__ import annotations

import os
import socket

import pytest

from app.common.ports import PortInUse, next_free_port, port_holder, port_is_free


@pytest.fixture
def held_port():
    """A port this process listens on (on 127.0.0.1, which blocks the wildcard address too)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


def test_a_listened_port_is_busy_and_the_next_free_one_is_proposed(held_port):
    assert not port_is_free("127.0.0.1", held_port)
    assert not port_is_free("0.0.0.0", held_port), "the Manager's default address is blocked too"
    proposed = next_free_port("0.0.0.0", held_port)
    assert proposed is not None and proposed > held_port and port_is_free("0.0.0.0", proposed)


def test_the_holder_is_named_when_the_system_can_tell(held_port):
    assert port_holder(held_port).endswith(f"(pid {os.getpid()})")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        unused = free.getsockname()[1]
    assert port_holder(unused) == ""


async def test_the_manager_server_raises_port_in_use_naming_the_holder(held_port):
    from aiohttp import web

    from app.manager.web.app import HttpServer

    server = HttpServer(web.Application(), "0.0.0.0", held_port)
    with pytest.raises(PortInUse) as caught:
        await server.start()
    assert caught.value.port == held_port and f"pid {os.getpid()}" in caught.value.holder
    assert str(held_port) in caught.value.strerror
    await server.stop()  # nothing half-started is left behind
