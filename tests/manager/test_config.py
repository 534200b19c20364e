"""ManagerConfig: defaults, the flamenco-manager.yaml layout, and messages for broken files."""

from __future__ import annotations

import pytest

from app.manager.settings.config import ConfigError, ManagerConfig, load_config, parse_listen, save_config


def test_missing_file_is_written_with_defaults(tmp_path):
    path = tmp_path / "flamenco-manager.yaml"
    cfg = load_config(path)
    assert path.exists() and cfg.task_timeout == 600 and cfg.worker_timeout == 60
    again = load_config(path)
    assert again.variables == cfg.variables and again.listen == cfg.listen


def test_flamenco_layout_loads(tmp_path):
    path = tmp_path / "flamenco-manager.yaml"
    path.write_text("""
_meta: {version: 3}
manager_name: Studio
database: flamenco-manager.sqlite
listen: :8080
shared_storage_path: /srv/shared
shaman: {enabled: true, garbageCollect: {period: 24h0m0s, maxAge: 744h0m0s}}
task_timeout: 10m0s
worker_timeout: 1m0s
blocklist_threshold: 3
task_fail_after_softfail_count: 3
mqtt: {client: {enabled: false}}
variables:
  blender: {values: [{platform: linux, value: blender}]}
""")
    cfg = load_config(path)
    assert cfg.manager_name == "Studio" and cfg.shaman_gc_max_age == 744 * 3600
    assert cfg.database_url == f"sqlite:///{tmp_path / 'flamenco-manager.sqlite'}"
    save_config(cfg)
    assert "mqtt" in path.read_text()  # unknown keys survive a save


def test_database_url_passthrough(tmp_path):
    cfg = ManagerConfig(path=tmp_path / "x.yaml", database="postgresql://farm@db/tablao")
    assert cfg.database_url == "postgresql://farm@db/tablao"


@pytest.mark.parametrize("text,fragment", [
    ("_meta: {version: 3}\nblocklist_threshold: many\n", "blocklist_threshold"),
    ("_meta: {version: 3}\nworker_timeout: 5 minutes\n", "worker_timeout"),
    ("_meta: {version: 3}\nlisten: 'host:port'\n", "listen"),
    ("_meta: {version: 3}\nautodiscovery_port: 70000\n", "autodiscovery_port"),
    ("_meta: {version: 3}\nautodiscovery_port: 'ssdp'\n", "autodiscovery_port"),
    ("- a list\n", "mapping"),
    ("manager_name: x\n", "version"),
])
def test_broken_values_name_the_setting(tmp_path, text, fragment):
    path = tmp_path / "flamenco-manager.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment):
        load_config(path)


def test_parse_listen():
    assert parse_listen(":8080") == ("0.0.0.0", 8080)
    assert parse_listen("127.0.0.1:0") == ("127.0.0.1", 0)
    with pytest.raises(ConfigError):
        parse_listen("127.0.0.1:99999")


def test_shaman_link_mode_and_stale_upload_age_round_trip(tmp_path):
    path = tmp_path / "flamenco-manager.yaml"
    save_config(ManagerConfig(path=path))
    assert "linkMode" not in path.read_text()  # defaults keep the file Flamenco-shaped
    path.write_text("_meta: {version: 3}\nshaman: {enabled: true, linkMode: Copy, staleUploadAge: 2h0m0s}\n")
    cfg = load_config(path)
    assert (cfg.shaman_link_mode, cfg.shaman_stale_upload_age) == ("copy", 7200)
    save_config(cfg)
    again = load_config(path)
    assert (again.shaman_link_mode, again.shaman_stale_upload_age) == ("copy", 7200)


def test_unknown_shaman_link_mode_names_the_choices(tmp_path):
    path = tmp_path / "flamenco-manager.yaml"
    path.write_text("_meta: {version: 3}\nshaman: {linkMode: junction}\n")
    with pytest.raises(ConfigError, match=r"`shaman`.*auto, symlink, hardlink, copy.*junction"):
        load_config(path)


async def test_configured_link_mode_reaches_the_running_shaman(manager_factory, tmp_path):
    import hashlib

    running = await manager_factory(shaman_enabled=True, shaman_link_mode="copy")
    data = b"a texture" * 100
    sha = hashlib.sha256(data).hexdigest()
    status, _ = await running.request("POST", f"/api/v3/shaman/files/{sha}/{len(data)}", data=data)
    assert status == 204
    spec = {"files": [{"sha": sha, "size": len(data), "path": "tex/wood.png"}], "checkoutPath": "job-1"}
    async with running.session.post("/api/v3/shaman/checkout/create", json=spec) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["X-Tablao-Link-Mode"] == "copy"
    out = tmp_path / "shared" / "jobs" / "job-1" / "tex" / "wood.png"
    assert out.read_bytes() == data and not out.is_symlink()


def test_the_ssdp_port_is_written_only_when_not_the_standard_one(tmp_path):
    path = tmp_path / "flamenco-manager.yaml"
    cfg = load_config(path)
    assert cfg.autodiscovery_port == 1900 and "autodiscovery_port" not in path.read_text()
    cfg.autodiscovery_port = 41900
    save_config(cfg)
    assert load_config(path).autodiscovery_port == 41900
