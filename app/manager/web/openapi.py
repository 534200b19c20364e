"""The Manager's own OpenAPI document and its offline API explorer.

The document is `tablao-openapi.yaml` next to this module: Flamenco's v3 API
plus our additions under `/api/v3/tablao/`; its `info.description` lists where
it deliberately differs from Flamenco's. It is package data, so it is found the
same way from a source checkout, a wheel or a frozen bundle.

Routes added by `add_openapi_routes`:
- `GET /api/v3/openapi3.json`: the document as JSON (the URL Flamenco uses);
- `GET /api/v3/openapi.yaml`: the document as written;
- `GET /api/v3/swagger-ui/`: the API explorer, Swagger UI's own files from the
  `swagger-ui-bundle` package (as Flamenco ships Swagger UI too), with our
  `swagger-initializer.js` pointing it at the served document;
  `/api/v3/swagger-ui` and `/api/v3/explorer[/]` redirect to it.

Nothing is loaded from other hosts (render farms often sit on networks without
internet access): the files come from the installed package, Swagger UI's
online validator is switched off, and the page's Content-Security-Policy only
allows the Manager itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.resources
import json
import logging
import re
from importlib.resources.abc import Traversable
from typing import Any

import yaml
from aiohttp import web

_log = logging.getLogger(__name__)

SPEC_FILENAME = "tablao-openapi.yaml"
OPENAPI_JSON_PATH = "/api/v3/openapi3.json"
OPENAPI_YAML_PATH = "/api/v3/openapi.yaml"
EXPLORER_PATH = "/api/v3/swagger-ui/"
_EXPLORER_ALIASES = ("/api/v3/swagger-ui", "/api/v3/explorer", "/api/v3/explorer/")

_CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Enforces "offline" in the browser too: the page may only talk to the Manager itself. Swagger UI sets
# inline styles; scripts stay limited to the files served here.
_EXPLORER_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'self'; base-uri 'self'"
)
# Browsers must re-check after a Manager upgrade (a newer Swagger UI keeps its file names).
_NO_CACHE = {"Cache-Control": "no-cache"}
INITIALIZER = "swagger-initializer.js"
# Replaces the package's initializer, which points at the public petstore example.
_INITIALIZER_JS = b"""\
// Written by Tablao: start Swagger UI on this Manager's own OpenAPI document, offline.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "../openapi3.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
  });
};
"""

def _package_files() -> Traversable:
    return importlib.resources.files(__package__ or "app.manager.web")


def load_spec_text() -> str:
    """The OpenAPI document as written (YAML). Blocking."""
    return _package_files().joinpath(SPEC_FILENAME).read_text(encoding="utf-8")


def load_spec() -> dict[str, Any]:
    """The OpenAPI document, parsed. Blocking (about 0.1 s with libyaml)."""
    return _parse_spec(load_spec_text())


def spec_to_json(spec: dict[str, Any]) -> bytes:
    """Encode the parsed document as JSON; YAML dates become ISO strings."""
    return json.dumps(spec, default=_json_default, ensure_ascii=False).encode("utf-8")


class _SpecCache:
    """The document's YAML and JSON bytes, loaded once, on first use, off the loop."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._docs: tuple[bytes, bytes] | None = None  # (YAML, JSON)

    async def get(self) -> tuple[bytes, bytes]:
        async with self._lock:
            if self._docs is None:
                self._docs = await asyncio.to_thread(self._load)
            return self._docs

    @staticmethod
    def _load() -> tuple[bytes, bytes]:
        text = load_spec_text()
        spec = _parse_spec(text)
        _log.debug("loaded %s with %d paths", SPEC_FILENAME, len(spec.get("paths", {})))
        return text.encode("utf-8"), spec_to_json(spec)


class _StaticCache:
    """Swagger UI's files from the `swagger-ui-bundle` package, read once each."""

    def __init__(self) -> None:
        self._files: dict[str, bytes] = {INITIALIZER: _INITIALIZER_JS}

    async def get(self, name: str) -> bytes | None:
        if not _ASSET_NAME.match(name) or _content_type(name) is None:
            return None
        if name not in self._files:
            data = await asyncio.to_thread(_read_static, name)
            if data is None:
                return None
            self._files[name] = data
        return self._files[name]


def add_openapi_routes(app: web.Application) -> None:
    """Add the OpenAPI document and explorer routes to `app`."""
    spec = _SpecCache()
    assets = _StaticCache()

    async def openapi_json(request: web.Request) -> web.Response:
        _, body = await spec.get()
        return web.Response(body=body, content_type="application/json", charset="utf-8")

    async def openapi_yaml(request: web.Request) -> web.Response:
        body, _ = await spec.get()
        return web.Response(body=body, content_type="application/yaml", charset="utf-8")

    async def explorer_index(request: web.Request) -> web.Response:
        return await _asset_response(assets, "index.html")

    async def explorer_asset(request: web.Request) -> web.Response:
        return await _asset_response(assets, request.match_info["filename"])

    app.router.add_get(OPENAPI_JSON_PATH, openapi_json)
    app.router.add_get(OPENAPI_YAML_PATH, openapi_yaml)
    app.router.add_get(EXPLORER_PATH, explorer_index)
    app.router.add_get(EXPLORER_PATH + "{filename}", explorer_asset)
    for alias in _EXPLORER_ALIASES:
        app.router.add_get(alias, _redirect_to_explorer)


async def _asset_response(assets: _StaticCache, name: str) -> web.Response:
    data = await assets.get(name)
    content_type = _content_type(name)
    if data is None or content_type is None:
        raise web.HTTPNotFound(text=f"no such explorer file: {name}")
    headers = dict(_NO_CACHE)
    if content_type == "text/html":
        headers["Content-Security-Policy"] = _EXPLORER_CSP
    return web.Response(body=data, content_type=content_type, charset="utf-8", headers=headers)


async def _redirect_to_explorer(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(EXPLORER_PATH)


def _parse_spec(text: str) -> dict[str, Any]:
    # The C loader is ten times faster; fall back when PyYAML was built without libyaml.
    spec = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(spec, dict) or "paths" not in spec:
        raise ValueError(f"{SPEC_FILENAME} is not an OpenAPI document")
    return spec


def swagger_ui_files() -> Traversable:
    """The folder of Swagger UI's distribution files inside the installed `swagger-ui-bundle`."""
    import swagger_ui_bundle

    return swagger_ui_bundle.swagger_ui_path


def _read_static(name: str) -> bytes | None:
    path = swagger_ui_files().joinpath(name)
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError as exc:
        _log.warning("could not read explorer file %s: %s", name, exc)
        return None


def _content_type(name: str) -> str | None:
    suffix = name[name.rfind(".") :] if "." in name else ""
    return _CONTENT_TYPES.get(suffix)


def _json_default(value: object) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} in the OpenAPI document")
