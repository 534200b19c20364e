"""The add-on's runtime state (not saved in the blend file): what the Manager told, the running
submission, the pre-flight report and the job the panel follows. Main thread only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._api.jobs import AvailableJobType


@dataclass
class State:
    job_types: dict[str, AvailableJobType] = field(default_factory=dict)
    worker_tags: list[dict[str, str]] = field(default_factory=list)
    sites: list[dict[str, Any]] = field(default_factory=list)  # a hub's sites; empty at a Manager
    connection: str = ""  # the last connection check, in words
    connection_ok: bool = False
    message: str = ""  # the last problem or outcome to show in the panel
    message_icon: str = "INFO"
    report: Any = None  # preflight.Report
    policy: Any = None  # _api.meta.SubmitPolicy for this add-on's token; None: not known (or Flamenco)
    submission: Any = None  # submission.Submission while one runs
    progress_text: str = ""
    progress: float = 0.0
    job_id: str = ""
    job: Any = None  # _api.jobs.Job, the followed job's last state
    thumbnail: str = ""  # the preview key of the last rendered image
    settings_class: type | None = None  # the registered PropertyGroup of the chosen job type


STATE = State()


def reset() -> None:
    global STATE
    STATE.__init__()  # type: ignore[misc]
