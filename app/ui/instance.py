"""One Tablao desktop program per user: a later `tablao` hands its request to the running one.

The running program holds a lock file and listens on a local socket (QLocalServer), both in a
folder only its user may enter: `$XDG_RUNTIME_DIR/tablao`, else `tablao-<uid>` in the temp folder,
else `run` in Tablao's config folder; a folder is used only when it is a real folder (not a link)
owned by this user, and its mode is made 0700. A later launch finds the lock taken, connects,
sends one `LaunchRequest` as a line of JSON and exits once the running program answered.

The names carry a hash of the config folder, so a `TABLAO_HOME` (tests, a second studio setup)
is a program of its own. Against other users of the computer: the private folder, the socket
restricted to its user (`UserAccessOption`), and on Linux the peer's uid read from the connection
(SO_PEERCRED), which must be ours. A message is at most `MAX_MESSAGE` bytes, must arrive within
`READ_TIMEOUT_MS`, may name only known keys with checked values, and at most `MAX_CLIENTS`
connections are served at once; anything else is answered with an error or dropped. A lock left
by a crashed program is taken over (QLockFile checks that its pid still runs) and its socket file
removed before listening.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import stat
import struct
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtCore import QLockFile, QObject, QTimer, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.common.paths import config_dir

_log = logging.getLogger(__name__)

MAX_MESSAGE = 8 * 1024
MAX_CLIENTS = 4
READ_TIMEOUT_MS = 3000
MAX_MANAGERS = 16
MAX_URL = 512
PROTOCOL = 1
OPEN_DESKTOP, OPEN_DASHBOARD = "desktop", "dashboard"
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_SOCKET_PATH_MAX = 100  # sun_path is 104 bytes on macOS, 108 on Linux


class BadLaunchRequest(ValueError):
    """A request that is not one `tablao` sends; the message says what is wrong with it."""


class InstanceUnreachable(RuntimeError):
    """Another Tablao holds the lock but does not answer."""


@dataclass(frozen=True)
class LaunchRequest:
    """What a launch asks for: the desktop app (its window) or a dashboard of `managers`; a job to
    select. `managers` empty with a dashboard: the Managers the running program watches already."""

    open: str = OPEN_DESKTOP
    managers: tuple[str, ...] = field(default_factory=tuple)
    job: str = ""

    def __post_init__(self) -> None:
        if self.open not in (OPEN_DESKTOP, OPEN_DASHBOARD):
            raise BadLaunchRequest(f"cannot open {self.open!r}")
        if not isinstance(self.managers, tuple) or len(self.managers) > MAX_MANAGERS:
            raise BadLaunchRequest(f"at most {MAX_MANAGERS} Manager URLs")
        for url in self.managers:
            check_manager_url(url)
        if not isinstance(self.job, str) or (self.job and not _JOB_ID.fullmatch(self.job)):
            raise BadLaunchRequest(f"{str(self.job)[:80]!r} is not a job id (letters, digits and dashes)")

    def encode(self) -> bytes:
        text = json.dumps({"tablao": PROTOCOL, "open": self.open, "managers": list(self.managers),
                           "job": self.job}, separators=(",", ":"))
        return text.encode() + b"\n"

    @classmethod
    def decode(cls, line: bytes) -> LaunchRequest:
        """The request in `line` (without its newline); raises `BadLaunchRequest`."""
        if len(line) > MAX_MESSAGE:
            raise BadLaunchRequest("the message is too long")
        try:
            raw = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadLaunchRequest("the message is not JSON") from None
        if not isinstance(raw, dict) or set(raw) != {"tablao", "open", "managers", "job"}:
            raise BadLaunchRequest("the message has other keys than tablao, open, managers and job")
        if raw["tablao"] != PROTOCOL:
            raise BadLaunchRequest(f"this Tablao speaks version {PROTOCOL} of the launch message")
        if not isinstance(raw["managers"], list) or not all(isinstance(u, str) for u in raw["managers"]):
            raise BadLaunchRequest("managers must be a list of URLs")
        return cls(open=raw["open"], managers=tuple(raw["managers"]), job=raw["job"])


def check_manager_url(url: object) -> str:
    """`url` when it is an http(s) URL of a Manager (host, optional port, no user or password)."""
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL:
        raise BadLaunchRequest("a Manager URL must be text of at most 512 characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise BadLaunchRequest("a Manager URL has no spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadLaunchRequest(f"{url[:80]!r} is not a Manager URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise BadLaunchRequest(f"{url[:80]!r} is not a Manager URL; give one like http://render-server:8080/")
    if port == 0:
        raise BadLaunchRequest(f"{url[:80]!r} has no usable port")
    return url


# --- where ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InstancePlace:
    """The lock file and the socket name of this user's program (a path, or a pipe on Windows)."""

    lock: Path
    name: str


def instance_place() -> InstancePlace | None:
    """Where this user's program listens; None when no private folder can be had (then every launch
    is a program of its own, as before)."""
    key = hashlib.sha256(str(config_dir().resolve()).encode()).hexdigest()[:12]
    if sys.platform == "win32":  # a named pipe; the lock in the user's own temp folder
        user = re.sub(r"[^A-Za-z0-9_-]", "", os.environ.get("USERNAME", "user"))[:32]
        return InstancePlace(Path(tempfile.gettempdir()) / f"tablao-{key}.lock", f"tablao-{user}-{key}")
    for folder in _candidate_folders():
        private = private_folder(folder)
        if private is not None and len(str(private / f"app-{key}.sock")) <= _SOCKET_PATH_MAX:
            return InstancePlace(private / f"app-{key}.lock", str(private / f"app-{key}.sock"))
    _log.warning("no private folder for the single-instance socket; each launch starts its own program")
    return None


def _candidate_folders() -> list[Path]:
    found = []
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        found.append(Path(runtime) / "tablao")
    found.append(Path(tempfile.gettempdir()) / f"tablao-{os.getuid()}")
    found.append(config_dir() / "run")
    return found


def private_folder(path: Path) -> Path | None:
    """`path`, made if missing, when it is a folder (not a link) owned by this user, mode 0700."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            _log.warning("%s is not a folder of this user; not used for the instance socket", path)
            return None
        if stat.S_IMODE(info.st_mode) != 0o700:
            os.chmod(path, 0o700)
    except OSError as exc:
        _log.debug("cannot use %s for the instance socket: %s", path, exc)
        return None
    return path


def peer_uid(descriptor: int) -> int | None:
    """The uid of the process at the other end of a local socket (Linux); None where not known."""
    if not sys.platform.startswith("linux") or descriptor < 0:
        return None
    with socket.socket(fileno=os.dup(descriptor)) as conn:
        pid, uid, gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                             struct.calcsize("3i")))
    return uid


# --- the running program --------------------------------------------------------------------------------
class InstanceServer(QObject):
    """Held by the running program: its lock, and the socket later launches talk to."""

    requested = Signal(object)  # a valid LaunchRequest

    def __init__(self, place: InstancePlace, lock: QLockFile, parent: QObject | None = None):
        super().__init__(parent)
        self.place = place
        self._lock = lock
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.setMaxPendingConnections(MAX_CLIENTS)
        self._server.newConnection.connect(self._accept)
        self._clients: dict[QLocalSocket, bytearray] = {}
        self._closed = False
        QLocalServer.removeServer(place.name)  # a socket file left by a program that crashed
        if not self._server.listen(place.name):
            _log.warning("later launches cannot reach this program: %s", self._server.errorString())

    @property
    def listening(self) -> bool:
        return self._server.isListening()

    @property
    def connections(self) -> int:
        """Connections being read now (each is bounded by READ_TIMEOUT_MS)."""
        return len(self._clients)

    def close(self) -> None:
        """Stop listening and let the next launch be the program (the end of this one). Once."""
        if self._closed:
            return
        self._closed = True
        for conn in list(self._clients):
            conn.abort()
        self._clients.clear()
        self._server.close()
        self._lock.unlock()

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            conn = self._server.nextPendingConnection()
            if len(self._clients) >= MAX_CLIENTS or not self._same_user(conn):
                conn.abort()
                conn.deleteLater()
                continue
            self._clients[conn] = bytearray()
            conn.readyRead.connect(lambda conn=conn: self._read(conn))
            conn.disconnected.connect(lambda conn=conn: self._forget(conn))
            QTimer.singleShot(READ_TIMEOUT_MS, conn, lambda conn=conn: self._drop(conn, "too slow"))

    @staticmethod
    def _same_user(conn: QLocalSocket) -> bool:
        uid = peer_uid(int(conn.socketDescriptor()))
        if uid is not None and uid != os.getuid():
            _log.warning("refused a launch message from uid %d", uid)
            return False
        return True

    def _read(self, conn: QLocalSocket) -> None:
        buffer = self._clients.get(conn)
        if buffer is None:
            return
        buffer += conn.readAll().data()
        line, newline, _rest = bytes(buffer).partition(b"\n")
        if not newline:
            if len(buffer) > MAX_MESSAGE:
                self._answer(conn, {"ok": False, "error": "the message is too long"})
            return
        try:
            request = LaunchRequest.decode(line)
        except BadLaunchRequest as exc:
            _log.warning("refused a launch message: %s", exc)
            self._answer(conn, {"ok": False, "error": str(exc)})
            return
        self._answer(conn, {"ok": True, "pid": os.getpid()})
        self.requested.emit(request)

    def _answer(self, conn: QLocalSocket, reply: dict) -> None:
        self._clients.pop(conn, None)
        conn.write(json.dumps(reply).encode() + b"\n")
        conn.flush()
        # Deleted once disconnected: deleting it now would drop an answer not yet written out.
        conn.disconnected.connect(conn.deleteLater)
        conn.disconnectFromServer()

    def _drop(self, conn: QLocalSocket, why: str) -> None:
        if self._clients.pop(conn, None) is not None:
            _log.info("dropped a launch connection: %s", why)
            conn.abort()
            conn.deleteLater()

    def _forget(self, conn: QLocalSocket) -> None:
        if self._clients.pop(conn, None) is not None:
            conn.deleteLater()


def take_lock(place: InstancePlace | None) -> QLockFile | None | bool:
    """The instance lock, taken (this launch is the program); None when another program holds it;
    False where there is no private place or the lock cannot be had (the program runs unguarded).
    Needs no QApplication: a later launch hands over without making one."""
    if place is None:
        return False
    lock = QLockFile(str(place.lock))
    lock.setStaleLockTime(0)  # only a dead holder makes it stale, however long the program runs
    if lock.tryLock(0):
        return lock
    if lock.error() != QLockFile.LockError.LockFailedError:
        _log.warning("cannot take the instance lock %s (%s); running on our own", place.lock, lock.error())
        return False
    return None


def serve(place: InstancePlace | None, lock: QLockFile | bool) -> InstanceServer | _Unguarded:
    """The running program's side, once the QApplication exists."""
    if place is None or not isinstance(lock, QLockFile):
        return _Unguarded()
    return InstanceServer(place, lock)


def claim(place: InstancePlace | None = None) -> InstanceServer | _Unguarded | None:
    """This launch's `InstanceServer` when it is the user's program; None when another one runs."""
    place = place or instance_place()
    lock = take_lock(place)
    return None if lock is None else serve(place, lock)


class _Unguarded(QObject):
    """Stands in for `InstanceServer` where no private place exists: nothing to hand over to."""

    requested = Signal(object)
    listening = False

    def close(self) -> None:
        pass


# --- a later launch ---------------------------------------------------------------------------------------
def hand_over(request: LaunchRequest, place: InstancePlace | None = None, timeout_s: float = 10.0) -> dict:
    """Send `request` to the running program; returns its answer (`ok`, `pid` or `error`).

    Retries while the running program is still starting its socket. Raises `InstanceUnreachable`
    when none answers within `timeout_s`."""
    place = place or instance_place()
    if place is None:
        raise InstanceUnreachable("no private folder for the instance socket")
    exchange = _exchange_pipe if sys.platform == "win32" else _exchange_unix
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            answer = exchange(place.name, request.encode(), deadline)
            break
        except (ConnectionRefusedError, FileNotFoundError, InstanceUnreachable) as exc:
            if time.monotonic() > deadline:
                raise InstanceUnreachable(f"Tablao runs but does not answer on {place.name}: {exc}") from None
            time.sleep(0.2)
    try:
        reply = json.loads(answer.partition(b"\n")[0] or b"null")
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        raise InstanceUnreachable("the running Tablao did not answer")
    return reply


def _exchange_unix(path: str, payload: bytes, deadline: float) -> bytes:
    """A plain Unix socket (what QLocalServer listens on there): send, read up to the answer's newline."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(max(0.1, deadline - time.monotonic()))
        conn.connect(path)
        conn.sendall(payload)
        answer = b""
        try:
            while b"\n" not in answer and len(answer) <= MAX_MESSAGE:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return answer


def _exchange_pipe(name: str, payload: bytes, deadline: float) -> bytes:
    """Windows: a named pipe, through QLocalSocket."""
    conn = QLocalSocket()
    conn.connectToServer(name)
    if not conn.waitForConnected(1000):
        raise InstanceUnreachable(conn.errorString())
    conn.write(payload)
    conn.waitForBytesWritten(2000)
    answer = bytearray()
    while b"\n" not in answer and len(answer) <= MAX_MESSAGE:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0 or (not conn.waitForReadyRead(left_ms) and conn.bytesAvailable() == 0):
            break
        answer += conn.readAll().data()
    conn.abort()
    return bytes(answer)


def take_over_if_stale(place: InstancePlace) -> QLockFile | None:
    """The lock's holder does not answer: when it is gone, take the lock over (None: it lives)."""
    lock = QLockFile(str(place.lock))
    lock.setStaleLockTime(0)
    lock.removeStaleLockFile()  # refuses while a live process holds it (its lock on the file)
    return lock if lock.tryLock(0) else None
