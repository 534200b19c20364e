"""The connection and event-stream limits in the Manager's config, and the cap's arithmetic."""

from __future__ import annotations

from pathlib import Path

from app.manager.config import ManagerConfig, load_config, save_config
from app.manager.web.connection_guard import connection_cap


def test_limits_default_and_round_trip_through_the_config_file(tmp_path: Path):
    path = tmp_path / "flamenco-manager.yaml"
    save_config(ManagerConfig(path=path))
    text = path.read_text()
    assert "http_" not in text and "events_" not in text  # defaults stay out of the file
    cfg = load_config(path)
    assert (cfg.http_idle_timeout, cfg.http_header_timeout, cfg.http_body_timeout) == (75.0, 30.0, 60.0)
    assert cfg.http_max_connections == 0 and cfg.events_max_queued_bytes == 8 * 1024 * 1024
    cfg.http_header_timeout, cfg.http_max_connections, cfg.events_max_queued_bytes = 10.0, 500, 1024
    save_config(cfg)
    again = load_config(path)
    assert (again.http_header_timeout, again.http_max_connections, again.events_max_queued_bytes) == (10.0, 500, 1024)


def test_the_cap_leaves_descriptors_for_files_and_the_database():
    assert connection_cap(0, 1024) == 1024 - 102
    assert connection_cap(0, 1_048_576) == 1_048_576 - 1024
    assert connection_cap(100, 1024) == 100
    assert connection_cap(5000, 1024) == 1024 - 102  # a configured cap cannot pass the limit
