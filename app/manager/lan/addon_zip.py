"""The Blender add-on a Manager hands out: the add-on Tablao carries, with this Manager's address in it.

Two kinds, as addon/build.py makes them: `legacy` (one `tablao_blender/` folder; installs in Blender
3.x and 4.x from Preferences ▸ Add-ons ▸ Install) and `extension` (a Blender 4.2+ extension, the
manifest at the zip's root). A served copy is the carried zip with one file added, `manager.json`
beside the add-on's `__init__.py`, holding `{"manager_url": "http://<host>:<port>/"}`; the add-on's
preferences take it as the default Manager URL.

Where the add-on comes from: the bundled program carries the two zips in its library folder
(`_internal/addon/`, see packaging/tablao.spec); a source checkout zips `addon/tablao_blender/` in
memory, once. An install from a wheel carries none, and the Manager says where to get it.

Bounds. The address is never text from the request: the host must parse as an IP address or a DNS
name (letters, digits, `-`, `_`, dots; at most 253 characters) and the port as a number, and the URL
is built from those parts and JSON-encoded. A carried zip above `MAX_ZIP_BYTES` is refused, so a
served copy is at most that plus the few hundred bytes of `manager.json`.
"""

from __future__ import annotations

import io
import ipaddress
import json
import re
import sys
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app import __version__

LEGACY, EXTENSION = "legacy", "extension"
KINDS = (LEGACY, EXTENSION)
PACKAGE = "tablao_blender"
MANAGER_FILE = "manager.json"
#: A carried add-on zip larger than this is not served (today's are about 150 KB).
MAX_ZIP_BYTES = 16 * 1024 * 1024
_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$")
_SKIP_PARTS = ("__pycache__",)


class AddonUnavailable(Exception):
    """This installation carries no add-on (or a broken one); the message says what to do."""


@dataclass(frozen=True)
class Carried:
    """One kind of the add-on as this installation carries it."""

    kind: str
    data: bytes
    source: str  # where it came from, for messages

    @property
    def filename(self) -> str:
        return f"tablao-{__version__}-{'addon' if self.kind == LEGACY else 'extension'}.zip"


def manager_url(scheme: str, host: str, port: int | None) -> str:
    """`scheme://host:port/` from a host and port that have been checked; ValueError otherwise."""
    if scheme not in ("http", "https"):
        raise ValueError(f"scheme {scheme!r}")
    host = host.lower().rstrip(".")
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        if not _NAME.match(host):
            raise ValueError("not a host name or address") from None
        shown = host
    else:
        shown = f"[{addr.compressed}]" if addr.version == 6 else addr.compressed
    if port is not None and not 0 < port < 65536:
        raise ValueError("bad port")
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{shown}{'' if port in (None, default) else f':{port}'}/"


def with_manager(carried: Carried, url: str) -> bytes:
    """The carried zip with `manager.json` naming `url` added (the zip is appended to, not rewritten)."""
    folder = f"{PACKAGE}/" if carried.kind == LEGACY else ""
    buffer = io.BytesIO(carried.data)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(folder + MANAGER_FILE, json.dumps({"manager_url": url}) + "\n")
    return buffer.getvalue()


def carried(kind: str) -> Carried:
    """The add-on of `kind` this installation carries; raises `AddonUnavailable`."""
    if kind not in KINDS:
        raise ValueError(kind)
    return _carried(kind)


@cache
def _carried(kind: str) -> Carried:
    bundle = _bundle_addon_folder()
    if bundle is not None:
        found = sorted(bundle.glob(f"tablao-*-{kind}.zip"))
        if not found:
            raise AddonUnavailable(f"the bundle's add-on folder {bundle} holds no {kind} zip; reinstall Tablao")
        return _checked(Carried(kind, found[-1].read_bytes(), str(found[-1])))
    source = _source_folder()
    if source is not None:
        return _checked(Carried(kind, zip_folder(source, kind), str(source)))
    raise AddonUnavailable(
        "this installation of Tablao carries no Blender add-on (only the bundled program and a source "
        "checkout do); take tablao-<version>-legacy.zip from the Tablao download, or build it with "
        "`python -m addon.build` in a checkout")


def _checked(found: Carried) -> Carried:
    if len(found.data) > MAX_ZIP_BYTES:
        raise AddonUnavailable(f"the add-on {found.source} is larger than {MAX_ZIP_BYTES} bytes; reinstall Tablao")
    try:
        with zipfile.ZipFile(io.BytesIO(found.data)) as zf:
            names = set(zf.namelist())
    except zipfile.BadZipFile:
        raise AddonUnavailable(f"the add-on {found.source} is not a zip file; reinstall Tablao") from None
    init = f"{PACKAGE}/__init__.py" if found.kind == LEGACY else "__init__.py"
    if init not in names:
        raise AddonUnavailable(f"the add-on {found.source} has no {init}; reinstall Tablao")
    return found


def _bundle_addon_folder() -> Path | None:
    """`<bundle>/addon` in the bundled program; None when running from Python."""
    folder = getattr(sys, "_MEIPASS", None) if getattr(sys, "frozen", False) else None
    return Path(folder) / "addon" if folder else None


def _source_folder() -> Path | None:
    """`addon/tablao_blender` of the source checkout this `app` package lies in, if it is one."""
    folder = Path(__file__).resolve().parents[3] / "addon" / PACKAGE
    return folder if (folder / "__init__.py").is_file() else None


def zip_folder(folder: Path, kind: str) -> bytes:
    """The add-on folder zipped the way addon/build.py does, in memory."""
    buffer = io.BytesIO()
    prefix = f"{PACKAGE}/" if kind == LEGACY else ""
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if not path.is_file() or path.suffix == ".pyc" or rel.as_posix() == MANAGER_FILE \
                    or any(part in _SKIP_PARTS for part in rel.parts):
                continue
            zf.write(path, prefix + rel.as_posix())
    return buffer.getvalue()
