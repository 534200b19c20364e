"""Typed application keys of the Manager's aiohttp app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from app.manager.service import ManagerServices

SERVICES: web.AppKey[ManagerServices] = web.AppKey("services")
