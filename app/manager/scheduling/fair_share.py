"""Fair share among submitters: the Manager's choice between strict priority and sharing the farm.

`scheduler_policy` in flamenco-manager.yaml: `priority` (the default) hands out strictly by job
priority, then job age, so one artist's long job holds every worker until it is done; `fair-share`
keeps priority first but, among the tasks of the top rank (job priority, then task priority), gives
the next one to the submitter furthest below their share: running tasks / weight, smallest first. An artist's first
tasks thus start as soon as a worker frees up, beside another artist's long job.

The submitter of a job is a value of its metadata, `fair_share_by` (default `user.name`, which
Flamenco's add-on sends; `project` or any other metadata key a studio's add-on fills in works as
well); jobs without it share as one submitter, "". `fair_share_weights` (e.g. `{alice: 2}`) gives
some submitters a bigger share; the others weigh 1.

This module owns the settings and the choice; `app.manager.persistence.fair_share_queries` runs
the bounded lookups of a claim.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.api.limits import is_number

PRIORITY = "priority"
FAIR_SHARE = "fair-share"
POLICIES = (PRIORITY, FAIR_SHARE)
DEFAULT_SHARE_BY = "user.name"
MAX_WEIGHTS = 1000
MAX_WEIGHT = 1000.0
MAX_NAME = 255


@dataclass(frozen=True)
class ShareSettings:
    """What a fair-share claim needs: the metadata key naming the submitter, and the weights."""

    share_by: str = DEFAULT_SHARE_BY
    weights: Mapping[str, float] = field(default_factory=dict)

    def weight(self, submitter: str) -> float:
        return self.weights.get(submitter, 1.0)


def settings_of(config: Any) -> ShareSettings | None:
    """The fair-share settings of a Manager's live config; None under strict priority."""
    if config is None or getattr(config, "scheduler_policy", PRIORITY) != FAIR_SHARE:
        return None
    return ShareSettings(getattr(config, "fair_share_by", DEFAULT_SHARE_BY) or DEFAULT_SHARE_BY,
                         dict(getattr(config, "fair_share_weights", {}) or {}))


def check_policy(value: Any) -> str:
    """A `scheduler_policy` value, or ValueError saying which ones there are."""
    text = str(value).strip().lower() if value is not None else PRIORITY
    if text not in POLICIES:
        raise ValueError(f"expected {' or '.join(POLICIES)}, got {value!r}")
    return text


def check_share_by(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if not text or len(text) > MAX_NAME:
        raise ValueError(f"expected a metadata key such as user.name or project, got {value!r}")
    return text


def check_weights(value: Any) -> dict[str, float]:
    """`fair_share_weights`: submitter name -> a positive number (at most 1,000 of them)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping of submitter names to weights, e.g. {{alice: 2}}, got {value!r}")
    if len(value) > MAX_WEIGHTS:
        raise ValueError(f"expected at most {MAX_WEIGHTS:,} submitters")
    weights: dict[str, float] = {}
    for name, weight in value.items():
        key = str(name)
        if len(key) > MAX_NAME:
            raise ValueError(f"submitter name {key[:40]!r}... is longer than {MAX_NAME} characters")
        if isinstance(weight, bool) or not is_number(weight) or not math.isfinite(weight) \
                or not 0 < weight <= MAX_WEIGHT:
            raise ValueError(f"the weight of {key!r} must be a number above 0 and at most {MAX_WEIGHT:g}, "
                             f"not {weight!r}")
        weights[key] = float(weight)
    return weights


def submitter_of(metadata: Any, share_by: str) -> str:
    if not isinstance(metadata, dict):
        return ""
    value = metadata.get(share_by)
    return value.strip() if isinstance(value, str) else ""


def share_order(running: Mapping[str, int], settings: ShareSettings, first: str) -> list[str]:
    """Submitters, the one furthest below its share first (running tasks / weight); on a tie, `first`
    (the strict order's choice) and then by name, so equal shares keep today's order."""
    return sorted(running, key=lambda s: (running[s] / settings.weight(s), s != first, s))


def describe(running: Mapping[str, int], workers: int) -> str:
    """`fair share: alice has 3 of 4 workers, bob 1`: the busy workers per submitter, most first."""
    if not running:
        return "fair share: no submitter has a task running"
    ordered = sorted(running.items(), key=lambda kv: (-kv[1], kv[0]))
    (top, count), rest = ordered[0], ordered[1:]
    text = f"fair share: {_name(top)} has {count} of {workers} worker{'s' if workers != 1 else ''}"
    return text + "".join(f", {_name(name)} {n}" for name, n in rest)


def _name(submitter: str) -> str:
    return submitter or "(no submitter)"


#: flamenco-manager.yaml keys this module owns, with their checks.
CONFIG_KEYS = {"scheduler_policy": check_policy, "fair_share_by": check_share_by,
               "fair_share_weights": check_weights}


def config_entries(config: Any) -> dict[str, Any]:
    """The keys to write to flamenco-manager.yaml: only those that differ from the default."""
    out: dict[str, Any] = {}
    if config.scheduler_policy != PRIORITY:
        out["scheduler_policy"] = config.scheduler_policy
    if config.fair_share_by != DEFAULT_SHARE_BY:
        out["fair_share_by"] = config.fair_share_by
    if config.fair_share_weights:
        out["fair_share_weights"] = {k: (int(v) if float(v).is_integer() else v)
                                     for k, v in config.fair_share_weights.items()}
    return out
