"""The farm's submit policy on the submitting side: fetched first, then turned into warnings.

`fetch_policy` asks the Manager (`GET /api/v3/tablao/submit-policy`) with the credentials the
submission itself will carry, so its answer is the one the job gets: whether the scripts in the
.blend file will run, why, and where jobs may write, spelled for the submitter's platform. A
Flamenco Manager has no such route (404): then there is no policy, no warning and no default
folder, as before.

The policy shapes a submission twice before anything is uploaded:
- the output settings in `CONFINED`, when the artist leaves them to the scene and the scene's folder
  is outside the roots, default to the farm's folder (`<first root>/renders`; Blender works this out
  while it reads the scene, see `scene_policy.farm_folder`);
- `warnings` lists, in words for the artist, the auto-run scripts and Python drivers that will not
  run, an output folder that moved to the farm's, and an output folder (the artist's own value) the
  Manager will refuse. That last one is a warning, not a block: the Manager's own check, which runs
  before any upload, is the authority on paths (it expands variables the submitter cannot), and a
  guess here must never stop a job the Manager would take.
"""

from __future__ import annotations

import logging
from typing import Any

from app.api.client import ManagerClient
from app.api.errors import ContractError, HttpError, ManagerUnreachable
from app.api.meta import SubmitPolicy
from app.common import crosspath
from app.submit.blendinfo import BlendInfo
from app.submit.errors import Refused, Unreachable
from app.submit.scene_policy import moved_warning, outside_words, refused_warning, scripts_warning

_log = logging.getLogger(__name__)

#: Settings naming the folder a job writes to, which default to the farm's folder when the scene's
#: is outside the output roots. (What Flamenco's job types call the output folder.)
CONFINED = ("render_output_root",)
#: Settings whose value is where the job writes, checked against the roots in this order.
OUTPUT_SETTINGS = ("render_output_root", "render_output_path")


async def fetch_policy(client: ManagerClient, platform: str) -> SubmitPolicy | None:
    """The Manager's submit policy for this client; None from a Manager without one (Flamenco)."""
    try:
        return await client.submit_policy(platform)
    except ManagerUnreachable as exc:
        raise Unreachable(str(exc)) from exc
    except HttpError as exc:
        if exc.status == 404:
            return None
        raise Refused(f"the Manager did not say what it allows: {exc.message}") from exc
    except ContractError as exc:
        _log.warning("ignoring a submit policy that is not understood: %s", exc)
        return None


def output_of(settings: dict[str, Any]) -> str:
    """Where the job's output goes, as its settings say ("" for a job type without output settings)."""
    for key in ("render_output_path", "render_output_root"):
        value = settings.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def output_refusal(path: str, policy: SubmitPolicy, platform: str) -> str | None:
    """Why the Manager will refuse output at `path`; None when it lies under the roots (or cannot be told).

    A path that starts with a variable (`{render}/...`) is the Manager's to expand: not judged here."""
    known = path.split("{", 1)[0]
    if not known or not crosspath.is_absolute(known, platform):
        return None
    for denied in policy.output_denied:
        if crosspath.is_under(known, denied, platform):
            return f"it is inside {denied}, which jobs may not write to"
    if any(crosspath.is_under(known, root, platform) for root in policy.output_roots):
        return None
    return outside_words(policy.output_roots)


def warnings(blend: BlendInfo, settings: dict[str, Any], policy: SubmitPolicy | None,
             platform: str) -> list[str]:
    """What the artist should know before anything is uploaded, as sentences (none without a policy)."""
    if policy is None:
        return []
    out = []
    if not policy.blend_scripts_run and blend.scripts:
        out.append(scripts_warning(blend.scripts.to_json(), policy.blend_scripts_reason))
    for key, scene_folder in blend.redirected.items():
        where = settings.get(key)
        if where:  # else a job type without this setting
            out.append(moved_warning(key, str(where), scene_folder, policy.output_roots))
    for key in OUTPUT_SETTINGS:
        value = settings.get(key)
        if key in blend.redirected or not isinstance(value, str) or not value:
            continue
        why = output_refusal(value, policy, platform)
        if why is not None:
            out.append(refused_warning(key, value, why))
            break
    return out
