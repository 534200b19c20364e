"""What waits to be sent to one event-stream client: numbered messages, bounded in bytes.

Each event a client wants gets the next number of that client's stream (`seq`, 1 for the first
message), so a client that sees a number skipped knows it missed events and re-fetches. A client
that does not read as fast as events arrive is not allowed to pile them up in the Manager: once
more than `max_bytes` of events (or `max_events` messages) wait for it, the outbox stops taking
events, forgets what it held and tells its owner, which disconnects the client. The client then
reconnects and re-fetches what it shows.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable

from app.common.events import Event

_log = logging.getLogger(__name__)

DEFAULT_MAX_EVENTS = 10_000
_ENVELOPE_BYTES = 64  # `{"type": ..., "seq": ..., "data": ...}` around the payload, roughly

# The payload of the event being published, encoded once for every client (publishing hands the
# same event to each outbox in turn). The strings are shared, so N clients do not hold N copies.
_last_encoded: tuple[Event | None, str] = (None, "")


def encode_payload(event: Event) -> str:
    global _last_encoded
    cached, text = _last_encoded
    if cached is not event:
        text = json.dumps(event.data, separators=(",", ":"))
        _last_encoded = (event, text)
    return text


def message_text(name: str, seq: int, payload: str) -> str:
    """One stream message: Flamenco's event payload under `data`, our envelope around it."""
    return f'{{"type":{json.dumps(name)},"seq":{seq},"data":{payload}}}'


class EventOutbox:
    """A per-client FIFO of encoded events; `offer` is a bus listener and never blocks or raises."""

    def __init__(self, wanted: Callable[[Event], bool], max_bytes: int,
                 on_overflow: Callable[[str], None], max_events: int = DEFAULT_MAX_EVENTS):
        self._wanted = wanted
        self.max_bytes = max_bytes
        self.max_events = max_events
        self._on_overflow = on_overflow
        self._items: deque[tuple[str, int, str]] = deque()
        self._ready = asyncio.Event()
        self.seq = 0
        self.queued_bytes = 0
        self.overflowed = False

    def offer(self, event: Event) -> None:
        if self.overflowed or not self._wanted(event):
            return
        try:
            payload = encode_payload(event)
        except (TypeError, ValueError) as exc:
            _log.error("event %s cannot be sent as JSON: %s", event.name, exc)
            return
        self.seq += 1
        size = len(payload) + len(event.name) + _ENVELOPE_BYTES
        self._items.append((event.name, self.seq, payload))
        self.queued_bytes += size
        self._ready.set()
        if self.max_bytes > 0 and self.queued_bytes > self.max_bytes:
            self._overflow(f"{self.queued_bytes:,} bytes of events queued, more than {self.max_bytes:,}")
        elif len(self._items) > self.max_events:
            self._overflow(f"{len(self._items):,} events queued, more than {self.max_events:,}")

    def _overflow(self, reason: str) -> None:
        self.overflowed = True
        self.clear()
        self._on_overflow(reason)

    def clear(self) -> None:
        self._items.clear()
        self.queued_bytes = 0

    async def next_message(self) -> tuple[str, int]:
        """The next message's text and its size in the byte budget; waits for one."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        name, seq, payload = self._items.popleft()
        return message_text(name, seq, payload), len(payload) + len(name) + _ENVELOPE_BYTES

    def sent(self, size: int) -> None:
        """The message of `size` left the Manager's hands (the transport took it)."""
        self.queued_bytes = max(self.queued_bytes - size, 0)
