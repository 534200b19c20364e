"""The Manager raises its open-file soft limit to the hard limit at start-up, and says so."""

from __future__ import annotations

import logging

import pytest

from app.manager.runtime.fd_limit import RESERVED_FILES, raise_open_file_limit, workers_allowed

resource = pytest.importorskip("resource")  # not on Windows


def test_soft_limit_raised_to_hard_limit(caplog):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowered = min(soft, 512) if hard == resource.RLIM_INFINITY else min(hard, 512)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
    try:
        with caplog.at_level(logging.INFO, logger="app.manager.runtime.fd_limit"):
            now = raise_open_file_limit()
        assert now == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if hard != resource.RLIM_INFINITY:
            assert now == hard
        assert f"room for about {workers_allowed(now)} workers" in caplog.text
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]), hard))


def test_workers_allowed_leaves_room_for_the_manager_itself():
    assert workers_allowed(1024) == 1024 - RESERVED_FILES
    assert workers_allowed(10) == 0


async def test_manager_start_raises_the_limit(manager_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= 1024:
        pytest.skip("no finite hard limit above the test's lowered one")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    await manager_factory()
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard
