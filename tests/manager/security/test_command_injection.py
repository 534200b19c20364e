"""Command injection: no endpoint that takes a path or a program runs what a client typed.

Every payload below, sent to every such endpoint of a real Manager, would create a marker file if
any part of it reached a shell or was split into a program and its arguments. The markers never
appear. The Blender check itself still runs one real executable file with `--version`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

BLENDER_CHECK = "/api/v3/configuration/check/blender"
STORAGE_CHECKS = ("/api/v3/configuration/check/shared-storage", "/api/v3/tablao/storage-check")
SETUP = "/api/v3/configuration/setup-assistant"


def payloads(marker: Path, script: Path) -> list[str]:
    """Ways to run `touch marker` if a path were handed to a shell or split into arguments."""
    m = str(marker)
    return [
        f'sh -c "touch {m}"',
        f'/bin/sh -c "touch {m}"',
        f"touch {m}",
        f"/usr/bin/env touch {m}",
        f'"/bin/touch" "{m}"',
        f"$(touch {m})",
        f"`touch {m}`",
        f"blender; touch {m}",
        f"blender && touch {m}",
        f"blender | touch {m}",
        f"blender\ntouch {m}",
        f"blender\x00touch {m}",
        f"blender --python-expr \"import pathlib; pathlib.Path('{m}').touch()\"",
        f"{script} {m}",  # an existing executable that touches its first argument
        f"{script.parent}/*.sh {m}",
        str(script.with_name("not-executable.sh")),  # a script without the executable bit
    ]


@pytest.fixture
def attack(tmp_path: Path) -> tuple[Path, list[str]]:
    marker = tmp_path / "markers" / "pwned"
    marker.parent.mkdir()
    script = tmp_path / "bin" / "touch-arg.sh"
    script.parent.mkdir()
    script.write_text('#!/bin/sh\ntouch "$1"\n')
    script.chmod(0o755)
    quiet = script.with_name("not-executable.sh")
    quiet.write_text(f'#!/bin/sh\ntouch "{marker}"\n')
    quiet.chmod(0o644)
    return marker, payloads(marker, script)


async def test_no_payload_runs_through_any_path_or_program_endpoint(manager, tmp_path, attack):
    marker, texts = attack
    config_before = manager.cfg.path.read_text()
    for text in texts:
        status, body = await manager.request("POST", BLENDER_CHECK, json={"path": text}, admin=True)
        assert _refused(status, body), (text, body)
        for path in STORAGE_CHECKS:
            status, body = await manager.request("POST", path, json={"path": text}, admin=True)
            assert _refused(status, body), (path, text, body)
        for source in ("input_path", "path_envvar", "system_location"):
            blender = {"input": text, "path": text, "source": source, "is_usable": True, "cause": ""}
            status, body = await manager.request("POST", SETUP, json={
                "storageLocation": str(tmp_path / "shared"), "blenderExecutable": blender}, admin=True)
            assert status == 400 and "Blender" in body["message"], (source, text, body)
            status, body = await manager.request("POST", SETUP, json={
                "storageLocation": text, "blenderExecutable": {"source": "default"}}, admin=True)
            assert status == 400 and "storage" in body["message"], (text, body)
    await asyncio.sleep(0.2)  # anything started in the background would have touched it by now
    assert not marker.exists()
    assert list(marker.parent.iterdir()) == []
    assert manager.cfg.path.read_text() == config_before  # the setup assistant saved nothing


@pytest.mark.slow  # over 2 s
async def test_saving_variables_runs_nothing_on_the_manager(manager, attack):
    marker, texts = attack
    for text in texts[:6]:
        new = {"blender": {"values": [{"platform": "linux", "value": text.replace("\x00", "")}]}}
        status, _ = await manager.request("PUT", "/api/v3/tablao/variables", json={"variables": new}, admin=True)
        assert status in (200, 400)
        status, _ = await manager.request("GET", BLENDER_CHECK, admin=True)  # finding Blender uses PATH only
        assert status == 200
    assert not marker.exists()


@pytest.mark.parametrize("text, cause", [
    ("", "no path"),
    ("   ", "no path"),
    ("/no/such/blender", "not found"),
    ("no-such-blender-anywhere", "not found on PATH"),
    ("relative/blender", "not an absolute path"),
    ("/tmp\x00/blender", "control characters"),
    ("/tmp/\nblender", "control characters"),
    ("/" + "b" * 5000, "longer than 4096 bytes"),
    ("/" + "b" * 300, "not found"),
])
async def test_blender_check_refuses_what_is_no_executable_file(manager, text, cause):
    status, body = await manager.request("POST", BLENDER_CHECK, json={"path": text}, admin=True)
    assert status == 200 and body["is_usable"] is False, body
    assert cause in body["cause"] and len(body["cause"]) < 600


def _refused(status: int, body: dict) -> bool:
    """A check refuses a path either as a usable-false answer with a cause, or as a 400 in words
    (text no path can hold, such as NUL or a lone surrogate, is refused as bad input)."""
    if status == 200:
        return body["is_usable"] is False and bool(body["cause"])
    return status == 400 and bool(body.get("message"))


async def test_blender_check_refuses_text_no_file_name_can_hold(manager):
    status, body = await manager.request("POST", BLENDER_CHECK, data='{"path": "/\\ud800"}',
                                         headers={"Content-Type": "application/json"}, admin=True)
    assert status == 400 and "surrogate" in body["message"], body


async def test_blender_check_refuses_folders_and_non_executables(manager, tmp_path):
    plain = tmp_path / "blender.txt"
    plain.write_text("Blender 4.2.0\n")
    for path, cause in ((tmp_path, "is not a file"), (plain, "not an executable file")):
        status, body = await manager.request("POST", BLENDER_CHECK, json={"path": str(path)}, admin=True)
        assert status == 200 and body["is_usable"] is False and cause in body["cause"], body
    for bad in (None, 7, ["blender"], {"path": "x"}):
        status, body = await manager.request("POST", BLENDER_CHECK, json={"path": bad}, admin=True)
        assert status == 400 and "path" in body["message"]


async def test_blender_check_runs_the_one_file_with_only_version(manager, tmp_path):
    args_file = tmp_path / "args.txt"
    fake = tmp_path / "with space" / "blender"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" > "{args_file}"\necho "Blender 4.2.0"\n')
    fake.chmod(0o755)
    for text in (str(fake), f'"{fake}"', f"  {fake}  "):
        status, body = await manager.request("POST", BLENDER_CHECK, json={"path": text}, admin=True)
        assert status == 200 and body["is_usable"] is True and body["cause"] == "Blender 4.2.0", body
        assert body["path"] == str(fake)
        assert args_file.read_text() == "--version\n"


async def test_blender_check_stops_a_hanging_program_and_what_it_started(manager, tmp_path, monkeypatch):
    from app.manager.checks import blender_check
    monkeypatch.setattr(blender_check, "VERSION_TIMEOUT_S", 0.5)
    pid_file = tmp_path / "child.pid"
    hang = tmp_path / "hang"
    hang.write_text(f'#!/bin/sh\nsleep 600 &\necho $! > "{pid_file}"\nwait\n')
    hang.chmod(0o755)
    status, body = await manager.request("POST", BLENDER_CHECK, json={"path": str(hang)}, admin=True)
    assert status == 200 and body["is_usable"] is False and "did not finish" in body["cause"]
    child = int(pid_file.read_text())
    for _ in range(200):
        if not _alive(child):
            break
        await asyncio.sleep(0.05)
    assert not _alive(child), "the check left the program's child running"


async def test_blender_check_reads_a_bounded_amount_of_output(manager, tmp_path):
    noisy = tmp_path / "noisy"
    noisy.write_text("#!/bin/sh\nexec yes 'not blender'\n")
    noisy.chmod(0o755)
    status, body = await manager.request("POST", BLENDER_CHECK, json={"path": str(noisy)}, admin=True)
    assert status == 200 and body["is_usable"] is False and "does not look like Blender" in body["cause"]


@pytest.mark.skipif(not shutil.which("blender"), reason="needs a blender on PATH")
async def test_finding_blender_on_path_and_in_usual_places_still_works(manager):
    status, body = await manager.request("POST", BLENDER_CHECK, json={"path": "blender"}, admin=True)
    assert status == 200 and body["is_usable"] is True and body["cause"].startswith("Blender ")
    assert os.path.isabs(body["path"])
    status, found = await manager.request("GET", BLENDER_CHECK, admin=True)
    assert status == 200 and any(c["is_usable"] and c["source"] == "path_envvar" for c in found)


async def test_setup_assistant_refuses_what_its_check_refused(manager, tmp_path):
    config_before = manager.cfg.path.read_text()
    not_blender = tmp_path / "not-blender"
    not_blender.write_text("#!/bin/sh\necho hello\n")
    not_blender.chmod(0o755)
    for path, cause in (("/opt/nowhere/blender", "not found"), (str(not_blender), "does not look like Blender"),
                        (str(tmp_path), "is not a file")):
        blender = {"input": path, "path": path, "source": "input_path", "is_usable": True, "cause": ""}
        status, body = await manager.request("POST", SETUP, json={
            "storageLocation": str(tmp_path / "shared"), "blenderExecutable": blender}, admin=True)
        assert status == 400 and cause in body["message"], body
    status, body = await manager.request("POST", SETUP, json={
        "storageLocation": "/tmp/\x00x", "blenderExecutable": {"source": "default"}}, admin=True)
    assert status == 400 and "control characters" in body["message"]
    assert manager.cfg.path.read_text() == config_before


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has ended; only its parent has not reaped it yet
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False
