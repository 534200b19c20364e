"""The add-on's "After Job" field, made the ids a submission's `depends_on` carries.

The field holds a job's id, or its name: the newest job of that name that is not being deleted
(what "after the render I submitted a moment ago" means when a shot is submitted again and again).
Empty: the job starts as soon as a worker is free. Runs on the submission's thread (no bpy).
"""

from __future__ import annotations

import re
from typing import Any

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class UnknownJob(Exception):
    """No job of that name (or id) on the Manager; the message says what to give instead."""


def resolve(manager: Any, ref: str) -> list[str]:
    """The ids `depends_on` carries for the field's text `ref` (none for an empty field)."""
    ref = ref.strip()
    if not ref:
        return []
    if _UUID.match(ref):
        return [ref]  # the Manager refuses an id it does not have, in words
    jobs = (manager.get("/jobs") or {}).get("jobs") or []
    named = [j for j in jobs if j.get("name") == ref and not j.get("delete_requested_at")]
    if not named:
        raise UnknownJob(f"After Job: the Manager has no job named {ref!r}; give the name or id of a "
                         "job already submitted, or leave the field empty")
    return [max(named, key=lambda j: str(j.get("created", "")))["id"]]
