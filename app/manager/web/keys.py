"""Typed application keys of the Manager's aiohttp app.

`SERVICES` is the whole composition (kept while handlers move over); the narrow keys give a
handler only the service it calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from app.manager.background import FarmStatusService
    from app.manager.service import ManagerServices
    from app.manager.settings_service import SettingsService
    from app.manager.web.handlers.meta import JobTypeCatalog

SERVICES: web.AppKey[ManagerServices] = web.AppKey("services")
#: Configuration, variables, setup assistant (meta handlers).
SETTINGS: web.AppKey[SettingsService] = web.AppKey("settings")
#: The farm status (meta handlers, event stream greeting).
FARM_STATUS: web.AppKey[FarmStatusService] = web.AppKey("farm_status")
#: The job compiler, for the job types it offers.
JOB_TYPES: web.AppKey[JobTypeCatalog] = web.AppKey("job_types")
