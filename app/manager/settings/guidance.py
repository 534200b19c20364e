"""What a new user does next, said in a few lines once the Manager listens (`--headless` above all).

A fresh Manager on a server has no window to guide anyone, so its log does: the URL that workers
and the Blender add-on use, whether shared storage and Blender are set up and how to set them,
and the command that starts a worker.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import psutil

from app.manager.settings.config import ManagerConfig


def lan_addresses() -> list[str]:
    """IPv4 addresses of this machine that other computers may reach (loopback last)."""
    found: list[str] = []
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family == socket.AF_INET and not addr.address.startswith("169.254."):
                found.append(addr.address)
    found.sort(key=lambda a: (a.startswith("127."), a))
    return found or ["127.0.0.1"]


def manager_urls(config: ManagerConfig, port: int) -> list[str]:
    host, _ = config.listen_host_port()
    hosts = lan_addresses() if host in ("", "0.0.0.0", "::") else [host]
    return [f"http://{h}:{port}/" for h in hosts]


def guidance_lines(config: ManagerConfig, port: int) -> list[str]:
    urls = manager_urls(config, port)
    lines = [f"workers and the Blender add-on reach this Manager at {urls[0]}"
             + (f" (also {', '.join(urls[1:3])})" if len(urls) > 1 else "")]
    if urls[0].startswith("http://127."):
        lines.append("it listens on this computer only; set `listen: :8080` in "
                     f"{config.path} to let other computers in")
    storage = config.shared_storage_path
    if not storage:
        lines.append(f"shared storage is not set up: set `shared_storage_path` in {config.path}, or run the "
                     "setup wizard in the desktop app (`tablao`)")
    elif not Path(storage).is_dir():
        lines.append(f"shared storage {storage} does not exist on this computer: create or mount it")
    else:
        lines.append(f"shared storage: {storage}")
    blender = _blender_command(config)
    if blender and (shutil.which(blender) or Path(blender).is_file()):
        lines.append(f"Blender: {shutil.which(blender) or blender}")
    else:
        lines.append(f"Blender ({blender or 'blender'}) is not found on this computer; workers use their own, or "
                     "set the `blender` variable in the config (or in the desktop app's Variables page)")
    lines.append(f"start a worker on each render node with: tablao worker --headless --manager {urls[0]}")
    return lines


def _blender_command(config: ManagerConfig) -> str:
    from app.common.paths import current_platform

    values = (config.variables or {}).get("blender", {}).get("values", [])
    here = current_platform()
    for value in values:
        if value.get("platform") in (here, "all"):
            return str(value.get("value", "")).split(" ")[0]
    return "blender"
