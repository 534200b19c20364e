"""WorkerConfig loading and the credentials file."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from app.worker.config import (
    ConfigError,
    Credentials,
    WorkerConfig,
    load_credentials,
    save_credentials,
)


def test_defaults_without_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TABLAO_WORKER_NAME", raising=False)
    monkeypatch.delenv("FLAMENCO_WORKER_NAME", raising=False)
    monkeypatch.setattr("app.worker.config.default_config_path", lambda: tmp_path / "absent.yaml")
    cfg = WorkerConfig.load()
    assert cfg.task_types == ["blender", "ffmpeg", "file-management", "misc"]
    assert cfg.restart_exit_code == 0 and not cfg.can_restart
    assert cfg.worker_name
    assert cfg.data_dir.name == "tablao"
    assert cfg.credentials_path == cfg.data_dir / "tablao-worker-credentials.yaml"
    assert cfg.queue_db_path == cfg.data_dir / "tablao-worker-queue.sqlite"


def test_worker_name_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLAO_WORKER_NAME", raising=False)
    monkeypatch.setenv("FLAMENCO_WORKER_NAME", "flamenco-name")
    assert WorkerConfig().worker_name == "flamenco-name"
    monkeypatch.setenv("TABLAO_WORKER_NAME", "tablao-name")
    assert WorkerConfig().worker_name == "tablao-name"


def test_yaml_file_overlays_defaults_and_overrides_win(tmp_path: Path) -> None:
    path = tmp_path / "flamenco-worker.yaml"
    path.write_text(
        "worker_name: render-01\n"
        "manager_url: 192.168.1.5:8080/\n"
        "task_types: [Blender, ' ffmpeg ']\n"
        "restart_exit_code: 47\n"
        f"data_dir: {tmp_path / 'data'}\n"
        "oom_score_adjust: 500\n"  # a Flamenco setting we do not use: tolerated
    )
    cfg = WorkerConfig.load(path, worker_name="cli-name", manager_url=None)
    assert cfg.worker_name == "cli-name"
    assert cfg.manager_url == "http://192.168.1.5:8080"
    assert cfg.task_types == ["blender", "ffmpeg"]
    assert cfg.restart_exit_code == 47 and cfg.can_restart
    assert cfg.data_dir == tmp_path / "data"


def test_https_url_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("manager_url: https://farm.example:8443\n")
    assert WorkerConfig.load(path).manager_url == "https://farm.example:8443"


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        WorkerConfig.load(tmp_path / "nope.yaml")


def test_broken_yaml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("worker_name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        WorkerConfig.load(path)


@pytest.mark.parametrize(
    "text, key",
    [
        ("restart_exit_code: lots\n", "restart_exit_code"),
        ("task_types: 5\n", "task_types"),
        ("oom_score_adjust: 2000\n", "oom_score_adjust"),
        ("oom_score_adjust: high\n", "oom_score_adjust"),
        ("- just\n- a list\n", "mapping"),
    ],
)
def test_wrong_types_are_clear_errors(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=key):
        WorkerConfig.load(path)


def test_unknown_override_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown worker setting"):
        WorkerConfig.load(None, colour="blue")


def test_to_yaml_round_trips(tmp_path: Path) -> None:
    cfg = WorkerConfig(worker_name="w", manager_url="http://m:8080", data_dir=tmp_path)
    path = tmp_path / "w.yaml"
    path.write_text(cfg.to_yaml())
    assert WorkerConfig.load(path) == cfg


def test_credentials_round_trip_with_private_permissions(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "tablao-worker-credentials.yaml"
    assert load_credentials(path) is None
    save_credentials(path, Credentials("worker-uuid", "s3cret"))
    assert load_credentials(path) == Credentials("worker-uuid", "s3cret")
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_the_managers_key_and_address_are_kept_with_the_credentials(tmp_path: Path) -> None:
    path = tmp_path / "creds.yaml"
    creds = Credentials("worker-uuid", "s3cret", manager_key="ab" * 32, manager_url="http://farm:8080")
    save_credentials(path, creds)
    assert load_credentials(path) == creds
    path.write_text("worker_id: w\nworker_secret: s\nmanager_key: not-a-key\nmanager_url: 7\n")
    assert load_credentials(path) == Credentials("w", "s")  # a malformed key comes again at sign-on


def test_unusable_credentials_mean_none(tmp_path: Path) -> None:
    path = tmp_path / "creds.yaml"
    path.write_text("worker_id: only-the-id\n")
    assert load_credentials(path) is None
    path.write_text(": : :\n")
    assert load_credentials(path) is None


def test_flamenco_oom_score_adjust_is_read(tmp_path: Path) -> None:
    path = tmp_path / "flamenco-worker.yaml"
    path.write_text("manager_url: m:8080\noom_score_adjust: 500\n")
    assert WorkerConfig.load(path).oom_score_adjust == 500
    assert WorkerConfig(data_dir=tmp_path).oom_score_adjust is None
