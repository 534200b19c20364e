"""TCP ports to listen on: is one free, which is the next free one, and what holds a busy one.

The Manager's HTTP server raises `PortInUse` instead of a bare `OSError` when its port is taken,
so `tablao manager --headless` says so in one line and the desktop app asks for another port.
A probe is only a forecast (another program may take the port between the probe and the bind);
the bind's own error stays the truth, and callers handle both.
"""

from __future__ import annotations

import errno
import logging
import os
import socket

import psutil

_log = logging.getLogger(__name__)

#: How far `next_free_port` looks past the wanted port.
SEARCH_SPAN = 100


class PortInUse(OSError):
    """Something else listens on the port; `holder` names it when the system can tell ("" if not)."""

    def __init__(self, host: str, port: int, holder: str = ""):
        by = f" by {holder}" if holder else ""
        super().__init__(errno.EADDRINUSE, f"port {port} is in use{by}")
        self.host, self.port, self.holder = host, port, holder


def is_address_in_use(exc: OSError) -> bool:
    return exc.errno == errno.EADDRINUSE or getattr(exc, "winerror", None) == 10048


def port_is_free(host: str, port: int) -> bool:
    """True when a server could bind `host:port` now (binding as the Manager's server binds)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        if os.name != "nt":  # as asyncio's create_server(reuse_address=True); on Windows it would steal
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        except OSError as exc:
            if is_address_in_use(exc):
                return False
            raise
    return True


def next_free_port(host: str, port: int, span: int = SEARCH_SPAN) -> int | None:
    """The first free port after `port` (at most `span` further, never past 65535), or None."""
    for candidate in range(port + 1, min(port + span, 65535) + 1):
        if port_is_free(host, candidate):
            return candidate
    return None


def port_holder(port: int) -> str:
    """The program listening on `port`, in words ("nginx (pid 812)"), or "" when the system does not
    say (a process of another user on Linux, or macOS without the right to list sockets)."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError) as exc:
        _log.debug("cannot list listening sockets: %s", exc)
        return ""
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return _describe(conn.pid)
    return ""


def _describe(pid: int) -> str:
    try:
        proc = psutil.Process(pid)
        name, cmdline = proc.name(), proc.cmdline()
    except psutil.Error:
        return f"a program with pid {pid}"
    words = " ".join(cmdline).lower()
    if "tablao" in words or " -m app " in f" {words} ":
        return f"another Tablao (pid {pid})"
    return f"{name} (pid {pid})"
