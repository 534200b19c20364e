"""Worker settings and worker credentials.

Owns `WorkerConfig` (defaults in code, overlaid by a `flamenco-worker.yaml`-style YAML file, then by
explicit overrides such as CLI flags) and the credentials file the worker keeps in its data folder.
Nothing here is read at import time; callers load explicitly.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import yaml

from app.api.limits import is_number, is_whole
from app.common.manager_proof import valid_key

_log = logging.getLogger(__name__)

CREDENTIALS_FILENAME = "tablao-worker-credentials.yaml"
QUEUE_DB_FILENAME = "tablao-worker-queue.sqlite"
DEFAULT_CONFIG_FILENAME = "tablao-worker.yaml"
DEFAULT_TASK_TYPES = ("blender", "ffmpeg", "file-management", "misc")
SANDBOX_MODES = ("auto", "on", "off")


class ConfigError(Exception):
    """The worker configuration cannot be used; the message says what to fix."""


def _default_worker_name() -> str:
    for var in ("TABLAO_WORKER_NAME", "FLAMENCO_WORKER_NAME"):
        value = os.environ.get(var, "").strip()
        if value:
            return value
    return socket.gethostname()


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("tablao"))


def default_config_path() -> Path:
    """Where the worker looks for its settings when no path is given."""
    return Path(platformdirs.user_config_dir("tablao")) / DEFAULT_CONFIG_FILENAME


def normalise_manager_url(url: str) -> str:
    """Give a scheme-less URL `http://` and drop a trailing slash; empty stays empty."""
    url = url.strip()
    if not url:
        return ""
    if "://" not in url:
        url = "http://" + url
    return url.rstrip("/")


@dataclass
class WorkerConfig:
    """Everything the worker needs to know before it talks to a Manager.

    `blender_exe` / `ffmpeg_exe` are used when a command asks for plain `blender` / `ffmpeg`;
    empty means "look it up on PATH".
    """

    worker_name: str = field(default_factory=_default_worker_name)
    manager_url: str = ""
    task_types: list[str] = field(default_factory=lambda: list(DEFAULT_TASK_TYPES))
    restart_exit_code: int = 0
    data_dir: Path = field(default_factory=_default_data_dir)
    blender_exe: str = ""
    ffmpeg_exe: str = ""
    #: Seconds the Manager may hold a task request open (Tablao long-poll extension).
    task_wait_s: float = 25.0
    #: Seconds the Manager may hold a may-i-run request open (Tablao long-poll extension).
    may_i_run_wait_s: float = 10.0
    #: Linux: `oom_score_adj` (0-1000) for the programs tasks run, so when memory runs out the
    #: kernel kills Blender rather than the worker. None leaves it alone.
    oom_score_adjust: int | None = None
    #: Render `blender-render` commands in a warm Blender that keeps the file loaded between tasks.
    warm_blender: bool = True
    #: Seconds without work after which the warm Blender is stopped (its memory freed); 0: never.
    warm_blender_idle_s: float = 300.0
    #: Frames after which the warm Blender is replaced by a fresh one; 0: no limit.
    warm_blender_max_frames: int = 1000
    #: Resident memory (MB) above which the warm Blender is replaced after its task; 0: no limit.
    warm_blender_max_memory_mb: int = 0
    #: Look for the Manager again on the network (UPnP/SSDP) when it has not answered for
    #: `rediscover_after_s`, and follow it to a new address (same name, knows this worker).
    rediscover_manager: bool = False
    rediscover_after_s: float = 20.0
    #: Where that search goes, `host` or `host:port` (default port 1900); empty: the SSDP multicast
    #: group of the LAN. For networks where multicast does not pass (list 239.255.255.250 to keep it).
    discovery_targets: list[str] = field(default_factory=list)
    #: Linux: run Blender and FFmpeg inside a bubblewrap sandbox (`app.worker.sandbox`): `auto`
    #: where `bwrap` works, `on` (a task fails when it cannot run), `off`.
    sandbox: str = "auto"
    #: Folders (or files) the sandbox keeps readable although they lie in a hidden folder such as
    #: the home folder: a project folder, an asset library, Blender add-ons.
    sandbox_read_paths: list[str] = field(default_factory=list)
    #: Seconds between reports of the worker's vitals (CPU, memory, GPU, Blender, the frame it renders)
    #: to the Manager while awake (six times as long while asleep); 0: none are sent.
    vitals_every_s: float = 5.0
    #: The GPU backends Cycles may use here (CUDA, OPTIX, HIP, METAL, ONEAPI), or `none`, told to the
    #: Manager at sign-on instead of what the worker finds itself (`app.worker.facts`); unset: found.
    gpu_backends: list[str] | None = None

    @property
    def can_restart(self) -> bool:
        return self.restart_exit_code != 0

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / CREDENTIALS_FILENAME

    @property
    def queue_db_path(self) -> Path:
        return self.data_dir / QUEUE_DB_FILENAME

    @classmethod
    def load(cls, path: Path | None = None, **overrides: Any) -> WorkerConfig:
        """Build the config: defaults, then the YAML file, then non-None `overrides`.

        With `path=None` the platform's default config file is read if it exists (no error if not).
        An explicit `path` that is missing or unreadable, invalid YAML, or values of the wrong type
        raise `ConfigError` with a message naming the file and the key.
        """
        values: dict[str, Any] = {}
        if path is None:
            candidate = default_config_path()
            if candidate.is_file():
                values.update(_read_yaml(candidate))
        else:
            values.update(_read_yaml(Path(path)))
        for key, value in overrides.items():
            if key not in _FIELD_NAMES:
                raise ConfigError(f"unknown worker setting {key!r}")
            if value is not None:
                values[key] = value
        return cls._from_values(values, source=str(path) if path else "defaults")

    @classmethod
    def _from_values(cls, values: dict[str, Any], source: str) -> WorkerConfig:
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            if key not in _FIELD_NAMES:
                # Unknown keys are tolerated so any Flamenco worker file still loads.
                _log.warning("ignoring unknown worker setting %r in %s", key, source)
                continue
            kwargs[key] = _coerce(key, value, source)
        cfg = cls(**kwargs)
        if not cfg.worker_name.strip():
            cfg.worker_name = _default_worker_name()
        cfg.manager_url = normalise_manager_url(cfg.manager_url)
        return cfg

    def to_yaml(self) -> str:
        """The settings as YAML, in the same layout `load` reads."""
        data = dataclasses.asdict(self)
        data["data_dir"] = str(self.data_dir)
        return yaml.safe_dump(data, sort_keys=False)


_FIELD_NAMES = {f.name for f in dataclasses.fields(WorkerConfig)}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"worker config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read worker config file {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"worker config file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"worker config file {path} must hold a mapping of settings, not {type(data).__name__}"
        )
    return data


def _coerce(key: str, value: Any, source: str) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"worker setting {key!r} in {source} must be {expected}, got {value!r}")

    coerce = _COERCERS.get(key)
    return value if coerce is None else coerce(value, bad)


# Each setting's check and conversion: (the value read, the error to raise with what was expected).
_Bad = Callable[[str], ConfigError]


def _text(value: Any, bad: _Bad) -> str:
    if value is None:
        return ""
    if not (isinstance(value, str) or is_number(value)):
        raise bad("a string")
    return str(value)


def _strings(value: Any, bad: _Bad, expected: str) -> list[str]:
    """A list of strings, or one comma-separated string; raises bad(expected) otherwise."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise bad(expected)
    return list(value)


def _task_types(value: Any, bad: _Bad) -> list[str]:
    return [v.strip().lower() for v in _strings(value, bad, "a list of strings") if v.strip()]


def _whole(value: Any, low: int, high: float) -> bool:
    return is_whole(value) and low <= value <= high


def _restart_exit_code(value: Any, bad: _Bad) -> int:
    if not _whole(value, 0, 255):
        raise bad("an integer 0-255")
    return int(value)


def _oom_score_adjust(value: Any, bad: _Bad) -> int | None:
    if value is None:
        return None
    if not _whole(value, 0, 1000):
        raise bad("an integer 0-1000 (higher: killed first when memory runs out)")
    return int(value)


def _discovery_targets(value: Any, bad: _Bad) -> list[str]:
    from app.common.discovery import parse_target

    targets = _strings(value, bad, "a list of host or host:port strings")
    for v in targets:
        try:
            parse_target(v)
        except ValueError as exc:
            raise bad(f"a list of host or host:port strings ({exc})") from None
    return [v.strip() for v in targets if v.strip()]


def _sandbox(value: Any, bad: _Bad) -> str:
    # YAML 1.1 reads a bare `on`/`off` as true/false.
    text = {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value
    if not isinstance(text, str) or text.strip().lower() not in SANDBOX_MODES:
        raise bad("auto, on or off")
    return text.strip().lower()


def _sandbox_read_paths(value: Any, bad: _Bad) -> list[str]:
    paths = [os.path.expanduser(v.strip()) for v in _strings(value, bad, "a list of absolute paths") if v.strip()]
    if not all(os.path.isabs(p) for p in paths):
        raise bad("a list of absolute paths")
    return paths


def _switch(value: Any, bad: _Bad) -> bool:
    if not isinstance(value, bool):
        raise bad("true or false")
    return value


def _limit(value: Any, bad: _Bad) -> int:
    if not _whole(value, 0, float("inf")):
        raise bad("a non-negative integer (0: no limit)")
    return int(value)


def _seconds(value: Any, bad: _Bad) -> float:
    if not is_number(value) or value < 0:
        raise bad("a non-negative number")
    return float(value)


def _folder(value: Any, bad: _Bad) -> Path:
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise bad("a folder path")
    return Path(value).expanduser()


def _gpu_backends(value: Any, bad: _Bad) -> list[str] | None:
    from app.api.requirements import BACKENDS

    if value is None:
        return None
    expected = f"a list of GPU backends ({', '.join(BACKENDS)}) or none"
    if value is False:  # YAML 1.1 reads a bare `no` or `off` as false
        return []
    names = [v.strip().upper() for v in _strings(value, bad, expected) if v.strip()]
    if names in ([], ["NONE"]):
        return []
    if any(n not in BACKENDS for n in names):
        raise bad(expected)
    return names


_COERCERS: dict[str, Callable[[Any, _Bad], Any]] = {
    **dict.fromkeys(("worker_name", "manager_url", "blender_exe", "ffmpeg_exe"), _text),
    "task_types": _task_types,
    "restart_exit_code": _restart_exit_code,
    "oom_score_adjust": _oom_score_adjust,
    "discovery_targets": _discovery_targets,
    "sandbox": _sandbox,
    "gpu_backends": _gpu_backends,
    "sandbox_read_paths": _sandbox_read_paths,
    **dict.fromkeys(("warm_blender", "rediscover_manager"), _switch),
    **dict.fromkeys(("warm_blender_max_frames", "warm_blender_max_memory_mb"), _limit),
    **dict.fromkeys(("task_wait_s", "may_i_run_wait_s", "warm_blender_idle_s", "rediscover_after_s",
                     "vitals_every_s"), _seconds),
    "data_dir": _folder,
}


@dataclass(frozen=True)
class Credentials:
    """The worker's identity at one Manager: its UUID and the secret it chose at registration.

    `manager_key` is the key with which that Manager proves itself (`app.common.manager_proof`);
    "" when it gave none yet (a stock Flamenco Manager, or before the next sign-on). `manager_url`
    is where the worker last signed on to it; a Manager anywhere else must prove itself first.
    """

    worker_id: str
    worker_secret: str
    manager_key: str = ""
    manager_url: str = ""


def load_credentials(path: Path) -> Credentials | None:
    """The saved credentials, or None when there are none (or they are unusable: we re-register)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, yaml.YAMLError) as exc:
        _log.warning("ignoring unreadable credentials file %s: %s", path, exc)
        return None
    if not isinstance(data, dict):
        return None
    worker_id, secret = data.get("worker_id"), data.get("worker_secret")
    if not (isinstance(worker_id, str) and worker_id and isinstance(secret, str) and secret):
        _log.warning("ignoring incomplete credentials file %s", path)
        return None
    key, url = data.get("manager_key", ""), data.get("manager_url", "")
    if key and not valid_key(key):
        _log.warning("ignoring a malformed manager key in %s; the manager gives it again at sign-on", path)
        key = ""
    return Credentials(worker_id, secret, key or "", url if isinstance(url, str) else "")


def save_credentials(path: Path, creds: Credentials) -> None:
    """Write the credentials readable by the owner only (0600), replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"worker_id": creds.worker_id, "worker_secret": creds.worker_secret}
    if creds.manager_key:
        data["manager_key"] = creds.manager_key
    if creds.manager_url:
        data["manager_url"] = creds.manager_url
    text = yaml.safe_dump(data)
    tmp = path.with_name(path.name + ".tmp")
    # Create with 0600 from the start so the secret is never world-readable, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    if sys.platform != "win32":
        os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    _log.info("saved worker credentials to %s", path)
