"""The connection, event-stream and picture limits in the Manager's config, and the cap's arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.manager.settings.config import ConfigError, ManagerConfig, load_config, save_config
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


def test_the_pixel_limit_is_optional_in_the_config_file(tmp_path: Path):
    path = tmp_path / "flamenco-manager.yaml"
    save_config(ManagerConfig(path=path))
    assert "last_rendered_max_pixels" not in path.read_text()
    cfg = load_config(path)
    assert cfg.last_rendered_max_pixels == 40_000_000 >= 7680 * 4320
    cfg.last_rendered_max_pixels = 8192 * 8192
    save_config(cfg)
    assert "last_rendered_max_pixels: 67108864" in path.read_text()
    assert load_config(path).last_rendered_max_pixels == 67_108_864


@pytest.mark.parametrize("value", [0, -1, "lots", True])
def test_a_pixel_limit_that_is_not_a_positive_whole_number_is_refused_in_words(tmp_path: Path, value):
    path = tmp_path / "flamenco-manager.yaml"
    path.write_text(f"_meta: {{version: 3}}\nlast_rendered_max_pixels: {value}\n")
    with pytest.raises(ConfigError, match="last_rendered_max_pixels.*whole number >= 1"):
        load_config(path)
