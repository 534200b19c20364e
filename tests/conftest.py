"""Shared fixtures: a real Manager on a free 127.0.0.1 port, with its store in a temp folder."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from app.manager.settings.config import ManagerConfig, save_config
from tests import xdist_groups

# Run the Manager and end-to-end tests against PostgreSQL as well as SQLite (CI does, see .ci/run):
#   TABLAO_TEST_POSTGRES=postgresql://user@127.0.0.1:5432/postgres pytest tests/manager tests/e2e
# Every test under tests/manager and tests/e2e that starts a Manager then runs twice, `[sqlite]` and
# `[postgres]`; each Manager on PostgreSQL gets a new database on that server.
TEST_POSTGRES = os.environ.get("TABLAO_TEST_POSTGRES", "")
STORES = ("sqlite", "postgres") if TEST_POSTGRES else ("sqlite",)
_BOTH_STORES_UNDER = ("manager", "e2e", "hub")
_MANAGER_FIXTURES = {"manager", "manager_factory", "farm", "hub_farm"}
_store = {"kind": "sqlite"}  # the store the Managers of the running test use


@pytest.hookimpl(trylast=True)  # after pytest-xdist's own, which names the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, hand out the slow tests first (in their order), then the rest: the long ones
    (the packaging build, the farms) then overlap, and the many short ones fill in at the end. Every
    worker sorts alike, as xdist requires; a run without xdist keeps the files' order. Tests marked
    `xdist_group` share a worker under `--dist loadgroup` (tests/xdist_groups.py)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)
        xdist_groups.restore(config, items)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each Manager-starting test under tests/manager, tests/e2e and tests/hub once per store in STORES."""
    if len(STORES) < 2:
        return
    parts = metafunc.definition.path.relative_to(Path(__file__).parent).parts
    if parts[0] in _BOTH_STORES_UNDER and _MANAGER_FIXTURES & set(metafunc.fixturenames):
        metafunc.parametrize("store_kind", STORES, indirect=True)


#: What the programs keep per user, and the environment variable that moves it: Tablao's config and
#: data folder, what platformdirs and Qt (QSettings) put under XDG folders, and the runtime folder that
#: holds the desktop app's single-instance socket (app/ui/instance.py).
_USER_FOLDERS = {"TABLAO_HOME": "tablao", "XDG_CONFIG_HOME": "config", "XDG_DATA_HOME": "data",
                 "XDG_STATE_HOME": "state", "XDG_RUNTIME_DIR": "runtime"}


_GC_THRESHOLDS = gc.get_threshold()


def _qt_application_made() -> bool:
    widgets = sys.modules.get("PySide6.QtWidgets")
    return widgets is not None and widgets.QApplication.instance() is not None


@pytest.fixture(autouse=True)
def _garbage_freed_on_the_main_thread() -> Iterator[None]:
    """Once this test process has a QApplication (a desktop test ran in it), garbage cycles are freed
    between tests on the main thread, never by a thread of a later test that happens to allocate (a
    Manager's store or job-compiler thread): a cycle still holding a Qt object left by a desktop test,
    freed on such a thread, corrupts Qt's timer lists and crashes the next processEvents (pytest-qt runs
    one after every test). The app itself does the same while it runs (app/ui/gc_guard.py)."""
    yield
    if not _qt_application_made():
        return
    if gc.isenabled():
        gc.disable()  # for the rest of this test process
        gc.collect()
        return
    counts = gc.get_count()
    due = [gen for gen in range(3) if _GC_THRESHOLDS[gen] and counts[gen] > _GC_THRESHOLDS[gen]]
    if due:
        gc.collect(max(due))


@pytest.fixture(autouse=True)
def _own_user_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test (and every program it starts) keeps its per-user files in folders of its own, never in
    the home folder: tests running side by side (pytest-xdist, or another run on the same computer)
    must not share remembered settings, tokens or a desktop app's socket. HOME itself stays, for the
    caches the tests read there (Blender's extension validator, `~/.cache/tablao`)."""
    root = tmp_path_factory.mktemp("user")
    for variable, name in _USER_FOLDERS.items():
        monkeypatch.setenv(variable, str(root / name))
    (root / "runtime").mkdir(mode=0o700)
    return root


@pytest.fixture(autouse=True)
def store_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    """The store this test's Managers use: "sqlite", or "postgres" in its `[postgres]` run."""
    _store["kind"] = getattr(request, "param", "sqlite")
    try:
        yield _store["kind"]
    finally:
        _store["kind"] = "sqlite"


def _test_database(root: Path) -> str:
    """SQLite in `root`, or the PostgreSQL database of `root` (the same one again on a restart)."""
    if _store["kind"] != "postgres":
        return "manager.sqlite"
    import hashlib

    import psycopg2

    name = "tablao_test_" + hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
    conn = psycopg2.connect(TEST_POSTGRES)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return TEST_POSTGRES.rsplit("/", 1)[0] + "/" + name


def make_config(root: Path, **overrides) -> ManagerConfig:
    cfg = ManagerConfig(path=root / "flamenco-manager.yaml", listen="127.0.0.1:0",
                        shared_storage_path=str(root / "shared"), database=_test_database(root),
                        local_manager_storage_path="storage")
    for key, value in overrides.items():
        setattr(cfg, key, value)
    (root / "shared").mkdir(parents=True, exist_ok=True)
    save_config(cfg)
    return cfg


class RunningManager:
    """A Manager running in this process's event loop, reachable over real HTTP."""

    def __init__(self, cfg: ManagerConfig):
        from app.manager.service import ManagerService

        self.cfg = cfg
        self.service = ManagerService(cfg)
        self._task: asyncio.Task | None = None
        self.session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.service.port}"

    @property
    def services(self):
        return self.service.services

    async def start(self) -> RunningManager:
        self._task = asyncio.create_task(self.service.run())
        ready = asyncio.create_task(self.service.ready.wait())
        done, _ = await asyncio.wait({self._task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            ready.cancel()
            self._task.result()  # raises the start-up error
        self.session = aiohttp.ClientSession(self.url)
        return self

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self._task is not None:
            self._task.cancel()
            try:
                async with asyncio.timeout(20):  # shutdown must be bounded: one path, no hangs
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._task
            except TimeoutError:
                raise AssertionError("the Manager did not shut down within 20 s") from None

    @property
    def admin_headers(self) -> dict[str, str]:
        """The header the desktop app sends: the admin token read from the config folder."""
        from app.common.credentials import ADMIN_TOKEN_HEADER

        return {ADMIN_TOKEN_HEADER: self.services.admin_token}

    async def request(self, method: str, path: str, *, admin: bool = False, **kwargs) -> tuple[int, object]:
        """Send a request and return (status, parsed JSON, text, bytes for binary types, or None); `admin`
        adds the admin token."""
        assert self.session is not None
        if admin:
            kwargs["headers"] = {**self.admin_headers, **(kwargs.get("headers") or {})}
        async with self.session.request(method, path, **kwargs) as resp:
            if resp.status == 204:
                return resp.status, None
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            if resp.content_type.startswith(("application/zip", "application/octet-stream", "image/")):
                return resp.status, await resp.read()
            return resp.status, await resp.text()


@pytest.fixture
async def manager(tmp_path: Path) -> AsyncIterator[RunningManager]:
    running = await RunningManager(make_config(tmp_path)).start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def manager_factory(tmp_path: Path):
    """Start Managers on demand (same config dir → same store, for restart tests)."""
    started: list[RunningManager] = []

    async def start(**overrides) -> RunningManager:
        cfg_path = tmp_path / "flamenco-manager.yaml"
        if cfg_path.exists() and not overrides:
            from app.manager.settings.config import load_config
            cfg = load_config(cfg_path)
        else:
            cfg = make_config(tmp_path, **overrides)
        running = await RunningManager(cfg).start()
        started.append(running)
        return running

    yield start
    for running in started:
        await running.stop()


def echo_job(message: str = "hello", repeats: int = 2, **extra) -> dict:
    job = {"name": "echo test", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
           "settings": {"message": message, "sleep_duration_seconds": 0, "sleep_repeats": repeats}}
    job.update(extra)
    return job
