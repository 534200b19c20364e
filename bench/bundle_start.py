"""How fast the bundled program opens, beside the same from the Python environment.

Starts Xvfb, then for each program (the bundle's `tablao`, and `python -m app` from this environment)
measures the seconds from starting the process to its window being shown (`xdotool search`): the
setup wizard on a first launch (an empty home folder), and the dashboard of a Manager-mode computer
(a home folder with `tablao-desktop.yaml` and a Manager config; the local Manager starts first). Each
run is a fresh process in a fresh home folder. `--cold` (root) empties the kernel's page cache before
each run, so every file is read from disk as after a reboot; without it the disk cache is whatever
earlier runs left.

    python packaging/build.py --no-deb && .venv/bin/python bench/bundle_start.py [--runs 1] [--cold]
    .venv/bin/python bench/bundle_start.py --bundle path/to/tablao-0.1.0
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
WINDOWS = {"wizard": "^Set up Tablao$", "dashboard": "^Tablao$"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _xvfb() -> tuple[subprocess.Popen, str]:
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        return proc, ":" + f.readline().strip()


def _home(kind: str, root: Path) -> Path:
    home = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=root))
    if kind == "dashboard":
        port = _free_port()
        config = home / ".config" / "tablao"
        config.mkdir(parents=True)
        (home / "shared").mkdir()
        (config / "tablao-desktop.yaml").write_text("role: manager\n")
        (config / "flamenco-manager.yaml").write_text(
            f"_meta:\n  version: 3\nlisten: 127.0.0.1:{port}\nshared_storage_path: {home / 'shared'}\n")
    return home


def time_to_window(argv: list[str], env: dict[str, str], cwd: Path, kind: str, display: str,
                   timeout: float = 120.0) -> float:
    """Seconds from starting `argv` until its `kind` window is visible."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        while time.monotonic() - t0 < timeout:
            found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", WINDOWS[kind]],
                                   env={**os.environ, "DISPLAY": display}, capture_output=True, text=True)
            if found.stdout.strip():
                return time.monotonic() - t0
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited with {proc.returncode} before its {kind} window")
            time.sleep(0.05)
        raise RuntimeError(f"no {kind} window within {timeout:.0f} s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "build" / "stage" / f"tablao-{VERSION}")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--cold", action="store_true", help="drop the page cache before each run (root)")
    args = parser.parse_args()
    if not (args.bundle / "tablao").is_file():
        print(f"no bundle at {args.bundle}: run `python packaging/build.py --no-deb` first", file=sys.stderr)
        return 2
    base = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "VIRTUAL_ENV", "TABLAO_HOME", "QT_QPA_PLATFORM") and not k.startswith("XDG_")}
    programs = {
        "bundle": ([str(args.bundle / "tablao")], {}, args.bundle),
        "venv": ([sys.executable, "-m", "app"], {"PYTHONPATH": str(ROOT)}, ROOT),
    }
    xvfb, display = _xvfb()
    results: dict[tuple[str, str], list[float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="tablao-bench-start-") as tmp:
            for _ in range(args.runs):
                for kind in WINDOWS:
                    for name, (argv, extra, cwd) in programs.items():
                        home = _home(kind, Path(tmp))
                        env = {**base, **extra, "HOME": str(home), "DISPLAY": display}
                        if args.cold:
                            os.sync()
                            Path("/proc/sys/vm/drop_caches").write_text("3\n")
                        seconds = time_to_window(argv, env, cwd, kind, display)
                        results.setdefault((name, kind), []).append(seconds)
                        print(f"{name:7s} {kind:9s} {seconds:6.2f} s", flush=True)
    finally:
        xvfb.terminate()
        xvfb.wait()
    print(f"\nfirst run{' (page cache dropped before each)' if args.cold else ''}, seconds to the window:")
    for kind in WINDOWS:
        b, v = results[("bundle", kind)][0], results[("venv", kind)][0]
        print(f"  {kind:9s} bundle {b:5.2f}  venv {v:5.2f}  ratio {b / v:4.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
