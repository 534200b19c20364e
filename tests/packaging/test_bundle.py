"""The Linux downloads, built from this checkout by `python packaging/build.py` once per run and used as a
studio would: the bundle unpacked and run with no Python environment and no FFmpeg on PATH, the menu
entry installed and started under Xvfb, and the .deb checked, installed and purged.

`TABLAO_TEST_DIST=dist` reuses downloads built before (by hand) instead of building them again.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.farm import blender_job, make_blend
from tests.xvfb import private_display

REPO = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
APP_ID = "org.tablao.Tablao"
#: Programs a worker must not find on PATH: it brings its own FFmpeg.
HIDDEN = {"ffmpeg", "ffprobe", "ffplay"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # the first test builds the downloads (about 3 minutes, more on a cold cache)
    # One pytest-xdist worker runs them all: one build per run, and builds share the checkout's build/.
    pytest.mark.xdist_group("packaging"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux downloads"),
    pytest.mark.skipif(shutil.which("blender") is None, reason="needs Debian's blender"),
]


@dataclass
class Downloads:
    tar: Path
    deb: Path
    bundle: Path  # the tar.gz unpacked
    tree: dict[str, tuple[int, int]]  # the bundle's files as unpacked: path -> (size, mtime)
    bin_dir: Path  # PATH for the bundle's programs: the system's programs but FFmpeg


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}


def _path_without_ffmpeg(folder: Path) -> Path:
    folder.mkdir()
    for system in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if not os.path.isdir(system):
            continue
        for name in os.listdir(system):
            link = folder / name
            if name not in HIDDEN and not link.exists() and not link.is_symlink():
                link.symlink_to(os.path.join(system, name))
    return folder


@pytest.fixture(scope="session")
def downloads(tmp_path_factory) -> Iterator[Downloads]:
    given = os.environ.get("TABLAO_TEST_DIST")
    if given:
        dist = Path(given).resolve()
    else:
        dist = tmp_path_factory.mktemp("dist")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        done = subprocess.run([sys.executable, "packaging/build.py", "--dist", str(dist)], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=1700)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        print(done.stdout)
    tar = dist / f"tablao-{VERSION}-linux-x86_64.tar.gz"
    deb = dist / f"tablao_{VERSION}_amd64.deb"
    assert tar.is_file() and deb.is_file(), sorted(dist.iterdir())
    root = tmp_path_factory.mktemp("unpacked")
    subprocess.run(["tar", "-xzf", str(tar), "-C", str(root)], check=True)
    assert [p.name for p in root.iterdir()] == [f"tablao-{VERSION}"], "the tar.gz holds one folder"
    bundle = root / f"tablao-{VERSION}"
    # Read-only, as in a system folder (root ignores the bits: the tree is also compared after each use).
    subprocess.run(["chmod", "-R", "a-w", str(bundle)], check=True)
    # Not under /tmp: the worker's sandbox gives its programs a /tmp of their own, and they need PATH too.
    with tempfile.TemporaryDirectory(prefix="tablao-test-path-", dir="/var/tmp") as path_root:
        bin_dir = _path_without_ffmpeg(Path(path_root) / "bin")
        yield Downloads(tar, deb, bundle, _tree(bundle), bin_dir)


def _env(d: Downloads, home: Path, **extra: str) -> dict[str, str]:
    """A studio user's environment: their own home, no Python environment, no FFmpeg on PATH."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "TABLAO_HOME", "DISPLAY", "QT_QPA_PLATFORM",
            "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_BIN_HOME"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), PATH=str(d.bin_dir), **extra)
    return env


def _unchanged(d: Downloads) -> None:
    assert _tree(d.bundle) == d.tree, "the program wrote into its own folder"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
        except OSError:
            result = None
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _start(argv: list[str], env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(argv, env=env, cwd=cwd, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def test_the_bundle_runs_without_python_or_ffmpeg_on_path(downloads: Downloads, tmp_path: Path):
    d = downloads
    env = _env(d, tmp_path / "home")
    assert shutil.which("ffmpeg", path=env["PATH"]) is None and shutil.which("python3", path=env["PATH"]) \
        != str(Path(sys.executable))
    for program in ("tablao", "farm"):
        assert os.access(d.bundle / program, os.X_OK), program
    done = subprocess.run([str(d.bundle / "tablao"), "--version"], env=env, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"tablao {VERSION}", done.stdout + done.stderr
    done = subprocess.run([str(d.bundle / "farm"), "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "harvest" in done.stdout, done.stderr
    names = {p.name for p in (d.bundle / "addon").iterdir()}
    assert names == {f"tablao-{VERSION}-legacy.zip", f"tablao-{VERSION}-extension.zip"}
    for script in ("install.sh", "uninstall.sh"):
        assert os.access(d.bundle / script, os.X_OK), script
    _unchanged(d)


def test_a_headless_manager_and_worker_from_the_bundle_render_a_job_and_its_video(downloads: Downloads,
                                                                                  tmp_path: Path):
    d = downloads
    home = tmp_path / "home"
    env = _env(d, home, PYTHONUNBUFFERED="1")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    shared = tmp_path / "shared"
    shared.mkdir()
    config = home / ".config" / "tablao" / "flamenco-manager.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(f"_meta:\n  version: 3\nlisten: 127.0.0.1:{port}\nshared_storage_path: {shared}\n")
    # Started from inside the read-only bundle: nothing may be written relative to the working folder.
    manager_log, worker_log = tmp_path / "manager.log", tmp_path / "worker.log"
    manager = _start([str(d.bundle / "tablao"), "manager", "--headless"], env, d.bundle, manager_log)
    worker = None
    try:
        version = _wait(lambda: _get(f"{url}/api/v3/version"), 60, "the Manager", manager, manager_log)
        assert version["name"] == "Tablao" and VERSION in version["version"]
        types = _get(f"{url}/api/v3/jobs/types")["job_types"]
        assert "simple-blender-render" in {t["name"] for t in types}, manager_log.read_text()[-3000:]
        # The add-on it hands out is the one the bundle carries, with its address.
        with (urllib.request.urlopen(f"{url}/tablao-addon.zip", timeout=10) as resp,
              zipfile.ZipFile(io.BytesIO(resp.read())) as zf):
            assert json.loads(zf.read("tablao_blender/manager.json")) == {"manager_url": f"{url}/"}
            assert "tablao_blender/__init__.py" in zf.namelist()

        blend = make_blend(shared / "project" / "shot.blend", frames=3, samples=1, width=32, height=24)
        out = shared / "renders"
        job = blender_job(blend, out, frames="1-3", chunk_size=3, name="bundle render")
        request = urllib.request.Request(f"{url}/api/v3/jobs", data=json.dumps(job).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            job_id = json.loads(resp.read())["id"]
        worker = _start([str(d.bundle / "tablao"), "worker", "--headless", "--manager", url, "--name", "bundled"],
                        env, d.bundle, worker_log)
        status = _wait(lambda: _get(f"{url}/api/v3/jobs/{job_id}")["status"] in ("completed", "failed")
                       and _get(f"{url}/api/v3/jobs/{job_id}")["status"], 300, "the job", worker, worker_log)
        tasks = _get(f"{url}/api/v3/jobs/{job_id}/tasks")["tasks"]
        logs = {t["task_type"]: _tail(url, t["id"]) for t in tasks}
        assert status == "completed", (tasks, logs, worker_log.read_text()[-3000:])
        frames = sorted(p.name for p in (out / "frames").glob("*.png"))
        assert frames == ["000001.png", "000002.png", "000003.png"]
        videos = list((out / "frames").glob("*.mp4"))
        assert len(videos) == 1 and videos[0].read_bytes()[4:8] == b"ftyp", videos
        bundled_ffmpeg = str(d.bundle / "_internal" / "ffmpeg" / "ffmpeg")
        assert bundled_ffmpeg in logs["ffmpeg"], logs["ffmpeg"]
    finally:
        if worker is not None:
            _stop(worker)
        _stop(manager)
    # What the programs wrote is in the user's folders.
    assert (home / ".config" / "tablao" / "tablao-admin-token").is_file()
    assert list((home / ".local" / "share" / "tablao").rglob("*")), "the worker keeps its data there"
    _unchanged(d)


def _tail(url: str, task_id: str) -> str:
    with urllib.request.urlopen(f"{url}/api/v3/tablao/tasks/{task_id}/log", timeout=10) as resp:
        return resp.read().decode("utf-8", "replace")


@pytest.fixture
def xvfb(tmp_path: Path):
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("needs Xvfb and xdotool")
    with private_display("1280x900x24") as display:
        yield display


def _desktop_exec(desktop: Path) -> list[str]:
    """The command the menu entry runs: its Exec line, unquoted as the desktop entry spec says."""
    line = next(ln for ln in desktop.read_text().splitlines() if ln.startswith("Exec="))
    value = line.removeprefix("Exec=").replace("\\\\", "\\")
    return [arg for arg in shlex.split(value) if not arg.startswith("%")]


def test_install_sh_adds_a_menu_entry_that_opens_the_wizard(downloads: Downloads, tmp_path: Path, xvfb: str):
    d = downloads
    home = tmp_path / "home"
    env = _env(d, home)
    # --user: as root (CI) it would install for everyone, in /usr/local.
    done = subprocess.run([str(d.bundle / "install.sh"), "--user"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    share, bin_dir = home / ".local" / "share", home / ".local" / "bin"
    desktop = share / "applications" / f"{APP_ID}.desktop"
    assert desktop.is_file() and (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (share / "icons" / "hicolor" / "256x256" / "apps" / f"{APP_ID}.png").is_file()
    assert os.readlink(bin_dir / "tablao") == str(d.bundle / "tablao")
    linked = subprocess.run([str(bin_dir / "tablao"), "--version"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert linked.stdout.strip() == f"tablao {VERSION}", linked.stderr
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout + check.stderr
    if shutil.which("appstreamcli"):
        check = subprocess.run(["appstreamcli", "validate", "--no-net", str(share / "metainfo" /
                                                                         f"{APP_ID}.metainfo.xml")],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr

    # Double-click: what the menu runs, in the user's home folder, on a screen.
    argv = _desktop_exec(desktop)
    assert argv == [str(d.bundle / "tablao")], argv
    log = tmp_path / "gui.log"
    gui = _start(argv, _env(d, home, DISPLAY=xvfb), home, log)
    try:
        found = _wait(lambda: subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Set up Tablao"],
                                             env={**os.environ, "DISPLAY": xvfb}, capture_output=True,
                                             text=True).stdout.split(), 120, "the setup wizard", gui, log)
        assert found
        time.sleep(2)  # let it finish drawing its first page
        from PIL import ImageGrab

        shot = ImageGrab.grab(xdisplay=xvfb)
        path = tmp_path / "bundle-wizard.png"
        shot.save(path)
        print(f"screenshot of the wizard: {path}")
        copy_to = os.environ.get("TABLAO_TEST_SCREENSHOTS")
        if copy_to:
            Path(copy_to).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(copy_to) / path.name)
        assert len(shot.convert("RGB").getcolors(1 << 20) or []) > 50, "the screen is (nearly) blank"
    finally:
        _stop(gui)
    assert (home / ".config" / "tablao").is_dir(), "the first launch keeps its Manager in the user's folders"

    done = subprocess.run([str(d.bundle / "uninstall.sh"), "--user"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not desktop.exists() and not (bin_dir / "tablao").is_symlink() and not (bin_dir / "farm").is_symlink()
    assert not list(share.rglob(f"{APP_ID}*")), list(share.rglob(f"{APP_ID}*"))
    assert not (share / "icons").exists() and not (share / "applications").exists(), "empty folders left"
    _unchanged(d)


SYSTEM_ROOTS = ("/etc", "/opt", "/usr", "/var/lib", "/var/cache")
#: Bookkeeping that dpkg and the system keep whatever is installed.
SYSTEM_NOISE = ("/var/lib/dpkg/", "/var/cache/debconf/", "/var/lib/systemd/", "/etc/ld.so.cache",
                "/var/cache/ldconfig/", "/var/lib/ucf/")


def _system_files() -> set[str]:
    found = set()
    for root in SYSTEM_ROOTS:
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = os.path.join(folder, name)
                if not path.startswith(SYSTEM_NOISE):
                    found.add(path)
    return found


def test_the_deb_has_its_files_and_units_and_purges_clean(downloads: Downloads, tmp_path: Path):
    d = downloads
    listing = subprocess.run(["dpkg-deb", "-c", str(d.deb)], capture_output=True, text=True, check=True).stdout
    paths = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    for path in ("/opt/tablao/tablao", "/opt/tablao/farm", "/opt/tablao/_internal/ffmpeg/ffmpeg",
                 f"/opt/tablao/addon/tablao-{VERSION}-legacy.zip", "/usr/bin/tablao", "/usr/bin/farm",
                 f"/usr/share/applications/{APP_ID}.desktop", f"/usr/share/metainfo/{APP_ID}.metainfo.xml",
                 f"/usr/share/icons/hicolor/256x256/apps/{APP_ID}.png",
                 "/usr/lib/systemd/system/tablao-manager.service", "/usr/lib/systemd/system/tablao-worker.service",
                 "/usr/lib/systemd/system/tablao-hub.service",
                 "/usr/share/doc/tablao/copyright", "/usr/share/doc/tablao/README.Debian"):
        assert path in paths, path
    assert not any(p.endswith(("install.sh", ".pyc")) or "__pycache__" in p for p in paths)
    assert not any(p.startswith(("/etc/systemd/", "/lib/systemd/system/multi-user")) for p in paths), \
        "the units are installed, not enabled"
    control = subprocess.run(["dpkg-deb", "-f", str(d.deb)], capture_output=True, text=True, check=True).stdout
    assert f"Version: {VERSION}" in control and "Architecture: amd64" in control
    units = _units(d.deb, tmp_path / "units")
    assert set(units) == {"tablao-manager.service", "tablao-worker.service", "tablao-hub.service"}
    for name, text in units.items():
        for line in ("User=tablao", "Restart=on-failure", "[Install]", "WantedBy=multi-user.target"):
            assert line in text, (name, line)
    assert "KillMode=control-group" in units["tablao-worker.service"]
    assert "StandardOutput=file" not in "".join(units.values()), "they log to the journal"

    if os.geteuid() != 0 or shutil.which("dpkg") is None or shutil.which("systemd-analyze") is None:
        pytest.skip("installing the .deb needs root, dpkg and systemd-analyze (CI has them)")
    if subprocess.run(["dpkg", "-s", "tablao"], capture_output=True).returncode == 0:
        pytest.skip("a tablao package is installed on this machine; not touching it")
    before = _system_files()
    installed = subprocess.run(["dpkg", "-i", str(d.deb)], capture_output=True, text=True, timeout=600)
    try:
        assert installed.returncode == 0, installed.stdout + installed.stderr
        assert subprocess.run(["getent", "passwd", "tablao"], capture_output=True).returncode == 0
        done = subprocess.run(["/usr/bin/tablao", "--version"], capture_output=True, text=True, timeout=60,
                              env=_env(d, tmp_path / "home"))
        assert done.stdout.strip() == f"tablao {VERSION}", done.stderr
        verify = subprocess.run(["systemd-analyze", "verify", "/usr/lib/systemd/system/tablao-manager.service",
                                 "/usr/lib/systemd/system/tablao-worker.service",
                                 "/usr/lib/systemd/system/tablao-hub.service"],
                                capture_output=True, text=True, timeout=120)
        assert verify.returncode == 0 and not verify.stderr.strip() and not verify.stdout.strip(), \
            verify.stdout + verify.stderr
    finally:
        purged = subprocess.run(["dpkg", "--purge", "tablao"], capture_output=True, text=True, timeout=600)
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert subprocess.run(["getent", "passwd", "tablao"], capture_output=True).returncode != 0
    left = sorted(_system_files() - before)
    assert not left, f"left behind after purge: {left[:20]}"


def _units(deb: Path, into: Path) -> dict[str, str]:
    """The package's systemd units, read from its files (one pass over the archive)."""
    into.mkdir()
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(into), "--wildcards", "./usr/lib/systemd/system/*"], stdin=tar.stdout,
                   check=True)
    tar.wait()
    return {p.name: p.read_text() for p in (into / "usr" / "lib" / "systemd" / "system").iterdir()}
