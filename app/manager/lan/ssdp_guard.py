"""Whom the Manager's SSDP responder answers, and how often: the limits that keep it off flood duty.

SSDP is UDP: the source address of a search is whatever the sender wrote, so every answer can be
aimed at a stranger. The responder therefore answers only

- sources on the LAN: RFC 1918, link-local and loopback addresses (a search from anywhere else
  was routed in from outside, or spoofed to make this Manager flood its victim);
- a few times per second per source (a token bucket: `PER_SOURCE_RATE` a second, `PER_SOURCE_BURST`
  at once), with the table of sources bounded (the least recently seen is dropped first);
- a few dozen times per second in all (one more bucket), so searches from many (spoofed) LAN
  addresses cannot make it loud either.

A worker searches once every few seconds at most, so none of this delays a real search.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

_log = logging.getLogger(__name__)

PER_SOURCE_RATE, PER_SOURCE_BURST = 2.0, 5
TOTAL_RATE, TOTAL_BURST = 20.0, 40
MAX_SOURCES = 1024
REPORT_EVERY_S = 60.0

LAN_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # RFC 1918
    "169.254.0.0/16",                                  # link-local
    "127.0.0.0/8",                                     # this machine
))


def on_the_lan(host: str) -> bool:
    """True for an RFC 1918, link-local or loopback IPv4 address (IPv4-mapped IPv6 too)."""
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is None:
            return False
        addr = addr.ipv4_mapped
    return any(addr in net for net in LAN_NETWORKS)


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; `take` spends one when there is one."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: int, now: float):
        self.rate, self.burst, self.tokens, self.stamp = rate, float(burst), float(burst), now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class AnswerLimits:
    """May this source get an answer now? Per-source and overall token buckets; refusals counted."""

    def __init__(self, per_source: tuple[float, int] = (PER_SOURCE_RATE, PER_SOURCE_BURST),
                 total: tuple[float, int] = (TOTAL_RATE, TOTAL_BURST), max_sources: int = MAX_SOURCES,
                 clock: Callable[[], float] = time.monotonic):
        self.per_source, self.max_sources, self.clock = per_source, max_sources, clock
        self.total = TokenBucket(*total, clock())
        self._sources: OrderedDict[str, TokenBucket] = OrderedDict()
        self.refused = 0       # since the last report
        self._reported = clock()

    def allow(self, source: str) -> bool:
        now = self.clock()
        bucket = self._sources.get(source)
        if bucket is None:
            bucket = self._sources[source] = TokenBucket(*self.per_source, now)
            if len(self._sources) > self.max_sources:
                self._sources.popitem(last=False)
        else:
            self._sources.move_to_end(source)
        if bucket.take(now) and self.total.take(now):
            return True
        self.refuse(now)
        return False

    def refuse(self, now: float | None = None) -> None:
        """Count one search left unanswered; say how many once a minute (never once per packet)."""
        now = self.clock() if now is None else now
        self.refused += 1
        if now - self._reported >= REPORT_EVERY_S:
            _log.info("left %d ssdp searches unanswered in the last %.0f s (too many, or not from the LAN)",
                      self.refused, now - self._reported)
            self.refused, self._reported = 0, now

    @property
    def sources(self) -> int:
        return len(self._sources)
