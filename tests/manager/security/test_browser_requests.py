"""A web page in a browser on the Manager's computer, and a proxy in front of it, gain nothing.

Each test plays what an attacker's page can make a browser send to a real Manager: `text/plain`
POSTs (no preflight), requests after DNS rebinding (`Host: rebind.example:PORT` on a connection to
127.0.0.1), websockets and POSTs carrying a foreign `Origin`, and requests a local reverse proxy
forwards from the LAN. Local trust is switched on where a test needs it, to show that even then
none of these reach an admin route.
"""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest

from app.common.credentials import ADMIN_TOKEN_HEADER
from app.manager.web.access import Access
from app.manager.web.request_guard import UPLOAD_TYPES, HostNames, split_host_port
from tests.conftest import echo_job
from tests.manager.security.routes import served_routes

REBIND = "rebind.example"


def _app(manager):
    return manager.service.server.app


async def _tag_names(manager) -> list[str]:
    status, body = await manager.request("GET", "/api/v3/worker-mgt/tags")
    assert status == 200
    return [t["name"] for t in body["tags"]]


# --- text/plain and other "simple" cross-site bodies ----------------------------------------------

@pytest.mark.parametrize("content_type", ["text/plain", "text/plain;charset=UTF-8",
                                          "application/x-www-form-urlencoded", "multipart/form-data"])
async def test_a_simple_cross_site_post_is_415_even_with_local_trust(manager_factory, content_type):
    manager = await manager_factory(trust_local_requests=True)
    body = json.dumps({"name": "from-a-web-page"})
    status, answer = await manager.request("POST", "/api/v3/worker-mgt/tags", data=body,
                                           headers={"Content-Type": content_type})
    assert status == 415 and "application/json" in answer["message"], answer
    assert "from-a-web-page" not in await _tag_names(manager)


async def test_a_text_plain_job_submission_is_refused_and_nothing_is_stored(manager):
    status, answer = await manager.request("POST", "/api/v3/jobs", data=json.dumps(echo_job()),
                                           headers={"Content-Type": "text/plain"})
    assert status == 415, answer
    status, answer = await manager.request("GET", "/api/v3/jobs")
    assert answer["jobs"] == []
    status, answer = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    assert status == 200, answer  # the same body as JSON is a job


async def test_a_body_without_content_type_is_415(manager):
    status, answer = await manager.request("POST", "/api/v3/jobs", data=json.dumps(echo_job()).encode(),
                                           skip_auto_headers=["Content-Type"])
    assert status == 415 and "no Content-Type" in answer["message"], answer


async def test_every_state_changing_route_refuses_text_plain(manager):
    refused = 0
    for route in served_routes(_app(manager)):
        if route.method not in ("POST", "PUT", "PATCH", "DELETE"):
            continue
        status, answer = await manager.request(route.method, route.path, data="{}",
                                               headers={"Content-Type": "text/plain", **manager.admin_headers})
        assert status == 415, (str(route), status, answer)
        refused += 1
    assert refused >= 30


def test_the_upload_types_are_the_ones_the_api_document_names():
    from app.manager.web.openapi import load_spec

    spec = load_spec()
    documented: dict[tuple[str, str], frozenset[str]] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            content = (op.get("requestBody") or {}).get("content") if isinstance(op, dict) else None
            if content and set(content) != {"application/json"}:
                documented[(method.upper(), path)] = frozenset(content)
    assert documented == UPLOAD_TYPES


async def test_uploads_take_their_documented_types_only(manager):
    path = f"/api/v3/shaman/files/{'a' * 64}/1"
    status, answer = await manager.request("POST", path, data=b"x", headers={"Content-Type": "text/plain"})
    assert status == 415 and "application/octet-stream" in answer["message"], answer
    status, answer = await manager.request("POST", path, data=b"x",
                                           headers={"Content-Type": "application/octet-stream"})
    assert status != 415, answer  # a wrong checksum, but the type was right


# --- DNS rebinding: Host --------------------------------------------------------------------------

async def test_dns_rebinding_cannot_read_or_replace_the_configuration(manager_factory):
    manager = await manager_factory(trust_local_requests=True)
    host = {"Host": f"{REBIND}:{manager.service.port}"}
    status, answer = await manager.request("GET", "/api/v3/configuration/file", headers=host)
    assert status == 421 and "allowed_hosts" in answer["message"], answer
    assert "access_token" not in json.dumps(answer)
    status, answer = await manager.request("PUT", "/api/v3/configuration/file", json={"_meta": {"version": 3}},
                                           headers=host)
    assert status == 421, answer
    variables = {"variables": {"blender": {"values": [{"platform": "all", "value": "/bin/sh"}]}}}
    status, answer = await manager.request("PUT", "/api/v3/tablao/variables", json=variables, headers=host)
    assert status == 421, answer
    status, answer = await manager.request("GET", "/api/v3/configuration/variables/workers/linux")
    assert "/bin/sh" not in json.dumps(answer)
    # The Manager's own names still work.
    for name in ("127.0.0.1", "localhost"):
        status, _ = await manager.request("GET", "/api/v3/configuration/file",
                                          headers={"Host": f"{name}:{manager.service.port}"})
        assert status == 200


async def test_dns_rebinding_cannot_reach_the_worker_api_or_submit(manager):
    host = {"Host": f"{REBIND}:{manager.service.port}"}
    body = {"name": "w", "platform": "linux", "supported_task_types": ["misc"], "secret": "s" * 32}
    status, _ = await manager.request("POST", "/api/v3/worker/register-worker", json=body, headers=host)
    assert status == 421
    status, _ = await manager.request("POST", "/api/v3/jobs", json=echo_job(), headers=host)
    assert status == 421


async def test_an_allowed_alias_and_the_wildcard(manager_factory, tmp_path):
    manager = await manager_factory(allowed_hosts=["farm.studio.lan"])
    status, _ = await manager.request("GET", "/api/v3/jobs", headers={"Host": "FARM.studio.lan.:8080"})
    assert status == 200
    status, _ = await manager.request("GET", "/api/v3/jobs", headers={"Host": "other.studio.lan"})
    assert status == 421
    await manager.stop()
    (tmp_path / "flamenco-manager.yaml").unlink()
    manager = await manager_factory(allowed_hosts=["*"])
    status, _ = await manager.request("GET", "/api/v3/jobs", headers={"Host": "other.studio.lan"})
    assert status == 200


async def test_a_malformed_host_is_400(manager):
    for bad in ("[::1", "name:99999", ":8080", "a:b"):
        status, answer = await manager.request("GET", "/api/v3/jobs", headers={"Host": bad})
        assert status == 400, (bad, answer)


def test_host_names_include_this_computers_addresses_and_re_read_them():
    reads = []

    def addresses():
        reads.append(1)
        return {"192.168.7.20"} if len(reads) > 1 else {"10.0.0.5"}

    now = [0.0]
    names = HostNames("0.0.0.0", ["alias"], addresses=addresses, names=lambda: {"box"}, clock=lambda: now[0])
    assert names.allows("box") and names.allows("ALIAS") and names.allows("10.0.0.5")
    assert not names.allows("192.168.7.20")  # not yet: read once, cached
    now[0] += 60
    assert names.allows("192.168.7.20")  # a new address (DHCP) is found on the next miss
    assert not names.allows("0.0.0.0")


@pytest.mark.parametrize("value, expected", [
    ("name:8080", ("name", 8080)), ("[::1]:80", ("::1", 80)), ("::1", ("::1", None)),
    ("Name.", ("name", None)), ("[fe80::1%eth0]:1", ("fe80::1", 1)),
])
def test_host_header_parsing(value, expected):
    assert split_host_port(value) == expected


# --- Origin: websockets and state changes from other sites ----------------------------------------

async def test_the_event_websocket_refuses_a_foreign_origin(manager):
    url = f"{manager.url}/api/v3/tablao/events"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(url, headers={"Origin": "http://evil.example"})
        assert info.value.status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(url, headers={"Origin": "null"})
        assert info.value.status == 403
        # Its own pages (same host and port), and clients that send no Origin, connect.
        for headers in ({"Origin": manager.url}, {}):
            ws = await session.ws_connect(url, headers=headers)
            msg = await ws.receive_json(timeout=5)
            assert msg["type"] == "manager_did_start"
            await ws.close()


async def test_a_same_host_other_port_origin_is_foreign(manager):
    other = f"http://127.0.0.1:{manager.service.port + 1}"
    status, answer = await manager.request("POST", "/api/v3/jobs", json=echo_job(), headers={"Origin": other})
    assert status == 403 and "allowed_origins" in answer["message"], answer


async def test_json_posts_from_a_foreign_origin_are_403_with_local_trust(manager_factory):
    manager = await manager_factory(trust_local_requests=True)
    origin = {"Origin": "https://evil.example"}
    status, _ = await manager.request("POST", "/api/v3/worker-mgt/tags", json={"name": "evil"}, headers=origin)
    assert status == 403
    status, _ = await manager.request("POST", "/api/v3/configuration/check/blender",
                                      json={"path": "/bin/true"}, headers=origin)
    assert status == 403
    status, _ = await manager.request("POST", "/api/v3/jobs", json=echo_job(), headers=origin)
    assert status == 403
    assert "evil" not in await _tag_names(manager)


async def test_an_allowed_origin_may_call(manager_factory):
    manager = await manager_factory(allowed_origins=["https://pipeline.studio.lan"])
    status, answer = await manager.request("POST", "/api/v3/jobs", json=echo_job(),
                                           headers={"Origin": "https://pipeline.studio.lan"})
    assert status == 200, answer


# --- local trust and proxies ----------------------------------------------------------------------

async def test_local_requests_are_not_admin_by_default(manager):
    status, answer = await manager.request("POST", "/api/v3/worker-mgt/tags", json={"name": "gpu"})
    assert status == 401 and ADMIN_TOKEN_HEADER in answer["message"], answer
    status, answer = await manager.request("POST", "/api/v3/worker-mgt/tags", json={"name": "gpu"}, admin=True)
    assert status == 200, answer


@pytest.mark.parametrize("header", [{"X-Forwarded-For": "192.168.1.50"}, {"X-Real-IP": "192.168.1.50"},
                                    {"Forwarded": "for=192.168.1.50"}, {"X-Forwarded-Host": "farm"}])
async def test_local_trust_never_applies_to_a_proxied_request(manager_factory, header):
    manager = await manager_factory(trust_local_requests=True)
    status, answer = await manager.request("GET", "/api/v3/configuration/file", headers=header)
    assert status == 401, answer
    status, _ = await manager.request("GET", "/api/v3/configuration/file")
    assert status == 200  # the same request, not forwarded, is local


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
async def test_local_trust_never_applies_to_a_request_a_page_of_another_site_made(manager_factory, site):
    """An <img> or a new window opened by a page elsewhere sends a GET with no Origin; the browser on
    this machine still says another site made it, and that request is not trusted as local."""
    manager = await manager_factory(trust_local_requests=True)
    for path in ("/api/v3/configuration/file", "/api/v3/configuration/check/blender"):
        status, answer = await manager.request("GET", path, headers={"Sec-Fetch-Site": site,
                                                                     "Sec-Fetch-Mode": "no-cors"})
        assert status == 401, (path, answer)
    for own in ("same-origin", "none"):  # the Manager's own page; a typed address or a bookmark
        status, _ = await manager.request("GET", "/api/v3/configuration/file", headers={"Sec-Fetch-Site": own})
        assert status == 200, own


# --- bytes that are not text in credential headers -----------------------------------------------

async def _raw_request(port: int, header_line: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /api/v3/configuration/file HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header_line
                 + b"\r\nConnection: close\r\n\r\n")
    await writer.drain()
    data = await reader.read()
    writer.close()
    return int(data.split(b" ", 2)[1]), data


@pytest.mark.parametrize("header_line", [
    b"X-Tablao-Admin-Token: tok\xff\xfeen", b"Authorization: Bearer \xc3\x28abc",
    b"Authorization: Basic \xff\xff\xff", b"X-Tablao-Wait: \xe9",
])
async def test_non_utf8_credentials_are_400_with_one_log_line(manager_factory, header_line, caplog):
    manager = await manager_factory(access_token="tok")
    caplog.set_level(logging.INFO)
    status, data = await _raw_request(manager.service.port, header_line)
    assert status == 400 and b"not UTF-8" in data, data
    assert "Traceback" not in caplog.text and "crashed" not in caplog.text
    assert len([r for r in caplog.records if "not UTF-8" in r.getMessage()]) == 1


async def test_non_utf8_basic_credentials_on_the_worker_api_are_not_500(manager):
    status, _ = await _raw_request(manager.service.port, b"Authorization: Basic \xff\xfe")
    assert status == 400
    for route in served_routes(_app(manager)):
        if route.access is Access.WORKER and route.method == "GET":
            async with aiohttp.ClientSession() as session:
                async with session.get(manager.url + route.path,
                                       headers={"Authorization": "Basic ###not-base64###"}) as resp:
                    assert resp.status in (401, 403), (str(route), resp.status)
                async with session.get(manager.url + route.path,
                                       headers={"Authorization": "Basic \u00e9t\u00e9"}) as resp:
                    assert resp.status in (401, 403), (str(route), resp.status)
