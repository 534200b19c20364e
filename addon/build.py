"""Builds the add-on's two zips into dist/: a Blender 4.2+ extension and a Blender 3.x legacy add-on.

    python -m addon.build            # vendor app/api into the add-on, then write both zips
    python -m addon.build --vendor   # only refresh addon/tablao_blender/_api/

The add-on speaks the same wire contract as the Manager: the stdlib-only modules of `app/api` are
copied into `tablao_blender/_api/` with their `from app.api.X` imports made relative, and nothing
else changed (tests/addon/test_build.py checks the copy). The LAN finder the tray worker uses,
`app/common/discovery.py`, is copied verbatim as `tablao_blender/_discovery.py`: its module-level
imports are stdlib only, and the add-on calls only its `search` (it asks each answer for its version
with its own urllib client; `answers`/`find_manager` there need aiohttp and stay unused). What
`tablao submit` reads of a scene for the farm's submit policy (its scripts and Python drivers, the
output roots), `app/submit/scene_policy.py`, is copied verbatim as `tablao_blender/_scene_policy.py`
(stdlib and bpy only), so the add-on and the probe say the same. Blender Asset Tracer ships as a wheel in
`wheels/`: listed in `blender_manifest.toml` for the extension, put on `sys.path` by the legacy add-on.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tomllib
import zipfile
from pathlib import Path

_log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
ADDON = REPO / "addon" / "tablao_blender"
API_SRC = REPO / "app" / "api"
API_DST = ADDON / "_api"
#: The stdlib-only modules of app/api the add-on needs (client.py, transport.py, stream.py use aiohttp).
VENDORED = ("codec.py", "enums.py", "errors.py", "headers.py", "jobs.py", "limits.py", "meta.py",
            "requirements.py")
#: app/common modules the add-on uses, and their names inside the add-on.
VENDORED_COMMON = {"discovery.py": "_discovery.py"}
COMMON_SRC = REPO / "app" / "common"
#: app/submit modules the add-on uses (they run inside Blender), and their names inside the add-on.
VENDORED_SUBMIT = {"scene_policy.py": "_scene_policy.py", "scene_needs.py": "_scene_needs.py",
                   "preview_switches.py": "_preview_switches.py"}
SUBMIT_SRC = REPO / "app" / "submit"
_IMPORT = re.compile(r"^from app\.api\.(\w+) import", re.MULTILINE)
_SKIP = ("__pycache__", ".pyc")


def vendored_text(source: str) -> str:
    """The add-on's copy of one app/api module: the same text, imports made package-relative."""
    return _IMPORT.sub(r"from .\1 import", source)


def vendor_api() -> list[Path]:
    """Copy the wire models into `_api/`, the finder and the scene policy beside; returns what it wrote."""
    API_DST.mkdir(exist_ok=True)
    written = []
    for name in VENDORED:
        dst = API_DST / name
        dst.write_text(vendored_text((API_SRC / name).read_text(encoding="utf-8")), encoding="utf-8")
        written.append(dst)
    for src, copies in ((COMMON_SRC, VENDORED_COMMON), (SUBMIT_SRC, VENDORED_SUBMIT)):
        for name, target in copies.items():
            dst = ADDON / target
            dst.write_text(vendored_text((src / name).read_text(encoding="utf-8")), encoding="utf-8")
            written.append(dst)
    return written


def manifest() -> dict:
    return tomllib.loads((ADDON / "blender_manifest.toml").read_text(encoding="utf-8"))


def _files() -> list[Path]:
    # manager.json is what a Manager adds to the copy it serves (app/manager/lan/addon_zip.py); never shipped.
    return sorted(p for p in ADDON.rglob("*") if p.is_file() and not any(s in str(p) for s in _SKIP)
                  and p.relative_to(ADDON).as_posix() != "manager.json")


def build(dist: Path) -> tuple[Path, Path]:
    """Write `tablao-<version>-extension.zip` and `tablao-<version>-legacy.zip`; returns their paths."""
    vendor_api()
    info = manifest()
    missing = [w for w in info.get("wheels", []) if not (ADDON / w).is_file()]
    if missing:
        raise SystemExit(f"wheels listed in blender_manifest.toml are missing: {missing}")
    dist.mkdir(parents=True, exist_ok=True)
    version = info["version"]
    extension = dist / f"tablao-{version}-extension.zip"
    legacy = dist / f"tablao-{version}-legacy.zip"
    with zipfile.ZipFile(extension, "w", zipfile.ZIP_DEFLATED) as zf:  # manifest at the zip's root
        for path in _files():
            zf.write(path, path.relative_to(ADDON).as_posix())
    with zipfile.ZipFile(legacy, "w", zipfile.ZIP_DEFLATED) as zf:  # one top-level package folder
        for path in _files():
            zf.write(path, (Path(ADDON.name) / path.relative_to(ADDON)).as_posix())
    return extension, legacy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=REPO / "dist")
    parser.add_argument("--vendor", action="store_true", help="only refresh the vendored _api/")
    args = parser.parse_args(argv)
    if args.vendor:
        for path in vendor_api():
            print(path.relative_to(REPO))
        return 0
    for path in build(args.dist):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
