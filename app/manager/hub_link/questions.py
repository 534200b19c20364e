"""What a site answers its hub about its own farm, for the pages the hub serves: the ETA of every
unfinished job, a job's task figures, its last rendered frame (where it is, and the picture itself),
one worker's details and the variables users of a platform see.

Each answer is the one the site's own route gives, so the hub passes it on unchanged. A frame is
sent as base64 inside the link's JSON, only the thumbnails the site made (plain names from a fixed
list) and at most `FRAME_MAX` bytes, so one answer always fits a link message.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from app.api.errors import ApiError, BadRequest, NotFound
from app.manager.pictures.last_rendered import SUFFIXES
from app.manager.web.handlers.task_stats import task_stats_of

#: The most bytes of one frame a site sends its hub (its 1920×1080 JPEG is far below).
FRAME_MAX = 4 * 1024 * 1024
QUESTIONS = ("eta", "taskstats", "lastrendered", "frame", "worker", "variables")


class SiteQuestions:
    """Answers the hub's questions from the Manager's services (`ManagerServices`)."""

    def __init__(self, services: Any):
        self.services = services

    async def answer(self, what: str, msg: dict[str, Any]) -> dict[str, Any]:
        """The data of the answer to question `what`; a 4xx `ApiError` as the site's route would."""
        s = self.services
        if what == "eta":
            return await s.etas.all_unfinished()
        if what == "taskstats":
            return await task_stats_of(s.jobs, _text(msg, "job_id", 64))
        if what == "lastrendered":
            job_id = _text(msg, "job_id", 36)
            await s.jobs.fetch(job_id)  # 404 for an unknown job
            return {"info": s.last_rendered.info(job_id)}
        if what == "frame":
            return await self._frame(_text(msg, "job_id", 36), _text(msg, "name", 64))
        if what == "worker":
            return await s.admin.fetch(_text(msg, "worker_id", 36))
        if what == "variables":
            return {"variables": s.settings.variables.resolve(_text(msg, "audience", 16), _text(msg, "platform", 32))}
        raise BadRequest(f"unknown question {what!r}")

    async def _frame(self, job_id: str, name: str) -> dict[str, Any]:
        if name not in SUFFIXES:
            raise BadRequest(f"{name!r} is not one of the frame's pictures ({', '.join(SUFFIXES)})")
        await self.services.jobs.fetch(job_id)  # 404 for an unknown job
        path = self.services.last_rendered.storage.job_file(job_id, name)

        def read() -> bytes | None:
            try:
                with path.open("rb") as fh:
                    return fh.read(FRAME_MAX + 1)
            except FileNotFoundError:
                return None

        data = await asyncio.to_thread(read)
        if data is None:
            raise NotFound(f"job {job_id} has no frame rendered yet")
        if len(data) > FRAME_MAX:
            raise ApiError(f"the frame {name} is over {FRAME_MAX // (1024 * 1024)} MiB; open the site's own "
                           "status page for it", status=413)
        return {"name": name, "jpeg": base64.b64encode(data).decode("ascii")}


def _text(msg: dict[str, Any], key: str, most: int) -> str:
    value = msg.get(key)
    if not isinstance(value, str) or not 1 <= len(value) <= most:
        raise BadRequest(f"the hub's question needs a `{key}` of 1 to {most} characters")
    return value
