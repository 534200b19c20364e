"""The `tablao` command as a user runs it: a real process, a real port, real config files."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
import yaml

from app.common.credentials import read_local_admin_token

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*args: str, env_home: Path, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "TABLAO_HOME": str(env_home), "HOME": str(env_home)}
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_manager_headless_first_start_writes_config_and_serves(tmp_path):
    port = _free_port()
    env = {"PATH": "/usr/bin:/bin", "TABLAO_HOME": str(tmp_path), "HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "app", "manager", "--headless", "--listen", f"127.0.0.1:{port}"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                body = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v3/version", timeout=1).read())
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "manager did not start"
                time.sleep(0.1)
        assert body["name"]
        config = tmp_path / "flamenco-manager.yaml"
        assert config.exists() and "_meta" in config.read_text()
        assert (tmp_path / "tablao-manager.sqlite").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out


def test_broken_config_gives_a_message_not_a_traceback(tmp_path):
    cfg = tmp_path / "flamenco-manager.yaml"
    cfg.write_text("_meta: {version: 3}\nlisten: [unclosed\n")
    result = _run("manager", "--headless", "--config", str(cfg), env_home=tmp_path)
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr and "Traceback" not in result.stderr


def test_wrong_config_version_and_bad_values(tmp_path):
    cfg = tmp_path / "flamenco-manager.yaml"
    cfg.write_text("_meta: {version: 2}\n")
    result = _run("manager", "--headless", "--config", str(cfg), env_home=tmp_path)
    assert result.returncode == 2 and "version: 3" in result.stderr and "Traceback" not in result.stderr
    cfg.write_text("_meta: {version: 3}\ntask_timeout: soon\n")
    result = _run("manager", "--headless", "--config", str(cfg), env_home=tmp_path)
    assert result.returncode == 2 and "task_timeout" in result.stderr and "Traceback" not in result.stderr


def test_write_config_keeps_existing_values(tmp_path):
    cfg = tmp_path / "m.yaml"
    result = _run("manager", "--headless", "--config", str(cfg), "--write-config", env_home=tmp_path)
    assert result.returncode == 0 and cfg.exists()
    text = cfg.read_text().replace("task_timeout: 10m0s", "task_timeout: 2m0s")
    cfg.write_text(text)
    result = _run("manager", "--headless", "--config", str(cfg), "--write-config", env_home=tmp_path)
    assert result.returncode == 0 and "task_timeout: 2m0s" in cfg.read_text()


def test_core_packages_never_import_qt():
    code = ("import sys, pkgutil, importlib, app\n"
            "for pkg in ('app.api','app.common','app.manager','app.worker','app.shaman'):\n"
            "    mod = importlib.import_module(pkg)\n"
            "    for info in pkgutil.walk_packages(mod.__path__, pkg + '.'):\n"
            "        importlib.import_module(info.name)\n"
            "bad = [m for m in sys.modules if m.startswith(('PySide6','qasync','PyQt'))]\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shaman_gc_dry_run_lists_old_unreferenced_files(tmp_path):
    import os

    shared = tmp_path / "shared"
    blob = shared / "file-store" / "stored" / "ab" / ("c" * 62) / "5.blob"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"hello")
    old = time.time() - 90 * 24 * 3600
    os.utime(blob, (old, old))
    cfg = tmp_path / "flamenco-manager.yaml"
    cfg.write_text(f"_meta: {{version: 3}}\nshared_storage_path: {shared}\nshaman: {{enabled: true}}\n")
    result = _run("manager", "--headless", "--config", str(cfg), "--shaman-gc", "--dry-run", env_home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert str(blob) in result.stdout and "would remove 1 files" in result.stderr
    assert blob.exists()
    result = _run("manager", "--headless", "--config", str(cfg), "--shaman-gc", env_home=tmp_path)
    assert result.returncode == 0 and not blob.exists()


def test_all_in_one_process_runs_a_job(tmp_path):
    """`tablao all`: a Manager and a Worker in one process, as on a solo artist's machine."""
    port = _free_port()
    env = {"PATH": "/usr/bin:/bin", "TABLAO_HOME": str(tmp_path), "HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    proc = subprocess.Popen([sys.executable, "-m", "app", "all", "--headless", "--listen", f"127.0.0.1:{port}",
                             "--name", "solo"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/api/v3"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                workers = json.loads(urllib.request.urlopen(f"{base}/worker-mgt/workers", timeout=1).read())
                if any(w["name"] == "solo" and w["status"] == "awake" for w in workers["workers"]):
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "manager+worker did not come up"
            time.sleep(0.2)
        job = {"name": "solo job", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
               "settings": {"message": "hi", "sleep_duration_seconds": 0, "sleep_repeats": 2}}
        req = urllib.request.Request(f"{base}/jobs", data=json.dumps(job).encode(),
                                     headers={"Content-Type": "application/json"})
        job = json.loads(urllib.request.urlopen(req, timeout=10).read())
        deadline = time.monotonic() + 30
        while json.loads(urllib.request.urlopen(f"{base}/jobs/{job['id']}", timeout=2).read())["status"] != "completed":
            assert time.monotonic() < deadline, "the job did not complete"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-3000:]


def test_setup_assistant_saves_storage_and_blender_then_restarts(tmp_path):
    port = _free_port()
    env = {"PATH": "/usr/bin:/bin", "TABLAO_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "app", "manager", "--headless", "--listen", f"127.0.0.1:{port}"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/api/v3"

    def get(path: str) -> dict:
        return json.loads(urllib.request.urlopen(base + path, timeout=2).read())

    def post(path: str, body: dict) -> int:
        token = read_local_admin_token(tmp_path / "home") or ""
        req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "X-Tablao-Admin-Token": token})
        try:
            return urllib.request.urlopen(req, timeout=10).status
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                first = get("/configuration")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert first["isFirstRun"] is True and first["shamanEnabled"] is False
        missing = {"input": "/opt/blender/blender", "path": "/opt/blender/blender", "source": "input_path",
                   "is_usable": True, "cause": ""}
        fake = tmp_path / "opt" / "blender" / "blender"  # a Blender as far as `--version` tells
        fake.parent.mkdir(parents=True)
        fake.write_text("#!/bin/sh\necho 'Blender 4.2.0'\n")
        fake.chmod(0o755)
        blender = {**missing, "input": str(fake), "path": str(fake)}
        assert post("/configuration/setup-assistant",
                    {"storageLocation": str(tmp_path / "missing"), "blenderExecutable": blender}) == 400
        shared = tmp_path / "shared"
        shared.mkdir()
        assert post("/configuration/setup-assistant",  # its own check refuses a missing Blender
                    {"storageLocation": str(shared), "blenderExecutable": missing}) == 400
        assert post("/configuration/setup-assistant",
                    {"storageLocation": str(shared), "blenderExecutable": blender}) == 204
        deadline = time.monotonic() + 30
        while True:
            try:
                after = get("/configuration")
                if not after["isFirstRun"]:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the manager did not come back"
            time.sleep(0.1)
        assert after["storageLocation"] == str(shared) and after["shamanEnabled"] is True
        variables = get("/configuration/variables/workers/windows")
        assert variables["blender"]["value"] == str(fake)
        saved = yaml.safe_load((tmp_path / "home" / "flamenco-manager.yaml").read_text())
        assert str(fake) in json.dumps(saved)
        assert saved["listen"] == ":8080", "--listen is for this run; the file keeps its own address"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-3000:]


@pytest.mark.slow  # over 2 s
def test_unusable_database_gives_a_message_not_a_traceback(tmp_path):
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"this is not an SQLite file, it is a text file with a wrong name\n" * 100)
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    cases = {
        "damaged.sqlite": "file is not a database",
        str(blocked / "manager.sqlite"): "a-file",  # its folder would have to be inside a file
        "postgresql://farm@127.0.0.1:9/tablao": "cannot open the database postgresql://farm@127.0.0.1:9/tablao",
    }
    for command in ("manager", "all"):
        for database, fragment in cases.items():
            cfg = tmp_path / "flamenco-manager.yaml"
            cfg.write_text(f"_meta: {{version: 3}}\nlisten: 127.0.0.1:{_free_port()}\ndatabase: '{database}'\n")
            result = _run(command, "--headless", "--config", str(cfg), env_home=tmp_path)
            assert result.returncode == 2, (command, database, result.stderr)
            assert "Traceback" not in result.stderr, result.stderr
            assert fragment in result.stderr and "check `database:`" in result.stderr.lower()
    assert damaged.read_bytes().startswith(b"this is not an SQLite file")  # left as it was


def test_a_busy_port_is_one_line_and_exit_code_2(tmp_path):
    with socket.socket() as held:  # another program on the port (127.0.0.1 blocks the wildcard too)
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        for command in ("manager", "all"):
            result = _run(command, "--headless", "--listen", f":{port}", env_home=tmp_path / command)
            assert result.returncode == 2, result.stderr
            errors = [line for line in result.stderr.splitlines() if " INFO " not in line]
            holder = f"{psutil.Process().name()} (pid {os.getpid()})"
            assert errors == [f"tablao: port {port} is in use by {holder}; "
                              "start with --listen :PORT or stop the other program"], result.stderr
