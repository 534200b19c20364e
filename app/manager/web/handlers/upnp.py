"""`/upnp/description.xml`: the UPnP device description Flamenco's Manager serves for SSDP discovery."""

from __future__ import annotations

from aiohttp import web

from app.manager.lan.discovery import description_xml
from app.manager.web.keys import SETTINGS


async def get_description(request: web.Request) -> web.Response:
    base = f"{request.scheme}://{request.host}"
    name = request.app[SETTINGS].config.manager_name or "Tablao Manager"
    return web.Response(text=description_xml(base, name), content_type="text/xml")
