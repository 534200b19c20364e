"""Status enums of the Flamenco v3 wire contract."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    UNDER_CONSTRUCTION = "under-construction"
    QUEUED = "queued"
    ACTIVE = "active"
    PAUSED = "paused"
    PAUSE_REQUESTED = "pause-requested"
    CANCEL_REQUESTED = "cancel-requested"
    REQUEUEING = "requeueing"
    COMPLETED = "completed"
    CANCELED = "canceled"
    FAILED = "failed"


class TaskStatus(StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    COMPLETED = "completed"
    SOFT_FAILED = "soft-failed"
    FAILED = "failed"
    CANCELED = "canceled"
    PAUSED = "paused"


class WorkerStatus(StrEnum):
    STARTING = "starting"
    AWAKE = "awake"
    ASLEEP = "asleep"
    ERROR = "error"
    TESTING = "testing"
    OFFLINE = "offline"
    RESTART = "restart"


class FarmStatus(StrEnum):
    ACTIVE = "active"
    IDLE = "idle"
    WAITING = "waiting"
    ASLEEP = "asleep"
    INOPERATIVE = "inoperative"
    UNKNOWN = "unknown"
    STARTING = "starting"
