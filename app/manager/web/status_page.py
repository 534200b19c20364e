"""The farm's status page: what a browser gets at the Manager's address (`/`).

The page is plain HTML, CSS and ES modules from the `page/` folder beside this module (package
data: no build step, nothing fetched from other hosts). It carries no data of its own: it reads the
API and follows the live event stream like any other client, under that API's rules (the access
token, the admin token for actions, the Host and Origin checks), so its files are PUBLIC routes.

Routes added by `add_status_page_routes`:
- `GET /`: `page/index.html`;
- `GET /ui/{asset}`: the page's other files, by plain name only (no folders, no dot files).

Every answer carries a strict Content-Security-Policy: scripts only from these files (no inline
script, no eval), styles only from the stylesheet, connections only to the Manager itself, images
from the Manager or the page's own blob: URLs, and no framing. Job names and other text the page
shows are set as text, never parsed as HTML; the policy is the second wall.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.resources
import logging
import re
from dataclasses import dataclass
from importlib.resources.abc import Traversable

from aiohttp import web

_log = logging.getLogger(__name__)

INDEX = "index.html"
ASSET_PREFIX = "/ui/"
PAGE_FOLDER = "page"
#: The file types the page is made of, and the only ones served.
CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.(?:js|css|svg)$")
#: The page may only talk to the Manager that served it ('self' covers ws: and wss: to the same host).
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
       "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Re-checked on every load (a 304 when unchanged), so a Manager upgrade reaches every browser.
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True, slots=True)
class PageFile:
    body: bytes
    content_type: str
    etag: str


def page_files() -> Traversable:
    """The folder of the page's files inside the installed package."""
    return importlib.resources.files(__package__ or "app.manager.web").joinpath(PAGE_FOLDER)


def load_page() -> dict[str, PageFile]:
    """Every file of the page, read and tagged. Blocking (a few small files)."""
    files: dict[str, PageFile] = {}
    for entry in page_files().iterdir():
        name = entry.name
        if not entry.is_file() or not (name == INDEX or _ASSET_NAME.match(name)):
            continue
        body = entry.read_bytes()
        suffix = name[name.rfind("."):]
        files[name] = PageFile(body, CONTENT_TYPES[suffix], '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    if INDEX not in files:
        raise FileNotFoundError(f"the status page's {INDEX} is missing from {page_files()}")
    return files


class _PageCache:
    """The page's files, read once, on first use, off the loop."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._files: dict[str, PageFile] | None = None

    async def get(self, name: str) -> PageFile | None:
        if self._files is None:
            async with self._lock:
                if self._files is None:
                    self._files = await asyncio.to_thread(load_page)
                    _log.debug("loaded the status page: %d files", len(self._files))
        return self._files.get(name)


def add_status_page_routes(app: web.Application) -> None:
    """Serve the status page at `/` and its files under `/ui/`."""
    cache = _PageCache()

    async def index(request: web.Request) -> web.StreamResponse:
        return await _respond(request, cache, INDEX)

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["asset"]
        if name == INDEX or not _ASSET_NAME.match(name):
            raise web.HTTPNotFound(text=f"the status page has no file {name[:80]!r}")
        return await _respond(request, cache, name)

    app.router.add_get("/", index)
    app.router.add_get(ASSET_PREFIX + "{asset}", asset)


async def _respond(request: web.Request, cache: _PageCache, name: str) -> web.StreamResponse:
    page_file = await cache.get(name)
    if page_file is None:
        raise web.HTTPNotFound(text=f"the status page has no file {name[:80]!r}")
    headers = dict(_HEADERS, ETag=page_file.etag)
    if page_file.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=page_file.body, content_type=page_file.content_type, charset="utf-8",
                        headers=headers)
