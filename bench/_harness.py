"""Shared bench helpers: a real `tablao manager --headless` subprocess on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ManagerProcess:
    def __init__(self, **config):
        self.tmp = tempfile.TemporaryDirectory(prefix="tablao-bench-")
        root = Path(self.tmp.name)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (root / "shared").mkdir()
        cfg = {"_meta": {"version": 3}, "listen": f"127.0.0.1:{self.port}", "database": "bench.sqlite",
               "shared_storage_path": str(root / "shared"), "local_manager_storage_path": "storage"}
        cfg.update(config)
        self.config_path = root / "flamenco-manager.yaml"
        self.config_path.write_text(yaml.safe_dump(cfg))
        self.root = root
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "app", "manager", "--headless", "--quiet", "--config", str(self.config_path)]

    def __enter__(self) -> ManagerProcess:
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=dict(os.environ),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/v3/version", timeout=1).read()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.proc.stderr.read().decode()) from None
                time.sleep(0.1)
        raise RuntimeError("manager did not start")

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.tmp.cleanup()
