"""A property-based run over the served OpenAPI document against a real Manager (schemathesis).

Schemathesis reads the document the Manager serves and sends, for every operation, requests built
from it: its examples, boundary values of every parameter and body field (the coverage phase) and
random valid and invalid input (the fuzzing phase); then chains of operations linked by the ids
they answer with (the stateful phase). Every check schemathesis has runs on every answer: no server
error; status code, content type, headers and body as documented; schema-valid input accepted and
invalid input refused; a missing required header refused; an undocumented method answered 405 with
an `Allow` header naming the path's own methods; authentication not ignored; a deleted resource
gone. The exceptions, each for named operations and one status with its reason, are in
`schemathesis.toml` at the repository root, which `schemathesis run` reads as well.

Bounded to fit CI (a few examples per operation, a fixed seed so a failure reproduces); set
TABLAO_FUZZ_EXAMPLES to search longer by hand. Left out: the operations that rewrite the Manager's
configuration and restart it (the run would lose its Manager) and the Blender checks (they run
programs; tests/manager covers them with their own inputs).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from app.manager.web.openapi import load_spec, spec_to_json
from tests.conftest import RunningManager, echo_job, make_config

pytestmark = pytest.mark.slow  # a property-based run over the whole API

REPO = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = int(os.environ.get("TABLAO_FUZZ_EXAMPLES", "8"))
LEFT_OUT = ["saveSetupAssistantConfig", "updateConfigurationFile", "checkBlenderExePath", "findBlenderExePath"]


class ManagerInThread:
    """A real Manager in its own event loop on a thread, so the synchronous fuzzer can call it."""

    def __init__(self, root: Path):
        self.cfg = make_config(root)
        # A worker's long poll is held for half this at most (5 s): well inside the fuzzer's 30 s
        # read timeout even on a loaded machine, where half the default 60 s was not.
        self.cfg.worker_timeout = 10.0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzzed-manager", daemon=True)
        self.running: RunningManager | None = None

    def start(self) -> ManagerInThread:
        self.thread.start()
        self.running = asyncio.run_coroutine_threadsafe(RunningManager(self.cfg).start(), self.loop).result(60)
        return self

    @property
    def url(self) -> str:
        assert self.running is not None
        return self.running.url

    def stop(self) -> None:
        if self.running is not None:
            asyncio.run_coroutine_threadsafe(self.running.stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def fuzzed_manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagerInThread]:
    manager = ManagerInThread(tmp_path_factory.mktemp("fuzz")).start()
    try:
        yield manager
    finally:
        manager.stop()


@pytest.fixture(scope="module")
def worker_auth(fuzzed_manager: ManagerInThread) -> dict[str, str]:
    """Some real data for the fuzzer to find (a job and its tasks) and a signed-on worker's credentials."""
    url, secret = fuzzed_manager.url + "/api/v3", secrets.token_hex(16)
    with requests.Session() as http:
        assert http.post(f"{url}/jobs", json=echo_job(), timeout=30).status_code == 200
        worker = http.post(f"{url}/worker/register-worker", timeout=30, json={
            "name": "fuzz", "secret": secret, "platform": "linux", "supported_task_types": ["misc"]}).json()
        token = base64.b64encode(f"{worker['uuid']}:{secret}".encode()).decode()
        auth = {"Authorization": f"Basic {token}"}
        answer = http.post(f"{url}/worker/sign-on", headers=auth, timeout=30,
                           json={"name": "fuzz", "supported_task_types": ["misc"], "software_version": "fuzz"})
        assert answer.status_code == 200, answer.text
    return auth


@pytest.fixture(scope="module")
def served(fuzzed_manager: ManagerInThread,
           worker_auth: dict[str, str]) -> tuple[str, dict[str, str], dict[str, str]]:
    """The Manager's URL, worker credentials and the admin token's header, once it is known to serve
    the document fuzzed here."""
    answer = requests.get(fuzzed_manager.url + "/api/v3/openapi3.json", timeout=30)
    assert answer.status_code == 200 and answer.json() == DOCUMENT
    assert fuzzed_manager.running is not None
    return fuzzed_manager.url, worker_auth, fuzzed_manager.running.admin_headers


# The document as the Manager serves it (the served JSON is this, checked by the `served` fixture):
# loaded here because the generated tests are made when this module is collected.
DOCUMENT = json.loads(spec_to_json(load_spec()))
CONFIG = SchemathesisConfig.from_path(str(REPO / "schemathesis.toml"))
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG).exclude(operation_id=LEFT_OUT)
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def test_the_config_runs_every_check_with_exceptions_only_for_named_operations() -> None:
    """schemathesis.toml may not switch a check off for everything, nor leave an exception behind for
    an operation that no longer exists."""
    raw = tomllib.loads((REPO / "schemathesis.toml").read_text("utf-8"))
    assert raw["checks"] == {"enabled": True}
    ids = {op["operationId"] for item in DOCUMENT["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op}
    for entry in raw["operations"]:
        named = entry["include-operation-id"]
        assert set([named] if isinstance(named, str) else named) <= ids, named
        assert set(entry) == {"include-operation-id", "checks"}, entry  # no whole operation switched off
        for check in entry["checks"].values():
            assert set(check) <= {"enabled", "expected-statuses"}, check


def _headers(path: str, served: tuple[str, dict[str, str], dict[str, str]]) -> dict[str, str]:
    _, worker_auth, admin = served
    return worker_auth if path.startswith(("/api/v3/worker/", "/api/v3/tablao/worker/vitals")) else admin


@schema.parametrize()
@SETTINGS
def test_every_check_on_every_operation(case, served: tuple[str, dict[str, str], dict[str, str]]) -> None:
    # No `checks=`: every check, as schemathesis.toml configures them.
    case.call_and_validate(base_url=served[0], headers=_headers(case.path, served), timeout=30)


def test_every_check_on_linked_operations(served: tuple[str, dict[str, str], dict[str, str]]) -> None:
    """Chains of calls that feed one answer's ids into the next call (a job's id into its tasks, a
    tag's into its deletion), so the checks that need state run too: a deleted resource is gone,
    a created one can be fetched."""

    found: list[str] = []

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case):
            return {"base_url": served[0], "headers": _headers(case.path, served), "timeout": 30}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # Collected, not raised: Hypothesis would replay the failing chain to report it, and a
            # replay against a Manager whose state has moved on draws differently (see below).
            try:
                super().validate_response(response, case, additional_checks, **kwargs)
            except FailureGroup as failures:
                found.append(str(failures))

    # Which step may come next depends on the Manager's answers (the ids it has handed out), so
    # Hypothesis can find a chain drawn differently from an earlier one and stop there, as the
    # schemathesis CLI does; every step up to that point was checked.
    with contextlib.suppress(FlakyStrategyDefinition):
        Workflow.run(settings=settings(SETTINGS, max_examples=max(2, MAX_EXAMPLES // 2), stateful_step_count=6,
                                       phases=[Phase.generate]))
    assert not found, "\n\n".join(found)
