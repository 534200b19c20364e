"""Builds Tablao's Linux downloads from a clean checkout: a self-contained bundle and a Debian package.

    python packaging/build.py            # dist/tablao-<v>-linux-x86_64.tar.gz and dist/tablao_<v>_amd64.deb
    python packaging/build.py --no-deb   # only the tar.gz

Needs only Python 3.11+ with `venv` and the network to PyPI (and `dpkg-deb` for the .deb). The steps:

1. a build environment in build/packaging-venv/ with Tablao's dependencies (the desktop app's too),
   PyInstaller and imageio-ffmpeg (which ships an FFmpeg binary), reused by later builds;
2. the Blender add-on's two zips (addon/build.py);
3. PyInstaller over packaging/tablao.spec: one folder with the programs `tablao` and `farm`;
4. the bundle folder tablao-<v>/: the programs, the add-on zips, install.sh/uninstall.sh and the
   desktop entry, icons and AppStream metadata they install, packed as the tar.gz;
5. the same programs under /opt/tablao in a .deb, with /usr/bin links, the menu entry and the
   systemd units for a headless Manager and Worker (installed, not enabled).

Each step's time is printed; the sizes of what it wrote come last.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGING = REPO / "packaging"
BUILD = REPO / "build"
APP_ID = "org.tablao.Tablao"
#: What the build needs besides Tablao's own dependencies (read from pyproject.toml). imageio-ffmpeg
#: 0.6.0 ships FFmpeg 7.0.2 linked statically (80 MB, H.264 included); later releases ship a larger
#: build (170 MB) that loads the system's C library.
BUILD_REQUIREMENTS = ("pyinstaller>=6.10,<7", "imageio-ffmpeg==0.6.0")
#: Icon sizes installed into the freedesktop icon theme.
ICON_SIZES = (48, 128, 256, 512)


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def version() -> str:
    return project()["version"]


def _step(name: str):
    class Step:
        def __enter__(self):
            self.t0 = time.monotonic()
            print(f"== {name}", flush=True)

        def __exit__(self, *exc):
            if exc[0] is None:
                print(f"   {name}: {time.monotonic() - self.t0:.1f} s", flush=True)

    return Step()


def _run(argv: list, **kw) -> None:
    subprocess.run([str(a) for a in argv], check=True, **kw)


def build_env(venv: Path) -> Path:
    """The build environment's Python, created on first use; its packages are brought up to date."""
    python = venv / "bin" / "python"
    if not _has_pip(python):  # none yet, or one an interrupted build left half made
        _run([sys.executable, "-m", "venv", "--clear", venv])
        _run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"])
    info = project()
    requirements = [*info["dependencies"], *info["optional-dependencies"]["gui"], *BUILD_REQUIREMENTS]
    _run([python, "-m", "pip", "install", "-q", *requirements])
    return python


def _has_pip(python: Path) -> bool:
    if not python.exists():
        return False
    return subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode == 0


def bundled_ffmpeg_binary(python: Path) -> Path:
    """The FFmpeg binary imageio-ffmpeg ships (never a system FFmpeg it might fall back to), as build/ffmpeg/ffmpeg."""
    folder = subprocess.run([python, "-c", "import imageio_ffmpeg, os; "
                             "print(os.path.join(os.path.dirname(imageio_ffmpeg.__file__), 'binaries'))"],
                            check=True, capture_output=True, text=True).stdout.strip()
    found = sorted(p for p in Path(folder).glob("ffmpeg-*") if p.is_file())
    if not found:
        raise SystemExit(f"imageio-ffmpeg ships no FFmpeg binary for this platform in {folder}")
    # Renamed to plain `ffmpeg`: the name the worker looks for, and the one task logs show.
    exe = BUILD / "ffmpeg" / "ffmpeg"
    _copy(found[0], exe, 0o755)
    return exe


def addon_zips(out: Path) -> list[Path]:
    shutil.rmtree(out, ignore_errors=True)
    sys.path.insert(0, str(REPO))
    from addon.build import build as build_addon

    return list(build_addon(out))


def pyinstaller(python: Path, name: str, zips: Path, ffmpeg: Path) -> Path:
    work, dist = BUILD / "pyinstaller" / "work", BUILD / "pyinstaller" / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    env = dict(os.environ, TABLAO_BUNDLE_NAME=name, TABLAO_ADDON_ZIPS=str(zips), TABLAO_FFMPEG=str(ffmpeg))
    env.pop("PYTHONPATH", None)
    _run([python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", dist,
          "--workpath", work, PACKAGING / "tablao.spec"], env=env, cwd=REPO)
    return dist / name


def _copy(src: Path, dst: Path, mode: int = 0o644) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    dst.chmod(mode)


def _write(dst: Path, text: str, mode: int = 0o644) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(text, encoding="utf-8")
    dst.chmod(mode)


def metainfo(ver: str) -> str:
    today = time.strftime("%Y-%m-%d", time.gmtime(_source_date()))
    return (PACKAGING / "linux" / f"{APP_ID}.metainfo.xml").read_text(encoding="utf-8") \
        .replace("@VERSION@", ver).replace("@DATE@", today)


def add_desktop_files(share: Path, ver: str, exec_line: str) -> None:
    """share/applications, share/icons/hicolor, share/metainfo as a package installs them."""
    desktop = (PACKAGING / "linux" / f"{APP_ID}.desktop").read_text(encoding="utf-8")
    _write(share / "applications" / f"{APP_ID}.desktop", desktop.replace("@EXEC@", exec_line))
    for size in ICON_SIZES:
        _copy(PACKAGING / "icons" / f"tablao-{size}.png",
              share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png")
    _write(share / "metainfo" / f"{APP_ID}.metainfo.xml", metainfo(ver))


def stage_bundle(programs: Path, zips: list[Path], name: str, ver: str) -> Path:
    """build/stage/tablao-<v>/: what the tar.gz unpacks to."""
    stage = BUILD / "stage" / name
    shutil.rmtree(stage.parent, ignore_errors=True)
    shutil.copytree(programs, stage, symlinks=True)
    for z in zips:
        _copy(z, stage / "addon" / z.name)
    # The desktop entry's Exec is written by install.sh, which knows where the bundle lies.
    add_desktop_files(stage / "share", ver, "@EXEC@")
    for script in ("install.sh", "uninstall.sh"):
        _copy(PACKAGING / "linux" / script, stage / script, 0o755)
    _copy(PACKAGING / "linux" / "README.txt", stage / "README.txt")
    return stage


def _source_date() -> int:
    """SOURCE_DATE_EPOCH, else the last commit's time: the dates inside the archives."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=REPO, capture_output=True, text=True)
        return int(out.stdout.strip())
    except (OSError, ValueError):
        return int(time.time())


def _normalised(info: tarfile.TarInfo, mtime: int) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = mtime
    executable = info.isdir() or bool(info.mode & stat.S_IXUSR)
    info.mode = 0o755 if executable else 0o644
    return info


def pack_tar(stage: Path, out: Path) -> Path:
    mtime = _source_date()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=mtime) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in [stage, *sorted(stage.rglob("*"))]:
            arcname = str(Path(stage.name) / path.relative_to(stage))
            info = _normalised(tar.gettarinfo(str(path), arcname), mtime)
            if info.isfile():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    tmp.replace(out)
    return out


def stage_deb(programs: Path, zips: list[Path], ver: str) -> Path:
    """build/deb/root: the package's files and its DEBIAN/ control folder."""
    root = BUILD / "deb" / "root"
    shutil.rmtree(root.parent, ignore_errors=True)
    opt = root / "opt" / "tablao"
    shutil.copytree(programs, opt, symlinks=True)
    for z in zips:
        _copy(z, opt / "addon" / z.name)
    for program in ("tablao", "farm"):
        link = root / "usr" / "bin" / program
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(f"/opt/tablao/{program}")
    add_desktop_files(root / "usr" / "share", ver, "tablao")
    for unit in ("tablao-manager.service", "tablao-worker.service", "tablao-hub.service"):
        _copy(PACKAGING / "debian" / unit, root / "usr" / "lib" / "systemd" / "system" / unit)
    _copy(PACKAGING / "debian" / "copyright", root / "usr" / "share" / "doc" / "tablao" / "copyright")
    _copy(PACKAGING / "debian" / "README.Debian", root / "usr" / "share" / "doc" / "tablao" / "README.Debian")
    for path in root.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    debian = root / "DEBIAN"
    installed_kib = sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    control = (PACKAGING / "debian" / "control").read_text(encoding="utf-8")
    _write(debian / "control", control.replace("@VERSION@", ver).replace("@INSTALLED_SIZE@", str(installed_kib)))
    for script in ("postinst", "prerm", "postrm"):
        _copy(PACKAGING / "debian" / script, debian / script, 0o755)
    return root


def pack_deb(root: Path, out: Path) -> Path:
    if shutil.which("dpkg-deb") is None:
        raise SystemExit("dpkg-deb is needed for the .deb (apt-get install dpkg-dev), or pass --no-deb")
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(_source_date()))
    # xz at level 6 with the default threads: about half the size of gzip for the Qt libraries.
    _run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", root, out], env=env,
         stdout=subprocess.DEVNULL)
    return out


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="where the downloads go (dist/)")
    parser.add_argument("--venv", type=Path, default=BUILD / "packaging-venv",
                        help="the build environment (created when missing)")
    parser.add_argument("--no-deb", action="store_true", help="only the tar.gz")
    args = parser.parse_args(argv)
    if sys.platform != "linux":
        raise SystemExit("packaging/build.py builds the Linux downloads; see packaging/README.md for the "
                         "Windows and macOS definitions")
    t0 = time.monotonic()
    ver = version()
    name = f"tablao-{ver}"
    with _step("build environment"):
        python = build_env(args.venv)
        ffmpeg = bundled_ffmpeg_binary(python)
    with _step("Blender add-on zips"):
        zips = addon_zips(BUILD / "addon")
    with _step("PyInstaller"):
        programs = pyinstaller(python, name, BUILD / "addon", ffmpeg)
    written = []
    with _step("tar.gz"):
        stage = stage_bundle(programs, zips, name, ver)
        written.append(pack_tar(stage, args.dist / f"{name}-linux-x86_64.tar.gz"))
    if not args.no_deb:
        with _step(".deb"):
            written.append(pack_deb(stage_deb(programs, zips, ver), args.dist / f"tablao_{ver}_amd64.deb"))
    print(f"built in {time.monotonic() - t0:.0f} s; the bundle is {_size(stage) / 1e6:.0f} MB unpacked")
    for path in written:
        print(f"{path}  {_size(path) / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
