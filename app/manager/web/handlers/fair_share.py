"""`GET /api/v3/tablao/fair-share`: how the farm's busy workers are shared among submitters now.

The dashboard's "why waiting" text reads it: under the fair-share policy a job may wait because its
submitter already has its share ("fair share: alice has 3 of 4 workers"). Open like the job list;
it tells the submitter names of the active and queued jobs (at most `MAX_SUBMITTERS`, busiest first)
and how many tasks each runs, which the job list tells already.
"""

from __future__ import annotations

from aiohttp import web

from app.api.fair_share import FairShare, SubmitterShare
from app.manager.persistence import fair_share_queries
from app.manager.scheduling import fair_share
from app.manager.web.keys import SERVICES, SETTINGS

MAX_SUBMITTERS = 100


async def get_fair_share(request: web.Request) -> web.Response:
    cfg = request.app[SETTINGS].config
    settings = fair_share.ShareSettings(cfg.fair_share_by, dict(cfg.fair_share_weights))
    shares = await request.app[SERVICES].store.call(fair_share_queries.current_shares, settings)
    busiest = sorted(shares.running.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_SUBMITTERS]
    return web.json_response(FairShare(
        policy=cfg.scheduler_policy, share_by=cfg.fair_share_by, tasks_running=sum(shares.running.values()),
        submitters=[SubmitterShare(name, settings.weight(name), running) for name, running in busiest],
    ).to_json())
