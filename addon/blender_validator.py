"""Blender 4.2's own extension validator, fetched from the `bpy` 4.2.0 wheel on PyPI, run on our zip.

    python -m addon.blender_validator fetch          # once: download, extract two files, drop the wheel
    python -m addon.blender_validator validate ZIP   # what `blender --command extension validate ZIP` does

`blender --command extension validate` is `addons_core/bl_pkg/cli/blender_ext.py` (stdlib only) with
Blender's list of valid tags (`modules/_bpy_internal/extensions/tags.py`). There is no 4.2 Blender on
Debian and no sdist of `bpy`, so `fetch` downloads the 4.2.0 wheel (about 500 MB) with pip, checks its
sha256, keeps only those two files (checked by sha256 too) in the cache folder and deletes the wheel.
The cache is `$TABLAO_BLENDER_VALIDATOR` or `~/.cache/tablao/blender-4.2.0-validator`; .ci/run fetches
into it, tests/addon/test_extension_validate.py runs it.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

_log = logging.getLogger(__name__)

BPY = "bpy==4.2.0"
WHEEL_SHA256 = "a8217c2bd7b3424d1f51ce0698c0bf65439de352f7f6ed7b9942e2a9e5eb121b"
#: wheel member → (file name in the cache, sha256)
FILES = {
    "bpy/4.2/scripts/addons_core/bl_pkg/cli/blender_ext.py": (
        "blender_ext.py",
        "888a16a3351c975c9f1fa999be4b118ecb12215cecc274f5be9d4ecc88a79a75",
    ),
    "bpy/4.2/scripts/modules/_bpy_internal/extensions/tags.py": (
        "tags.py",
        "51d50f12a927b302b7da7055531e278bb58e3b93b06348e82112567ee97060d5",
    ),
}


def cache_dir() -> Path:
    env = os.environ.get("TABLAO_BLENDER_VALIDATOR")
    return Path(env) if env else Path.home() / ".cache" / "tablao" / "blender-4.2.0-validator"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def available(folder: Path | None = None) -> bool:
    """True when the cache holds both files, byte for byte the 4.2.0 ones."""
    folder = folder or cache_dir()
    return all((folder / name).is_file() and _sha256(folder / name) == sha for name, sha in FILES.values())


def fetch(folder: Path | None = None) -> Path:
    """Make `available()` true (downloads only when the cache lacks the files); returns the folder."""
    folder = folder or cache_dir()
    if available(folder):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tablao-bpy-wheel-") as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", BPY, "--no-deps", "--only-binary", ":all:",
             "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "-d", tmp],
            check=True,
        )
        wheel = next(Path(tmp).glob("bpy-4.2.0-*.whl"))
        if _sha256(wheel) != WHEEL_SHA256:
            raise SystemExit(f"{wheel.name} does not have the expected sha256; not using it")
        with zipfile.ZipFile(wheel) as zf:
            for member, (name, sha) in FILES.items():
                data = zf.read(member)
                if hashlib.sha256(data).hexdigest() != sha:
                    raise SystemExit(f"{member} in {wheel.name} does not have the expected sha256")
                (folder / name).write_bytes(data)
    _log.info("Blender 4.2.0's extension validator is in %s", folder)
    return folder


def validate(archive: Path, folder: Path | None = None) -> subprocess.CompletedProcess:
    """Run Blender's validator on `archive` as Blender runs it (with its valid tags); rc 0 is a pass."""
    folder = folder or cache_dir()
    return subprocess.run(
        [sys.executable, str(folder / "blender_ext.py"), "validate", "--valid-tags", str(folder / "tags.py"),
         str(archive)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download the validator into the cache folder (once)")
    check = sub.add_parser("validate", help="validate an extension zip or folder")
    check.add_argument("archive", type=Path)
    args = parser.parse_args(argv)
    if args.command == "fetch":
        print(fetch())
        return 0
    if not available():
        print("Blender 4.2's validator is not fetched yet: run `python -m addon.blender_validator fetch`")
        return 2
    done = validate(args.archive)
    print((done.stdout + done.stderr).strip())
    return done.returncode


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main())
