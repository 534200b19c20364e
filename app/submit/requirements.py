"""The job's `requirements` from what the probe read of the scene (`scene_needs.py`), and their words.

Sent only to a Tablao Manager (one that has a submit policy): a stock Flamenco Manager has no use for
them. A read-out the wire model refuses (a Blender that names its engine oddly, say) is left out
with a log line rather than failing the submission: the job then runs anywhere, as before.
"""

from __future__ import annotations

import logging
from typing import Any

from app.api.errors import ContractError
from app.api.meta import SubmitPolicy
from app.api.requirements import JobRequirements
from app.submit import scene_needs

_log = logging.getLogger(__name__)


def requirements_of(needs: dict[str, Any], policy: SubmitPolicy | None = None,
                    tablao: bool = True) -> JobRequirements | None:
    """The `requirements` to send for a scene's `needs`; None for a Flamenco Manager or none read."""
    if not needs or (policy is None and not tablao):
        return None
    try:
        return JobRequirements.from_json(needs)
    except ContractError as exc:
        _log.warning("not sending the scene's requirements (%s); any worker may render the job", exc)
        return None


def needs_words(req: JobRequirements | None) -> str:
    """"Cycles on a GPU (OptiX), Blender 4.2 or newer, 6.0 GiB of memory", for the submit report; "" for none."""
    return "" if req is None else scene_needs.needs_words(req.to_json())
