"""The worker's GPUs: their names, and their use where it can be read cheaply.

`nvidia-smi` where it is installed gives each NVIDIA GPU's name, utilisation and memory. Otherwise,
on Linux, the kernel's DRM devices (`/sys/class/drm/cardN/device`) give each GPU's PCI ids and
driver, named from the PCI id list the system has (`pci.ids`, what `lspci` reads) and, for AMD's
driver, its utilisation (`gpu_busy_percent`). The names are found once; each reading after that is
a few small file reads, or one `nvidia-smi` run. Elsewhere (macOS, Windows) the GPU is not read:
the worker reports none. Blocking: the vitals reporter calls `read` from a thread.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

NVIDIA_QUERY = ["--query-gpu=name,utilization.gpu,memory.used,memory.total", "--format=csv,noheader,nounits"]
PCI_IDS = (Path("/usr/share/misc/pci.ids"), Path("/usr/share/hwdata/pci.ids"), Path("/usr/share/pci.ids"))
_VENDORS = {"0x10de": "NVIDIA", "0x1002": "AMD", "0x8086": "Intel", "0x1af4": "Virtio", "0x15ad": "VMware",
            "0x1234": "QEMU", "0x1a03": "ASPEED"}
_MIB = 1024 * 1024


def parse_nvidia_smi(out: str) -> list[dict[str, Any]]:
    """`nvidia-smi`'s CSV lines (name, utilisation %, memory used and total in MiB) as GPU dicts."""
    gpus = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.rsplit(",", 3)]
        if len(parts) != 4 or not parts[0]:
            continue
        gpu: dict[str, Any] = {"name": parts[0][:200]}
        percent, used, total = _number(parts[1]), _number(parts[2]), _number(parts[3])
        if percent is not None and 0 <= percent <= 100:
            gpu["percent"] = percent
        if used is not None and total is not None and 0 <= used <= total:
            gpu["memory_used"], gpu["memory_total"] = int(used * _MIB), int(total * _MIB)
        gpus.append(gpu)
    return gpus


def _number(text: str) -> float | None:
    try:
        return float(text)  # "[N/A]" and "[Not Supported]" are not numbers
    except ValueError:
        return None


@dataclass(frozen=True)
class _Card:
    name: str
    busy: Path | None  # a file holding the utilisation in %, where the driver has one


def pci_name(vendor: str, device: str, ids_files: tuple[Path, ...] = PCI_IDS) -> str | None:
    """The device's name from the system's `pci.ids` ("NVIDIA Corporation GA104GL [RTX A4000]"), or None."""
    vendor, device = vendor.lower().removeprefix("0x"), device.lower().removeprefix("0x")
    for path in ids_files:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                vendor_name = None
                for line in fh:
                    if vendor_name is None:
                        if line.startswith(vendor + "  "):
                            vendor_name = line[len(vendor):].strip()
                    elif line.startswith("\t") and not line.startswith("\t\t"):
                        if line[1:].startswith(device + "  "):
                            return f"{vendor_name} {line[1 + len(device):].strip()}"
                    elif not line.startswith(("\t", "#")):
                        return vendor_name  # the vendor's list ended without the device
        except OSError:
            continue
    return None


def drm_cards(root: Path = Path("/sys/class/drm"), ids_files: tuple[Path, ...] = PCI_IDS) -> list[_Card]:
    """The GPUs the Linux kernel drives, named (a card's connectors, like card0-HDMI-A-1, are not GPUs)."""
    cards = []
    try:
        entries = sorted(p for p in root.iterdir() if p.name.startswith("card") and p.name[4:].isdigit())
    except OSError:
        return []
    for entry in entries:
        device = entry / "device"
        try:
            vendor = (device / "vendor").read_text().strip()
            product = (device / "device").read_text().strip()
        except OSError:
            continue  # no PCI device behind it (a firmware framebuffer)
        try:
            driver = (device / "driver").resolve().name
        except OSError:
            driver = ""
        name = pci_name(vendor, product, ids_files) or " ".join(
            filter(None, [_VENDORS.get(vendor.lower(), f"PCI {vendor}:{product}"), "GPU",
                          f"({driver})" if driver else ""]))
        busy = device / "gpu_busy_percent"
        cards.append(_Card(name[:200], busy if busy.is_file() else None))
    return cards


class GpuReader:
    """Reads the GPUs' names (once) and use (each call). Blocking."""

    def __init__(self, run: Callable[[list[str]], str] | None = None, nvidia_smi: str | None = "",
                 drm_root: Path = Path("/sys/class/drm"), ids_files: tuple[Path, ...] = PCI_IDS):
        self._nvidia = shutil.which("nvidia-smi") if nvidia_smi == "" else nvidia_smi
        self._run = run or _run
        self._drm_root, self._ids_files = drm_root, ids_files
        self._cards: list[_Card] | None = None

    def read(self) -> list[dict[str, Any]]:
        if self._nvidia:
            try:
                gpus = parse_nvidia_smi(self._run([self._nvidia, *NVIDIA_QUERY]))
                if gpus:
                    return gpus
            except (OSError, subprocess.SubprocessError) as exc:
                _log.info("nvidia-smi failed (%s); reading the GPUs from the system instead", exc)
                self._nvidia = None
        if self._cards is None:
            self._cards = drm_cards(self._drm_root, self._ids_files)
        return [self._card(card) for card in self._cards]

    @staticmethod
    def _card(card: _Card) -> dict[str, Any]:
        gpu: dict[str, Any] = {"name": card.name}
        if card.busy is not None:
            try:
                percent = float(card.busy.read_text().strip())
            except (OSError, ValueError):
                return gpu
            if 0 <= percent <= 100:
                gpu["percent"] = percent
        return gpu


def _run(args: list[str]) -> str:
    return subprocess.run(args, capture_output=True, text=True, timeout=5, check=True).stdout
