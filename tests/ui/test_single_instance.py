"""One Tablao per user: the launch message, and the running program's socket under abuse.

The socket is the real QLocalServer of app/ui/instance.py, in a private folder; the clients are
plain Unix sockets (as anything on the computer could be), `hand_over` (as a later `tablao`) and,
where the tests run as root, a process of another user.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from app.ui.instance import (
    MAX_CLIENTS,
    MAX_MESSAGE,
    BadLaunchRequest,
    InstancePlace,
    LaunchRequest,
    claim,
    hand_over,
    private_folder,
)
from tests.ui.conftest import ROOT, wait_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets and folder modes")


# --- the message ----------------------------------------------------------------------------------------
def test_a_request_round_trips_and_anything_else_is_refused_with_a_reason():
    request = LaunchRequest(open="dashboard", managers=("http://render:8080/",), job="0f0e0d0c-1111-2222")
    assert LaunchRequest.decode(request.encode().rstrip(b"\n")) == request
    good = {"tablao": 1, "open": "desktop", "managers": [], "job": ""}
    refused = {
        b"not json": "not JSON",
        json.dumps([1, 2]).encode(): "other keys",
        json.dumps({**good, "run": "rm -rf /"}).encode(): "other keys",
        json.dumps({**good, "tablao": 2}).encode(): "version 1",
        json.dumps({**good, "open": "shell"}).encode(): "cannot open",
        json.dumps({**good, "job": "../../etc/passwd"}).encode(): "not a job id",
        json.dumps({**good, "job": 7}).encode(): "not a job id",
        json.dumps({**good, "managers": "http://x/"}).encode(): "list of URLs",
        json.dumps({**good, "managers": ["http://x/"] * 17}).encode(): "at most 16",
        json.dumps({**good, "managers": ["file:///etc/passwd"]}).encode(): "not a Manager URL",
        json.dumps({**good, "managers": ["javascript:alert(1)"]}).encode(): "not a Manager URL",
        json.dumps({**good, "managers": ["http://user:pw@render:8080/"]}).encode(): "not a Manager URL",
        json.dumps({**good, "managers": ["http://render:8080/\nX: y"]}).encode(): "no spaces",
        json.dumps({**good, "managers": ["http://render:99999/"]}).encode(): "not a Manager URL",
        json.dumps({**good, "managers": ["http://" + "a" * 600]}).encode(): "at most 512",
        b"{" + b" " * MAX_MESSAGE + b"}": "too long",
    }
    for line, said in refused.items():
        with pytest.raises(BadLaunchRequest, match=said):
            LaunchRequest.decode(line)


def test_the_private_folder_is_made_0700_and_one_of_another_owner_or_a_link_is_not_used(tmp_path):
    made = private_folder(tmp_path / "run")
    assert made is not None and (made.stat().st_mode & 0o777) == 0o700
    (tmp_path / "open").mkdir(mode=0o777)
    assert private_folder(tmp_path / "open") is not None
    assert (tmp_path / "open").stat().st_mode & 0o777 == 0o700, "tightened"
    (tmp_path / "link").symlink_to(tmp_path / "open")
    assert private_folder(tmp_path / "link") is None
    if os.geteuid() == 0:
        theirs = tmp_path / "theirs"
        theirs.mkdir()
        os.chown(theirs, 65534, 65534)
        assert private_folder(theirs) is None


# --- the running program's socket ---------------------------------------------------------------------------
@pytest.fixture
def place():
    """A private folder under /tmp (short enough for a socket path)."""
    folder = Path(tempfile.mkdtemp(prefix="tablao-test-"))
    try:
        yield InstancePlace(folder / "app.lock", str(folder / "app.sock"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _raw(path: str, payload: bytes, read: bool = True, timeout: float = 10.0) -> bytes:
    """Send `payload` over a plain Unix socket and read until the server closes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(path)
        try:
            conn.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):  # cut off before it could send
            return b""
        answer = b""
        while read:
            try:
                chunk = conn.recv(65536)
            except ConnectionResetError:  # closed by the server with our bytes unread
                break
            if not chunk:
                break
            answer += chunk
        return answer


@pytest.mark.slow  # waits out the read timeout
def test_requests_arrive_and_abuse_is_answered_or_dropped(qloop, place):
    server = claim(place)
    assert server is not None and server.listening
    got: list[LaunchRequest] = []
    server.requested.connect(got.append)

    async def body():
        assert claim(place) is None, "a second program finds the lock taken"
        reply = await asyncio.to_thread(hand_over, LaunchRequest(job="j-1"), place)
        assert reply == {"ok": True, "pid": os.getpid()}
        await wait_for(lambda: got == [LaunchRequest(job="j-1")], 5, "the request")

        shell = b'{"tablao": 1, "open": "shell", "managers": [], "job": ""}\n'
        bad = json.loads(await asyncio.to_thread(_raw, place.name, shell))
        assert bad["ok"] is False and "cannot open" in bad["error"]
        huge = await asyncio.to_thread(_raw, place.name, b"x" * (MAX_MESSAGE + 10))
        assert json.loads(huge) == {"ok": False, "error": "the message is too long"}

        # Slow or silent clients are dropped after the read timeout; while they hold their places,
        # more than MAX_CLIENTS at once are cut off at once.
        silent = []
        for _ in range(MAX_CLIENTS):
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(place.name)
            silent.append(conn)
        await wait_for(lambda: server.connections == MAX_CLIENTS, 5, "the silent ones taken in")
        extra = await asyncio.to_thread(_raw, place.name, LaunchRequest().encode())
        assert extra == b"", "one more is cut off, not served"
        for conn in silent:
            conn.settimeout(15)  # dropped after READ_TIMEOUT_MS (3 s), not kept forever
            assert await asyncio.to_thread(conn.recv, 10) == b""
            conn.close()
        assert server.connections == 0
        elsewhere = LaunchRequest(open="dashboard", managers=("http://r:8080/",))
        reply = await asyncio.to_thread(hand_over, elsewhere, place)
        assert reply["ok"] is True, "served again once the silent ones were dropped"
        await wait_for(lambda: len(got) == 2, 5, "the second request")
        assert got[1].managers == ("http://r:8080/",)

    try:
        qloop.run_until_complete(body())
    finally:
        server.close()
    assert claim(place) is not None, "closed: the next launch is the program"


# The other user's client needs only the standard library: the system's Python, which any user may run
# (this test's own interpreter may live in a folder only root can enter).
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin") or ""


def _nobody_can_run_python() -> bool:
    if os.geteuid() != 0 or not SYSTEM_PYTHON:
        return False
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", "pass"], user=65534, capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(not _nobody_can_run_python(), reason="needs root to act as another user")
def test_another_user_cannot_talk_to_it_even_through_an_open_folder(qloop, place, caplog):
    server = claim(place)
    got: list[LaunchRequest] = []
    server.requested.connect(got.append)
    client = ("import socket, sys\n"
              "s = socket.socket(socket.AF_UNIX)\n"
              "try:\n"
              "    s.connect(sys.argv[1])\n"
              "    s.sendall(b'{\"tablao\":1,\"open\":\"desktop\",\"managers\":[],\"job\":\"x\"}\\n')\n"
              "    print('answer', s.recv(100))\n"
              "except OSError as exc:\n"
              "    print('refused', exc.errno)\n")

    async def as_nobody() -> str:
        proc = await asyncio.create_subprocess_exec(SYSTEM_PYTHON, "-c", client, place.name, user=65534,
                                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out, _ = await proc.communicate()
        return out.decode()

    async def body():
        assert (await as_nobody()).startswith("refused 13"), "the private folder keeps other users out"
        # Were the folder and the socket opened up by mistake, the peer's uid still is not ours.
        os.chmod(Path(place.name).parent, 0o755)
        os.chmod(place.name, 0o777)
        assert (await as_nobody()).strip() in ("answer b''", "refused 104", "refused 32"), "cut off"
        await asyncio.sleep(0.3)
        assert got == [] and "refused a launch message from uid 65534" in caplog.text

    try:
        qloop.run_until_complete(body())
    finally:
        server.close()


# --- the real program ---------------------------------------------------------------------------------
class App:
    """`python -m app ...` as a user starts it, with its own TABLAO_HOME (and so its own socket)."""

    def __init__(self, home: Path):
        self.home = home
        self.env = dict(os.environ, TABLAO_HOME=str(home), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT),
                        PYTHONUNBUFFERED="1")
        self.log = home / "app.log"
        self.proc: subprocess.Popen | None = None

    @classmethod
    def set_up(cls, home: Path) -> App:
        (home / "shared").mkdir(parents=True)
        (home / "flamenco-manager.yaml").write_text(
            f"_meta:\n  version: 3\nlisten: 127.0.0.1:0\nshared_storage_path: {home / 'shared'}\n")
        (home / "tablao-desktop.yaml").write_text("role: manager\n")
        return cls(home)

    def start(self) -> App:
        with open(self.log, "ab") as log:  # the app keeps its own descriptor
            self.proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)
        self.wait_for_log("listening on http://", 60)
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, words: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while words not in self.text():
            assert self.proc.poll() is None, self.text()[-3000:]
            assert time.monotonic() < deadline, f"no {words!r} in:\n{self.text()[-3000:]}"
            time.sleep(0.1)

    @property
    def manager_url(self) -> str:
        line = next(ln for ln in self.text().splitlines() if "listening on http://" in ln)
        return line.split("listening on ")[1].split("/ ")[0]

    def launch(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=60)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _submit(url: str, name: str) -> str:
    import urllib.request

    body = {"name": name, "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": name, "sleep_duration_seconds": 0, "sleep_repeats": 1}}
    req = urllib.request.Request(url + "/api/v3/jobs", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())["id"]


@pytest.mark.slow  # the desktop app, launched three times as a user would
def test_a_second_launch_hands_over_and_the_running_app_selects_the_job(tmp_path, manager_proc):
    app = App.set_up(tmp_path / "home").start()
    try:
        local_job = _submit(app.manager_url, "here")
        second = app.launch("--job", local_job)
        assert second.returncode == 0, second.stderr
        assert f"runs already (pid {app.proc.pid})" in second.stderr
        app.wait_for_log(f"selected job {local_job}")

        # The Blender add-on's "Open in Dashboard" on a job of another Manager: watched too, selected.
        elsewhere = manager_proc.submit_echo("elsewhere")["id"]
        third = app.launch("--manager", manager_proc.url + "/", "--job", elsewhere)
        assert third.returncode == 0, third.stderr
        app.wait_for_log(f"selected job {elsewhere}")
        # A plain `tablao`, and the dashboard command, only bring the window up.
        assert app.launch().returncode == 0
        assert app.launch("dashboard").returncode == 0
        refused = app.launch("--manager", "http://render:8080/", "--job", "../x")
        assert refused.returncode == 2 and "not a job id" in refused.stderr
        assert app.proc.poll() is None and "Traceback" not in app.text()
    finally:
        app.stop()


@pytest.mark.slow  # over 2 s
def test_a_socket_left_by_a_crashed_program_is_taken_over(tmp_path):
    first = App.set_up(tmp_path / "home").start()
    first.stop()  # SIGKILL: the lock and the socket file stay behind
    second = App(first.home)
    second.log = first.home / "second.log"
    second.start()
    try:
        handed = second.launch("--job", "abc")
        assert handed.returncode == 0 and f"(pid {second.proc.pid})" in handed.stderr, handed.stderr
    finally:
        second.stop()
