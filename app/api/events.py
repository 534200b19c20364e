"""The live event stream's topics and payloads: one wire model per topic.

The Manager publishes each event by building its payload model (nowhere else builds these dicts),
the websocket forwards `{"type": topic, "data": payload, "seq": n}`, and clients decode a message
with `decode_event` into an `EventMessage` whose `payload` is the topic's model. The payloads are
Flamenco's event shapes (EventJobUpdate, EventTaskUpdate, ...); topics read like "the job did change".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from app.api.codec import Wire, decode
from app.api.enums import FarmStatus, JobStatus, TaskStatus, WorkerStatus
from app.api.errors import ContractError
from app.api.jobs import LastRenderedInfo
from app.api.limits import is_whole
from app.api.workers import WorkerStatusChangeRequest, WorkerTag, WorkerVitals

JOB_DID_CHANGE = "job_did_change"
TASK_DID_CHANGE = "task_did_change"
TASK_LOG_DID_APPEND = "task_log_did_append"
WORKER_DID_CHANGE = "worker_did_change"
WORKER_TAG_DID_CHANGE = "worker_tag_did_change"
WORKER_VITALS_DID_CHANGE = "worker_vitals_did_change"
LAST_RENDERED_DID_CHANGE = "last_rendered_did_change"
FARM_STATUS_DID_CHANGE = "farm_status_did_change"
MANAGER_DID_START = "manager_did_start"
MANAGER_WILL_SHUT_DOWN = "manager_will_shut_down"
CONFIG_DID_CHANGE = "config_did_change"


@dataclass(slots=True)
class JobUpdate(Wire):
    """EventJobUpdate. `previous_status` only on a status change; `was_deleted` once, when deleted.

    Tablao adds what a job list shows, so a client needs no fetch per event: `activity` and
    `created` always; `worker_tag` (the tag's id, "" for none) whenever the Manager has it at hand;
    and, in the job's first event only, the facts that never change after submission: `metadata`
    (the Submitter, `user.name` and `user.host`), `settings` (frames, output path) and
    `submitter_platform`. `waiting_on`: how many of the jobs it waits for have not completed (0: none).
    """

    TOPIC: ClassVar[str] = JOB_DID_CHANGE
    id: str
    updated: str
    status: JobStatus
    type: str
    priority: int
    refresh_tasks: bool
    steps_completed: int
    steps_total: int
    name: str | None = None
    previous_status: JobStatus | None = None
    delete_requested_at: str | None = None
    was_deleted: bool | None = None
    activity: str | None = None
    created: str | None = None
    worker_tag: str | None = None
    metadata: dict[str, str] | None = None
    settings: dict[str, Any] | None = None
    submitter_platform: str | None = None
    waiting_on: int | None = None
    #: Tablao, from a hub: the site that runs the job.
    site: str | None = None

    def to_json(self) -> dict[str, Any]:
        # Written out: this runs for every task update on the Manager's hot path (bench/farm.py).
        out: dict[str, Any] = {
            "id": self.id, "name": self.name, "updated": self.updated, "status": self.status,
            "type": self.type, "priority": self.priority, "refresh_tasks": self.refresh_tasks,
            "steps_completed": self.steps_completed, "steps_total": self.steps_total}
        if self.name is None:
            del out["name"]
        if self.activity is not None:
            out["activity"] = self.activity
        if self.created is not None:
            out["created"] = self.created
        if self.worker_tag is not None:
            out["worker_tag"] = self.worker_tag
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if self.settings is not None:
            out["settings"] = self.settings
        if self.submitter_platform is not None:
            out["submitter_platform"] = self.submitter_platform
        if self.previous_status is not None:
            out["previous_status"] = self.previous_status
        if self.delete_requested_at is not None:
            out["delete_requested_at"] = self.delete_requested_at
        if self.was_deleted is not None:
            out["was_deleted"] = self.was_deleted
        if self.waiting_on is not None:
            out["waiting_on"] = self.waiting_on
        if self.site is not None:
            out["site"] = self.site
        return out


@dataclass(slots=True)
class AssignedWorker(Wire):
    """The worker of a task event: Flamenco's `{uuid, name}`; `id` repeats the uuid (Tablao's older key)."""

    uuid: str
    name: str
    id: str | None = None


@dataclass(slots=True)
class TaskUpdate(Wire):
    """EventTaskUpdate. `previous_status` only on a status change."""

    TOPIC: ClassVar[str] = TASK_DID_CHANGE
    id: str
    job_id: str
    name: str
    updated: str
    status: TaskStatus
    activity: str
    steps_completed: int
    steps_total: int
    previous_status: TaskStatus | None = None
    worker: AssignedWorker | None = None

    def to_json(self) -> dict[str, Any]:
        # Written out: this runs for every task update on the Manager's hot path (bench/farm.py).
        out: dict[str, Any] = {
            "id": self.id, "job_id": self.job_id, "name": self.name, "updated": self.updated,
            "status": self.status, "activity": self.activity,
            "steps_completed": self.steps_completed, "steps_total": self.steps_total}
        if self.previous_status is not None:
            out["previous_status"] = self.previous_status
        if self.worker is not None:
            w = self.worker
            out["worker"] = {"uuid": w.uuid, "name": w.name, "id": w.uuid if w.id is None else w.id}
        return out


@dataclass(slots=True)
class TaskLogUpdate(Wire):
    """EventTaskLogUpdate: a chunk of one task's log (sent only to clients that asked for that task)."""

    TOPIC: ClassVar[str] = TASK_LOG_DID_APPEND
    task_id: str
    log: str
    job_id: str | None = None


@dataclass(slots=True)
class WorkerUpdate(Wire):
    """EventWorkerUpdate. `previous_status` only on a status change, `deleted_at` once, when deleted."""

    TOPIC: ClassVar[str] = WORKER_DID_CHANGE
    id: str
    name: str
    updated: str
    status: WorkerStatus
    version: str
    can_restart: bool
    last_seen: str | None = None
    previous_status: WorkerStatus | None = None
    status_change: WorkerStatusChangeRequest | None = None
    deleted_at: str | None = None


@dataclass(slots=True)
class WorkerVitalsUpdate(Wire):
    """A worker's new vitals (Tablao), at most one a second per worker; `last_seen` is as fresh."""

    TOPIC: ClassVar[str] = WORKER_VITALS_DID_CHANGE
    id: str
    vitals: WorkerVitals
    last_seen: str | None = None


@dataclass(slots=True)
class WorkerTagUpdate(Wire):
    TOPIC: ClassVar[str] = WORKER_TAG_DID_CHANGE
    tag: WorkerTag
    was_deleted: bool | None = None


@dataclass(slots=True)
class LastRenderedUpdate(Wire):
    TOPIC: ClassVar[str] = LAST_RENDERED_DID_CHANGE
    job_id: str
    thumbnail: LastRenderedInfo


@dataclass(slots=True)
class FarmStatusUpdate(Wire):
    TOPIC: ClassVar[str] = FARM_STATUS_DID_CHANGE
    status: FarmStatus


@dataclass(slots=True)
class ManagerStarted(Wire):
    """`{"type": "manager-startup"}` when the Manager starts; `{"status": ...}` as a connection's greeting."""

    TOPIC: ClassVar[str] = MANAGER_DID_START
    type: str | None = None
    status: FarmStatus | None = None


@dataclass(slots=True)
class ManagerShuttingDown(Wire):
    """EventLifeCycle: the Manager is about to stop."""

    TOPIC: ClassVar[str] = MANAGER_WILL_SHUT_DOWN
    type: str = "manager-shutdown"


@dataclass(slots=True)
class ConfigUpdate(Wire):
    """The configuration changed; `variables` is the new `variables` section."""

    TOPIC: ClassVar[str] = CONFIG_DID_CHANGE
    variables: dict[str, Any] = field(default_factory=dict)


#: The payload model of each topic.
PAYLOADS: dict[str, type] = {cls.TOPIC: cls for cls in (
    JobUpdate, TaskUpdate, TaskLogUpdate, WorkerUpdate, WorkerVitalsUpdate, WorkerTagUpdate, LastRenderedUpdate,
    FarmStatusUpdate, ManagerStarted, ManagerShuttingDown, ConfigUpdate)}


@dataclass(slots=True)
class EventMessage:
    """One message of the stream. `payload` is the topic's model, or the raw dict for a topic this
    client does not know. `seq` counts the Manager's messages on this connection (None from a
    Manager that does not number them)."""

    topic: str
    payload: Any
    seq: int | None = None


@dataclass(slots=True)
class StreamGap:
    """The stream was away or lost events: the owner should re-fetch what it shows.

    `reason` says why in words; `missed` is how many events were lost when the Manager's sequence
    numbers tell (None when unknown, for example across a reconnect)."""

    reason: str
    missed: int | None = None


def encode_event(payload: Any, seq: int | None = None) -> dict[str, Any]:
    """The websocket message of a payload model."""
    msg: dict[str, Any] = {"type": payload.TOPIC, "data": payload.to_json()}
    if seq is not None:
        msg["seq"] = seq
    return msg


def decode_event(msg: Any) -> EventMessage:
    """An `EventMessage` from one websocket message; `ContractError` when it breaks the contract."""
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise ContractError(f"event message must be an object with a type, got {msg!r:.200}")
    topic, data, seq = msg["type"], msg.get("data"), msg.get("seq")
    if seq is not None and not is_whole(seq):
        raise ContractError(f"event seq must be a whole number, got {seq!r}")
    cls = PAYLOADS.get(topic)
    if cls is None:
        return EventMessage(topic, data, seq)  # clients must ignore types they do not know
    return EventMessage(topic, decode(cls, data, topic), seq)
