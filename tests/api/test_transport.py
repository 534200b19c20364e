"""The one transport: one module builds sessions; auth headers; worker credentials read per request."""

from __future__ import annotations

import base64
from pathlib import Path

from app.api.headers import ADMIN_TOKEN_HEADER
from app.api.transport import Transport

APP = Path(__file__).resolve().parents[2] / "app"


def test_one_module_of_app_builds_http_sessions():
    builders = sorted(str(p.relative_to(APP)) for p in APP.rglob("*.py") if "aiohttp.ClientSession(" in p.read_text())
    assert builders == ["api/transport.py"]


def test_auth_headers():
    creds: list[tuple[str, str] | None] = [None]
    transport = Transport("http://manager:8080/", access_token="tok", admin_token="adm", worker_auth=lambda: creds[0])
    assert transport.base_url == "http://manager:8080"
    assert transport.headers() == {"Authorization": "Bearer tok", ADMIN_TOKEN_HEADER: "adm"}
    assert transport.headers(worker=True)["Authorization"] == "Bearer tok", "no worker credentials yet"
    creds[0] = ("worker-id", "secret")  # registered meanwhile: the next request uses them
    basic = transport.headers(worker=True)["Authorization"]
    assert base64.b64decode(basic.removeprefix("Basic ")) == b"worker-id:secret"
    assert Transport("http://m").headers() == {}
