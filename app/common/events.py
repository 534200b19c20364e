"""The in-process event bus: typed `did`/`will` events for core listeners and websocket forwarders.

Publishing never blocks and never raises into the publisher: a listener that fails is logged. A
websocket client's listener queues what it sends in its own bounded outbox
(`app/manager/web/event_outbox.py`), so a slow client never slows the Manager down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
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
    "Event", "EventBus",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.name, "data": self.data}


Listener = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out to listeners, on the event loop's thread."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def publish(self, name: str, data: dict[str, Any]) -> None:
        event = Event(name, data)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener must not break the publisher
                _log.exception("event listener failed for %s", name)

    def emit(self, payload: Any) -> None:
        """Publish a payload model of `app.api.events` under its topic."""
        self.publish(payload.TOPIC, payload.to_json())
