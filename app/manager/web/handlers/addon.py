"""`GET /tablao-addon.zip` and `GET /tablao-extension.zip`: the Blender add-on, with this Manager's address.

The address is the one the request came to: the `Host` header (which the request guard has already
matched against this Manager's names), else the address of the connection. app/manager/lan/addon_zip.py
checks it and builds the zip; a host that is not a plain name or address is a 400.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from app.api.errors import BadRequest, NotFound
from app.manager.lan.addon_zip import EXTENSION, LEGACY, AddonUnavailable, carried, manager_url, with_manager
from app.manager.web.request_guard import split_host_port


async def get_addon(request: web.Request) -> web.Response:
    return await _serve(request, LEGACY)


async def get_extension(request: web.Request) -> web.Response:
    return await _serve(request, EXTENSION)


def address_of(request: web.Request) -> str:
    """The Manager URL the request was sent to; BadRequest when its Host is not host[:port]."""
    host_header = request.headers.get("Host")
    try:
        if host_header is not None:
            host, port = split_host_port(host_header)
        else:  # HTTP/1.0 without Host: the address the connection reached
            sock = request.transport.get_extra_info("sockname") if request.transport else None
            if not sock:
                raise ValueError("no address")
            host, port = str(sock[0]), int(sock[1])
        return manager_url(request.scheme, host, port)
    except ValueError:
        shown = (host_header or "")[:100]
        raise BadRequest(f"the Host header {shown!r} is not a host name or address with an optional port; "
                         "ask for the add-on at the Manager's address, e.g. http://render-server:8080/"
                         "tablao-addon.zip") from None


async def _serve(request: web.Request, kind: str) -> web.Response:
    url = address_of(request)
    try:
        # The first call zips the add-on folder of a source checkout or reads the bundle's file.
        addon = await asyncio.to_thread(carried, kind)
    except AddonUnavailable as exc:
        raise NotFound(str(exc)) from None
    body = with_manager(addon, url)
    return web.Response(body=body, content_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{addon.filename}"',
        "Cache-Control": "no-store",  # the address inside depends on the name the Manager was asked by
    })
