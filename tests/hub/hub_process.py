"""`tablao hub` as a real subprocess, for the tests that kill it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from app.manager.settings.config import ManagerConfig, save_config

ROOT = Path(__file__).resolve().parents[2]


def write_hub_config(root: Path, port: int, sites: tuple[str, ...] = ("A", "B")) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "HUB.yaml"
    save_config(ManagerConfig(path=path, listen=f"127.0.0.1:{port}", database="hub.sqlite",
                              local_manager_storage_path="storage", extra={"sites": list(sites)}))
    return path


def tablao_hub(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "hub", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def add_site(config: Path, name: str) -> str:
    """The join token `tablao hub add-site` prints as the last word of its output."""
    done = tablao_hub("add-site", name, "--config", str(config))
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


class HubProcess:
    def __init__(self, config: Path):
        self.config, self.log_path = config, config.parent / "hub.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> HubProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app", "hub", "--headless", "--config", str(self.config)], cwd=ROOT,
                env=dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT)), stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill9()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
