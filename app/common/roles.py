"""What this computer is for the desktop app: Manager, Worker or both (`tablao-desktop.yaml`).

The desktop app reads this on start to know which services to run; the setup wizard writes it.
It sits beside `flamenco-manager.yaml` in the config folder. No file means: first launch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from app.common.paths import config_dir

FILENAME = "tablao-desktop.yaml"
ROLES = ("manager", "worker", "both")


@dataclass
class RoleConfig:
    role: str = "manager"
    manager_url: str = ""   # for a Worker: the Manager it works for ("" = find it on the network)
    manager_found_by: str = ""  # "typed" or "discovery": shown in the worker window

    @property
    def runs_manager(self) -> bool:
        return self.role in ("manager", "both")

    @property
    def runs_worker(self) -> bool:
        return self.role in ("worker", "both")


def role_config_path(folder: Path | None = None) -> Path:
    return (folder or config_dir()) / FILENAME


def load_role(path: Path | None = None) -> RoleConfig | None:
    """The saved role, or None on first launch (no file yet)."""
    path = path or role_config_path()
    if not path.exists():
        return None
    raw = yaml.safe_load(path.read_text()) or {}
    role = raw.get("role", "manager")
    if role not in ROLES:
        raise ValueError(f"{path}: role must be one of {', '.join(ROLES)}, not {role!r}")
    return RoleConfig(role=role, manager_url=str(raw.get("manager_url") or ""),
                      manager_found_by=str(raw.get("manager_found_by") or ""))


def save_role(cfg: RoleConfig, path: Path | None = None) -> Path:
    path = path or role_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump({"role": cfg.role, "manager_url": cfg.manager_url,
                                   "manager_found_by": cfg.manager_found_by}))
    tmp.replace(path)
    return path
