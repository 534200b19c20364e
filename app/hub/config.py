"""The hub's configuration: a flamenco-manager.yaml-style file (HUB.yaml) read with the Manager's
loader, so the keys the hub shares with a Manager mean the same (`listen`, `database`,
`access_token`, `allowed_hosts`, `shared_storage_path`, `shaman`, ...), plus `sites`: the names of
the sites the hub accepts (empty or absent: any site that holds a join token).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.manager.hub_link.settings import check_site_name
from app.manager.settings.config import ConfigError, ManagerConfig, config_from_dict, load_config, save_config

DEFAULT_HUB = {"_meta": {"version": 3}, "manager_name": "Tablao hub", "listen": ":8090",
               "database": "tablao-hub.sqlite", "local_manager_storage_path": "tablao-hub-storage",
               "sites": []}


@dataclass
class HubConfig:
    manager: ManagerConfig
    sites: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path | None:
        return self.manager.path

    def accepts(self, site: str) -> bool:
        return not self.sites or site in self.sites


def load_hub_config(path: Path) -> HubConfig:
    """Read HUB.yaml; a missing file is written with the hub's defaults first."""
    if not path.exists():
        cfg = config_from_dict(dict(DEFAULT_HUB), path)
        save_config(cfg)
    else:
        cfg = load_config(path, write_if_missing=False)
    return HubConfig(cfg, _sites(cfg.extra.get("sites"), path))


def _sites(value: Any, path: Path) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: setting `sites`: expected a list of site names, got {value!r}")
    if len(value) > 1000:
        raise ConfigError(f"{path}: setting `sites`: at most 1,000 sites")
    try:
        return [check_site_name(v.strip()) for v in value]
    except ValueError as exc:
        raise ConfigError(f"{path}: setting `sites`: {exc}") from None
