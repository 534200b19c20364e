"""The admin token file, local trust by peer address, and `ManagerClient` sending the admin token."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from unittest import mock

import pytest
from aiohttp.test_utils import make_mocked_request

from app.api.client import ManagerClient
from app.api.errors import ApiError
from app.api.meta import TablaoVariable, TablaoVariableValue
from app.common.credentials import ADMIN_TOKEN_FILENAME, read_local_admin_token
from app.manager.credentials.admin_token import ensure_admin_token
from app.manager.settings.config import ManagerConfig, config_from_dict, config_to_dict
from app.manager.web.access import is_local_peer

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def test_admin_token_is_made_once_and_kept(tmp_path: Path):
    token = ensure_admin_token(tmp_path)
    assert len(token) >= 40
    assert ensure_admin_token(tmp_path) == token
    assert read_local_admin_token(tmp_path) == token


@posix_only
def test_admin_token_file_is_private_and_loosened_modes_are_tightened(tmp_path: Path):
    ensure_admin_token(tmp_path)
    path = tmp_path / ADMIN_TOKEN_FILENAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    ensure_admin_token(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_empty_admin_token_file_gets_a_new_token(tmp_path: Path):
    (tmp_path / ADMIN_TOKEN_FILENAME).write_text("\n")
    assert ensure_admin_token(tmp_path)


def test_an_unwritable_config_folder_means_no_remote_admin_not_a_crash(tmp_path: Path, caplog):
    # A "folder" that is a regular file cannot hold the token for any user, root included (CI runs
    # as root, where a read-only mode would not stop the write).
    folder = tmp_path / "not-a-folder"
    folder.write_text("x")
    assert ensure_admin_token(folder) == ""
    assert "admin token file" in caplog.text


async def test_manager_makes_its_admin_token_on_first_start(manager, tmp_path: Path):
    token = read_local_admin_token(tmp_path)
    assert token and manager.services.admin_token == token


async def test_admin_token_survives_a_restart(manager_factory, tmp_path: Path):
    first = await manager_factory()
    token = first.services.admin_token
    await first.stop()
    second = await manager_factory()
    assert second.services.admin_token == token


def test_local_trust_setting_round_trips_and_defaults_off():
    assert not ManagerConfig().trust_local_requests
    assert "trust_local_requests" not in config_to_dict(ManagerConfig())
    raw = config_to_dict(ManagerConfig(trust_local_requests=True))
    assert raw["trust_local_requests"] is True
    assert config_from_dict(raw, None).trust_local_requests is True
    with pytest.raises(Exception, match="true or false"):
        config_from_dict({**raw, "trust_local_requests": "no"}, None)


def _request_from(peer, headers=None):
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: peer if name == "peername" else default
    return make_mocked_request("GET", "/api/v3/jobs", headers=headers or {}, transport=transport)


@pytest.mark.parametrize("peer, local", [
    (("127.0.0.1", 5000), True),
    (("127.8.9.10", 5000), True),
    (("::1", 5000, 0, 0), True),
    (("::ffff:127.0.0.1", 5000, 0, 0), True),
    (("192.168.1.20", 5000), False),
    (("10.0.0.1", 5000), False),
    (("::ffff:192.168.1.20", 5000, 0, 0), False),
    (None, False),
    ("", False),
])
def test_local_peer_is_decided_by_the_tcp_peer_address(peer, local):
    assert is_local_peer(_request_from(peer)) is local


def test_forwarded_headers_do_not_make_a_remote_peer_local():
    headers = {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1"}
    assert not is_local_peer(_request_from(("192.168.1.20", 5000), headers))


async def test_manager_client_sends_the_admin_token(manager_factory, tmp_path: Path):
    manager = await manager_factory(trust_local_requests=False)
    variables = {"blender": TablaoVariable([TablaoVariableValue("blender", platform="all")])}
    async with ManagerClient(manager.url) as client:
        with pytest.raises(ApiError) as info:
            await client.set_variables(variables)
        assert info.value.status == 401 and ADMIN_TOKEN_FILENAME in info.value.message
        assert (await client.version()).name  # reading needs nothing
    async with ManagerClient(manager.url, admin_token=read_local_admin_token(tmp_path) or "") as client:
        await client.set_variables(variables)


async def test_manager_client_sends_both_tokens(manager_factory, tmp_path: Path):
    manager = await manager_factory(trust_local_requests=False, access_token="tok")
    token = read_local_admin_token(tmp_path) or ""
    async with ManagerClient(manager.url, access_token="tok", admin_token=token) as client:
        variables = {"blender": TablaoVariable([TablaoVariableValue("blender", platform="all")])}
        await client.set_variables(variables)
        assert "jobs" in await client.request("GET", "/api/v3/jobs")
