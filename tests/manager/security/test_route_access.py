"""Token coverage of every route: the access token, the admin token and local trust, on a real Manager.

The routes are walked from the running Manager's router, so a route added later without a line in
`app/manager/web/access.py` fails here (and is closed to non-admins meanwhile).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.common.credentials import ADMIN_TOKEN_FILENAME, ADMIN_TOKEN_HEADER, read_local_admin_token
from app.manager.web.access import ROUTE_ACCESS, Access
from tests.manager.security.routes import JOB_FILE, served_routes

ACCESS = "s3cret-access"


def _app(manager):
    return manager.service.server.app


def _write_job_file(manager) -> None:
    path = manager.cfg.storage_dir / JOB_FILE.removeprefix("/job-files/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("line one of a task log\n")


async def _status(manager, route, headers=None, params=None) -> tuple[int, object]:
    return await manager.request(route.method, route.path, headers=headers or {}, params=params)


def _refused(status: int) -> bool:
    return status in (401, 403)


async def test_every_route_is_in_the_access_table_and_the_table_has_no_stale_lines(manager):
    served = {(r.method, r.template) for r in served_routes(_app(manager))}
    unclassified = sorted(served - ROUTE_ACCESS.keys())
    assert not unclassified, f"add these to ROUTE_ACCESS in app/manager/web/access.py: {unclassified}"
    assert not sorted(ROUTE_ACCESS.keys() - served), "ROUTE_ACCESS names routes the Manager does not serve"
    assert len(served) > 60  # the walk really saw the router


async def test_access_token_guards_every_route_but_public_and_worker_ones(manager_factory):
    manager = await manager_factory(access_token=ACCESS)
    _write_job_file(manager)
    for route in served_routes(_app(manager)):
        status, body = await _status(manager, route)
        if route.access is Access.PUBLIC:
            assert not _refused(status), (str(route), status, body)
        elif route.access is Access.WORKER:  # the worker's own credentials, not the access token
            assert "access token" not in str(body), (str(route), status, body)
        else:
            assert status == 403 and "access token" in body["message"], (str(route), status, body)
            status, body = await _status(manager, route, headers={"Authorization": f"Bearer {ACCESS}"})
            if route.access in (Access.OPEN, Access.OPEN_OR_SELF):
                assert not _refused(status), (str(route), status, body)
            else:  # past the access token, an admin route still wants the admin token
                assert status == 401 and "admin token" in body["message"], (str(route), status, body)


async def test_task_logs_under_job_files_need_the_access_token(manager_factory):
    manager = await manager_factory(access_token=ACCESS)
    _write_job_file(manager)
    status, body = await manager.request("GET", JOB_FILE)
    assert status == 403 and "access token" in body["message"]
    status, _ = await manager.request("HEAD", JOB_FILE)
    assert status == 403
    status, text = await manager.request("GET", JOB_FILE, headers={"Authorization": f"Bearer {ACCESS}"})
    assert status == 200 and text == "line one of a task log\n"
    status, text = await manager.request("GET", JOB_FILE, params={"access_token": ACCESS})
    assert status == 200
    status, _ = await manager.request("GET", "/job-files/no-such-job/task.txt")
    assert status == 403  # unknown files too: nothing to learn without the token


async def test_admin_routes_refuse_without_the_admin_token_when_local_trust_is_off(manager_factory, tmp_path):
    manager = await manager_factory(trust_local_requests=False)
    admin_routes = [r for r in served_routes(_app(manager)) if r.access is Access.ADMIN]
    assert len(admin_routes) >= 15
    for route in admin_routes:
        status, body = await _status(manager, route)
        assert status == 401, (str(route), status, body)
        message = body["message"]
        assert ADMIN_TOKEN_HEADER in message and f"{tmp_path}/{ADMIN_TOKEN_FILENAME}" in message, message
        status, body = await _status(manager, route, headers={ADMIN_TOKEN_HEADER: "not-the-token"})
        assert status == 403 and "not this Manager's" in body["message"], (str(route), status, body)


async def test_admin_routes_accept_the_admin_token(manager_factory, tmp_path):
    manager = await manager_factory(trust_local_requests=False)
    token = read_local_admin_token(tmp_path)
    assert token
    for route in served_routes(_app(manager)):
        if route.access is not Access.ADMIN:
            continue
        status, body = await _status(manager, route, headers={ADMIN_TOKEN_HEADER: token})
        assert not _refused(status), (str(route), status, body)
        # With no access token configured, the bearer slot may carry the admin token too.
        status, body = await _status(manager, route, headers={"authorization": f"bearer {token}"})
        assert not _refused(status), (str(route), status, body)


async def test_open_routes_need_no_token_at_all_when_local_trust_is_off(manager_factory):
    manager = await manager_factory(trust_local_requests=False)
    _write_job_file(manager)
    for route in served_routes(_app(manager)):
        if route.access in (Access.OPEN, Access.OPEN_OR_SELF, Access.PUBLIC):
            status, body = await _status(manager, route)
            assert not _refused(status), (str(route), status, body)


async def test_local_requests_are_admin_when_local_trust_is_on(manager_factory):
    manager = await manager_factory(trust_local_requests=True)
    status, body = await manager.request("POST", "/api/v3/worker-mgt/tags", json={"name": "gpu"})
    assert status == 200, body
    status, _ = await manager.request("DELETE", f"/api/v3/worker-mgt/tag/{body['id']}")
    assert status == 204


async def test_access_and_admin_token_together(manager_factory, tmp_path):
    manager = await manager_factory(access_token=ACCESS, trust_local_requests=False)
    token = read_local_admin_token(tmp_path)
    put = ("PUT", "/api/v3/tablao/variables")
    body = {"variables": {"blender": {"values": [{"platform": "all", "value": "blender"}]}}}
    status, answer = await manager.request(*put, json=body, headers={"Authorization": f"Bearer {ACCESS}"})
    assert status == 401 and "admin token" in answer["message"]
    status, answer = await manager.request(*put, json=body, headers={
        "Authorization": f"Bearer {ACCESS}", ADMIN_TOKEN_HEADER: token})
    assert status == 200, answer
    # The admin token alone passes the access-token check as well (its holder can read the config).
    status, answer = await manager.request(*put, json=body, headers={ADMIN_TOKEN_HEADER: token})
    assert status == 200, answer
    # The bearer slot belongs to the access token here: an admin token there is not the access token.
    status, answer = await manager.request(*put, json=body, headers={"Authorization": f"Bearer {token}"})
    assert status == 403 and "access token" in answer["message"]


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
async def test_bearer_scheme_is_case_insensitive(manager_factory, scheme):
    manager = await manager_factory(access_token=ACCESS)
    status, body = await manager.request("GET", "/api/v3/jobs", headers={"Authorization": f"{scheme} {ACCESS}"})
    assert status == 200, body


async def test_admin_token_is_never_served(manager_factory, tmp_path: Path):
    manager = await manager_factory(access_token=ACCESS)
    token = read_local_admin_token(tmp_path)
    headers = {"Authorization": f"Bearer {ACCESS}", **manager.admin_headers}
    for path in ("/api/v3/configuration/file", "/api/v3/configuration", "/api/v3/tablao/variables"):
        status, body = await manager.request("GET", path, headers=headers)
        assert status == 200 and token not in str(body)
    assert token not in (tmp_path / "flamenco-manager.yaml").read_text()
