"""The Manager's key for each worker and its proof, on a real Manager: what a worker relies on before
it sends credentials to a Manager at a new address, and what an attacker can get out of the route."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.api.transport import basic_auth
from app.common import manager_proof
from app.manager.credentials.worker_keys import SECRET_FILENAME, WorkerKeys

SECRET = "c" * 64
PROVE = manager_proof.PROVE_PATH


async def _register(manager, name: str = "keyed") -> dict:
    status, body = await manager.request("POST", "/api/v3/worker/register-worker", json={
        "name": name, "secret": SECRET, "platform": "linux", "supported_task_types": ["misc"]})
    assert status == 200, body
    return body


async def _sign_on(manager, worker_id: str) -> dict:
    status, body = await manager.request("POST", "/api/v3/worker/sign-on", json={
        "name": "keyed", "supported_task_types": ["misc"], "software_version": "test"},
        headers={"Authorization": basic_auth(worker_id, SECRET)})
    assert status == 200, body
    return body


async def _prove(manager, body: object, headers: dict | None = None) -> tuple[int, object]:
    return await manager.request("POST", PROVE, json=body, headers=headers or {})


async def test_registration_and_sign_on_give_the_worker_its_key_which_survives_a_restart(manager_factory,
                                                                                          tmp_path: Path):
    manager = await manager_factory()
    registered = await _register(manager)
    key = registered[manager_proof.KEY_FIELD]
    assert manager_proof.valid_key(key)
    signed_on = await _sign_on(manager, registered["uuid"])
    assert signed_on[manager_proof.KEY_FIELD] == key and signed_on["status_requested"]
    other = await _register(manager, "another")
    assert other[manager_proof.KEY_FIELD] != key  # one key per worker: one cannot speak for another

    secret_file = tmp_path / SECRET_FILENAME
    assert secret_file.read_text().strip()
    if os.name == "posix":
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    await manager.stop()
    again = await manager_factory()
    assert (await _sign_on(again, registered["uuid"]))[manager_proof.KEY_FIELD] == key


async def test_the_proof_is_made_with_the_workers_key_for_the_host_it_was_asked_at(manager):
    registered = await _register(manager)
    key, worker_id = registered[manager_proof.KEY_FIELD], registered["uuid"]
    nonce = manager_proof.new_nonce()
    host = manager_proof.host_of(manager.url)
    status, body = await _prove(manager, {"worker_id": worker_id, "nonce": nonce})
    assert status == 200, body
    assert body == {"proof": manager_proof.proof(key, nonce, host)}
    # The same challenge sent under a name that is not the Manager's (a relay's) gets no proof at all...
    status, relayed = await _prove(manager, {"worker_id": worker_id, "nonce": nonce},
                                   headers={"Host": "impostor.example:8080"})
    assert status == 421, relayed
    # ... and under another of its own names, the proof is for that name only.
    other = f"localhost:{manager.service.port}"
    status, named = await _prove(manager, {"worker_id": worker_id, "nonce": nonce}, headers={"Host": other})
    assert status == 200 and named["proof"] == manager_proof.proof(key, nonce, other) != body["proof"]
    assert manager_proof.proof(key, manager_proof.new_nonce(), host) != body["proof"]


async def test_abusing_the_proof_route_gets_clear_refusals_that_reveal_nothing(manager):
    registered = await _register(manager)
    nonce = manager_proof.new_nonce()
    status, body = await _prove(manager, {"worker_id": "4b3f1d86-2c0c-4c47-9d4c-8f3bb0a3f0ac", "nonce": nonce})
    assert status == 404 and body["message"] == "this Manager has no such worker", body
    for bad in ({"worker_id": registered["uuid"]}, {"worker_id": registered["uuid"], "nonce": "short"},
                {"worker_id": registered["uuid"], "nonce": nonce.upper()},
                {"worker_id": registered["uuid"], "nonce": 7}, {"nonce": nonce},
                {"worker_id": "x" * 10_00, "nonce": nonce}, [nonce]):
        status, body = await _prove(manager, bad)
        assert status in (400, 413) and body["message"], (bad, status, body)
        assert "proof" not in body
    for bad, field in (({"worker_id": registered["uuid"]}, "nonce"), ({"nonce": nonce}, "worker_id"),
                       ({"worker_id": registered["uuid"], "nonce": 7}, "nonce"),
                       ({"worker_id": 7, "nonce": nonce}, "worker_id")):
        status, body = await _prove(manager, bad)
        assert status == 400 and f"`{field}`" in body["message"], (bad, status, body)
    status, body = await manager.request("POST", PROVE, data=b"{" + b" " * 4096 + b"}",
                                         headers={"Content-Type": "application/json"})
    assert status == 413 and body["message"], body


async def test_the_proof_needs_no_token_when_the_manager_has_an_access_token(manager_factory):
    manager = await manager_factory(access_token="s3cret-access", trust_local_requests=False)
    registered = await _register(manager)
    status, body = await _prove(manager, {"worker_id": registered["uuid"], "nonce": manager_proof.new_nonce()})
    assert status == 200 and manager_proof.valid_key(body["proof"]), body


@pytest.mark.parametrize("a,b,same", [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/", True),
    ("http://Farm:8080", "http://farm:8080", True),
    ("http://farm:8080", "http://farm:8081", False),
    ("http://farm:8080", "https://farm:8080", False),
    ("http://127.0.0.1:8080", "http://localhost:8080", False),  # another name: prove it
])
def test_which_addresses_count_as_the_same(a, b, same):
    assert manager_proof.same_address(a, b) is same


def test_an_unwritable_secret_file_means_keys_for_this_run_only_not_a_crash(tmp_path: Path, caplog):
    folder = tmp_path / "not-a-folder"
    folder.write_text("x")  # a file cannot hold the secret for any user, root included
    keys = WorkerKeys.kept_in(folder)
    assert manager_proof.valid_key(keys.key_for("w")) and "manager secret file" in caplog.text
    assert WorkerKeys.kept_in(folder).key_for("w") != keys.key_for("w")
    kept = WorkerKeys.kept_in(tmp_path)
    assert WorkerKeys.kept_in(tmp_path).key_for("w") == kept.key_for("w")
