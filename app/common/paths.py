"""Platform locations for config and data files (platformdirs), overridable with TABLAO_HOME."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs


def tablao_home() -> Path | None:
    value = os.environ.get("TABLAO_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    home = tablao_home()
    return home if home else Path(platformdirs.user_config_dir("tablao", appauthor=False))


def data_dir() -> Path:
    home = tablao_home()
    return home if home else Path(platformdirs.user_data_dir("tablao", appauthor=False))


def current_platform() -> str:
    """The platform name used on the wire: `linux`, `windows` or `darwin` (Go's GOOS names)."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "darwin"
    return "linux" if sys.platform.startswith("linux") else sys.platform
