"""The in-process event bus: typed `did`/`will` events for core listeners and websocket forwarders.

Publishing never blocks and never raises into the publisher: a listener that fails is logged, and
a slow forwarder (a websocket client) drops the oldest events from its own bounded queue rather
than slowing the Manager down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Event names, read as "the job did change", are defined with their payload models in `app.api.events`.
from app.api.events import (  # re-exported (see __all__): publishers and listeners name topics here
    CONFIG_DID_CHANGE,
    FARM_STATUS_DID_CHANGE,
    JOB_DID_CHANGE,
    LAST_RENDERED_DID_CHANGE,
    MANAGER_DID_START,
    MANAGER_WILL_SHUT_DOWN,
    TASK_DID_CHANGE,
    TASK_LOG_DID_APPEND,
    WORKER_DID_CHANGE,
    WORKER_TAG_DID_CHANGE,
    WORKER_VITALS_DID_CHANGE,
)

__all__ = [
    "CONFIG_DID_CHANGE", "FARM_STATUS_DID_CHANGE", "JOB_DID_CHANGE", "LAST_RENDERED_DID_CHANGE",
    "MANAGER_DID_START", "MANAGER_WILL_SHUT_DOWN", "TASK_DID_CHANGE", "TASK_LOG_DID_APPEND",
    "WORKER_DID_CHANGE", "WORKER_TAG_DID_CHANGE", "WORKER_VITALS_DID_CHANGE",
    "Event", "EventBus", "Subscription",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.name, "data": self.data}


Listener = Callable[[Event], None]


@dataclass(eq=False)
class Subscription:
    """A bounded queue of events for one forwarder (for example one websocket client)."""

    names: set[str] | None
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(maxsize=10_000))
    dropped: int = 0

    def offer(self, event: Event) -> None:
        if self.names is not None and event.name not in self.names:
            return
        if self.queue.full():
            # Drop the oldest: a client that cannot keep up should lose history, not stall the farm.
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


class EventBus:
    """Synchronous fan-out to listeners and subscription queues, on the event loop's thread."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._subscriptions: set[Subscription] = set()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def subscribe(self, names: set[str] | None = None) -> Subscription:
        sub = Subscription(names)
        self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)

    def publish(self, name: str, data: dict[str, Any]) -> None:
        event = Event(name, data)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener must not break the publisher
                _log.exception("event listener failed for %s", name)
        for sub in list(self._subscriptions):
            sub.offer(event)

    def emit(self, payload: Any) -> None:
        """Publish a payload model of `app.api.events` under its topic."""
        self.publish(payload.TOPIC, payload.to_json())

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)
