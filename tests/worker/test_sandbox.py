"""The sandbox with real bubblewrap and small programs (sh, the fake Blender): what it hides, what it
lets through, how it falls back, and its setting. Real Blender and FFmpeg: test_sandbox_blender.py."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from app.worker.commands.base import CommandError
from app.worker.config import ConfigError, WorkerConfig
from app.worker.sandbox import Sandbox, SandboxSpec, blender_spec, ffmpeg_spec
from app.worker.sandbox.policy import Host, SandboxRefused, plan_mounts
from app.worker.sandbox.spec import NO_OUTPUT_NOTE, glob_base
from app.worker.task_runner import TaskOutcome, TaskRunner
from app.worker.warm.pool import TaskHooks, WarmBlenders
from app.worker.warm.request import WarmRequest
from tests.worker.conftest import FAKE_BLENDER, FAKES_READABLE
from tests.worker.recording import RecordingSink, make_context, make_task

BWRAP = shutil.which("bwrap")
needs_bwrap = pytest.mark.skipif(BWRAP is None or sys.platform != "linux",
                                 reason="bubblewrap (Debian package bubblewrap) is not installed")
SH = shutil.which("sh") or "/bin/sh"


@pytest.fixture
def fake_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home folder with secrets, outside /tmp (which the sandbox replaces anyway)."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="tablao-home-", dir="/var/tmp"))
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY\n")
    (home / "secret.txt").write_text("SECRET\n")
    monkeypatch.setenv("HOME", str(home))
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _config(tmp_path: Path, **kwargs) -> WorkerConfig:
    return WorkerConfig(data_dir=tmp_path / "data", **kwargs)


def output(log: str) -> list[str]:
    """The program's own output lines in a task log (not the command line, which quotes the script)."""
    return [line.split(" > ", 1)[1] for line in log.splitlines() if line.startswith("pid=") and " > " in line]


async def _run_sh(config: WorkerConfig, script: str, spec: SandboxSpec) -> tuple[int, list[str], str]:
    """Run `sh -c script` through the command context, as Blender and FFmpeg are.

    Returns the exit code, the output lines and the whole task log.
    """
    sink = RecordingSink()
    ctx, reporter = make_context(sink, config)
    async with reporter:
        code = await ctx.run_process([SH, "-c", script], sandbox=spec)
        await reporter.flush()
    return code, output(sink.log), sink.log


# What a command line needs.


def test_blender_spec_reads_outputs_scripts_and_the_blend_file(tmp_path: Path) -> None:
    argv = ["/usr/bin/blender", "-b", "-P", "setup.py", str(tmp_path / "shot" / "a.blend"),
            "--render-output", "//frames/f_####", "-o", "/r/shot/", "--python", "/s/after.py"]
    spec = blender_spec(argv, str(tmp_path / "shot" / "a.blend"), cwd="/work")
    assert spec.programs == ("/usr/bin/blender",)
    assert spec.blendfile == str(tmp_path / "shot" / "a.blend")
    assert spec.writable == (str(tmp_path / "shot" / "frames"), "/r/shot")
    assert spec.readable == ("/work/setup.py", "/s/after.py")
    assert spec.notes == ()
    assert blender_spec(["blender", "-b", "x.blend"], "x.blend", cwd="/w").notes == (NO_OUTPUT_NOTE,)


def test_ffmpeg_spec_reads_the_frames_folder_and_writes_the_video_folder() -> None:
    argv = ["/usr/bin/ffmpeg", "-pattern_type", "glob", "-i", "/r/shot/*.png", "-i", "/a/music.flac",
            "/r/video/shot.mp4"]
    spec = ffmpeg_spec(argv, "/r/shot/*.png", "/r/video/shot.mp4")
    assert spec.readable == ("/r/shot", "/a/music.flac") and spec.writable == ("/r/video",)
    assert glob_base("/r/*/f.png") == "/r" and glob_base("/r/s/f_[0-9].png") == "/r/s"


# What may be bound back and made writable (no sandbox run needed).


def _host(home: str, data: str = "/var/lib/tablao-test") -> Host:
    return Host(homes=(home, "/home", "/root"), hidden=("/run",), private=(data,),
                program_folders=("/usr/bin",))


def test_a_blend_file_in_the_home_folder_gets_its_folder_not_the_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "proj").mkdir(parents=True)
    (home / "proj" / "a.blend").write_bytes(b"BLENDER-v304")
    (home / "b.blend").write_bytes(b"BLENDER-v304")
    (home / "notes.txt").write_text("private")
    host = _host(str(home))
    plan = plan_mounts(SandboxSpec(blendfile=str(home / "proj" / "a.blend")), host)
    assert ("ro", str(home / "proj")) in plan.mounts and not plan.notes
    plan = plan_mounts(SandboxSpec(blendfile=str(home / "b.blend")), host)
    assert ("ro", str(home / "b.blend")) in plan.mounts and ("ro", str(home)) not in plan.mounts
    # Naming any file does not open its folder.
    plan = plan_mounts(SandboxSpec(blendfile=str(home / "notes.txt")), host)
    assert not [m for m in plan.mounts if m[0] == "ro"] and "not a .blend file" in plan.notes[0]


def test_a_shaman_checkout_gets_the_whole_store_its_links_point_into(tmp_path: Path) -> None:
    home = tmp_path / "home"
    blob = home / "farm" / "file-store" / "stored" / "ab" / "cdef0123" / "2048.blob"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"BLENDER-v304")
    checkout = home / "farm" / "jobs" / "shot-1"
    checkout.mkdir(parents=True)
    (checkout / "scene.blend").symlink_to(os.path.relpath(blob, checkout))
    plan = plan_mounts(SandboxSpec(blendfile=str(checkout / "scene.blend")), _host(str(home)))
    assert ("ro", str(checkout)) in plan.mounts
    assert ("ro", str(home / "farm" / "file-store" / "stored")) in plan.mounts and not plan.notes


def test_the_farm_storage_the_manager_names_is_readable_beside_the_blend_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    job = home / "farm" / "jobs" / "shot-1"
    (job / "shots").mkdir(parents=True)
    (job / "tex").mkdir()
    (job / "shots" / "a.blend").write_bytes(b"BLENDER-v304")
    spec = SandboxSpec(blendfile=str(job / "shots" / "a.blend"))
    plan = plan_mounts(spec, _host(str(home)))
    assert ("ro", str(job / "tex")) not in plan.mounts and ("ro", str(home / "farm")) not in plan.mounts
    # The job's `//../tex` lies beside the blend file's folder: the farm's storage makes it readable.
    plan = plan_mounts(dataclasses.replace(spec, farm_roots=(str(home / "farm"),)), _host(str(home)))
    assert ("ro", str(home / "farm")) in plan.mounts
    # A farm root that is the home folder itself opens nothing more.
    plan = plan_mounts(dataclasses.replace(spec, farm_roots=(str(home),)), _host(str(home)))
    assert ("ro", str(home)) not in plan.mounts and any("hidden folder" in n for n in plan.notes)


def test_dot_folders_and_the_workers_own_folders_are_never_bound_back(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "x.blend").write_bytes(b"BLENDER-v304")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "creds.yaml").write_text("worker_secret: s\n")
    host = _host(str(home), data=str(tmp_path / "data"))
    plan = plan_mounts(SandboxSpec(blendfile=str(home / ".ssh" / "x.blend"),
                                   readable=(str(tmp_path / "data" / "creds.yaml"),)), host)
    assert not [m for m in plan.mounts if m[0] == "ro"]
    assert any("dot-folder" in note and ".ssh" in note for note in plan.notes)
    assert any("worker's own folder" in note for note in plan.notes)


@pytest.mark.parametrize("folder, why", [
    ("/etc/cron.d", "system folder /etc"), ("/", "root folder"), ("/usr/bin", "system folder /usr"),
    ("/var", "system folder /var/lib"), ("/usr/local/bin/x", "system folder /usr"),
    ("{home}", "hidden folder"), ("{home}/.ssh", "dot-folder"), ("/home", "hidden folder"),
    ("{data}/x", "worker's own folder"),
])
def test_output_folders_that_would_open_secrets_or_programs_are_refused(tmp_path: Path, folder, why) -> None:
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    folder = folder.format(home=home, data=data)
    with pytest.raises(SandboxRefused, match=why):
        plan_mounts(SandboxSpec(writable=(folder,)), _host(str(home), str(data)))


def test_mounts_go_parents_first_and_hidden_folders_inside_a_bound_one_stay_hidden(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "a.blend").write_bytes(b"BLENDER-v304")
    host = _host("/nonexistent-home", data=str(tmp_path / "data"))
    spec = SandboxSpec(blendfile=str(tmp_path / "a.blend"), writable=(str(tmp_path / "out"),))
    plan = plan_mounts(spec, host)
    paths = [p for _, p in plan.mounts]
    assert plan.mounts[paths.index("/tmp")] == ("scratch", "/tmp")
    assert paths.index("/tmp") < paths.index(str(tmp_path)) < paths.index(str(tmp_path / "data"))
    assert ("hide", str(tmp_path / "data")) in plan.mounts and ("rw", str(tmp_path / "out")) in plan.mounts


def test_blenders_own_settings_stay_readable_and_the_rest_of_the_config_folder_hidden(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = home / ".config" / "blender"
    (settings / "3.4" / "config").mkdir(parents=True)
    spec = blender_spec(["/usr/bin/blender", "-b", "x.blend", "-o", "/r/"], "x.blend", cwd="/w")
    host = dataclasses.replace(_host(str(home)), config_home=str(home / ".config"))
    plan = plan_mounts(spec, host)
    assert ("ro", str(settings)) in plan.mounts
    assert ("ro", str(home / ".config")) not in plan.mounts and ("ro", str(home)) not in plan.mounts
    assert any(f"{settings} is readable, not writable" in note for note in plan.notes)
    # With --factory-startup Blender reads no settings: nothing is bound back.
    factory = blender_spec(["/usr/bin/blender", "-b", "--factory-startup", "x.blend", "-o", "/r/"], "x.blend",
                           cwd="/w")
    assert ("ro", str(settings)) not in plan_mounts(factory, host).mounts
    # A job cannot make that folder writable.
    with pytest.raises(SandboxRefused):
        plan_mounts(dataclasses.replace(spec, writable=(str(settings / "3.4"),)), host)


def test_gpu_devices_are_bound_into_every_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.worker.sandbox import bwrap
    from app.worker.sandbox.policy import MountPlan

    monkeypatch.setattr(bwrap, "gpu_devices", lambda: ["/dev/dri", "/dev/nvidia0", "/dev/nvidiactl"])
    argv = bwrap.prefix("/usr/bin/bwrap", MountPlan(), "/var/tmp/scratch")
    pairs = {tuple(argv[i:i + 3]) for i in range(len(argv) - 2) if argv[i] == "--dev-bind"}
    assert pairs == {("--dev-bind", d, d) for d in ("/dev/dri", "/dev/nvidia0", "/dev/nvidiactl")}
    assert argv.index("--dev") < min(argv.index(d) for d in ("/dev/dri", "/dev/nvidia0"))


# Real bubblewrap.


@needs_bwrap
async def test_the_home_folder_is_hidden_and_a_blend_folder_in_it_is_not(tmp_path, fake_home) -> None:
    (fake_home / "proj").mkdir()
    (fake_home / "proj" / "a.blend").write_bytes(b"BLENDER-v304 scene")
    script = ('cat "$HOME/proj/a.blend"; echo; cat "$HOME/secret.txt" || echo NO-SECRET; '
              'cat "$HOME/.ssh/id_ed25519" || echo NO-KEY')
    spec = SandboxSpec(blendfile=str(fake_home / "proj" / "a.blend"))
    code, lines, log = await _run_sh(_config(tmp_path), script, spec)
    assert lines[0] == "BLENDER-v304 scene" and "NO-SECRET" in lines and "NO-KEY" in lines, log
    assert "SECRET" not in lines and "PRIVATE KEY" not in lines
    # Unconfined the same script reads both: the test can fail.
    code, lines, log = await _run_sh(_config(tmp_path, sandbox="off"), script, spec)
    assert "SECRET" in lines and "PRIVATE KEY" in lines and "NO-SECRET" not in lines


@needs_bwrap
async def test_blenders_settings_are_read_only_inside_and_the_other_secrets_stay_hidden(
        tmp_path, fake_home, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(fake_home / ".config"))
    prefs = fake_home / ".config" / "blender" / "3.4" / "config"
    prefs.mkdir(parents=True)
    (prefs / "userpref.blend").write_text("GPU-PREFS\n")
    (fake_home / ".config" / "other-app").mkdir()
    (fake_home / ".config" / "other-app" / "token").write_text("OTHER-TOKEN\n")
    blend = tmp_path / "job" / "a.blend"
    blend.parent.mkdir()
    blend.write_bytes(b"BLENDER-v304")
    spec = blender_spec([SH, "-b", str(blend), "-o", str(tmp_path / "out") + "/"], str(blend))
    script = (f'cat "{prefs}/userpref.blend"; echo x > "{prefs}/userpref.blend" || echo NO-WRITE; '
              f'cat "$HOME/.config/other-app/token" || echo NO-OTHER; cat "$HOME/.ssh/id_ed25519" || echo NO-KEY')
    code, lines, log = await _run_sh(_config(tmp_path), script, spec)
    assert "GPU-PREFS" in lines and "NO-WRITE" in lines, log
    assert "NO-OTHER" in lines and "NO-KEY" in lines and "PRIVATE KEY" not in lines, log
    assert (prefs / "userpref.blend").read_text() == "GPU-PREFS\n"


@needs_bwrap
async def test_only_the_output_folder_and_scratch_are_writable(tmp_path: Path) -> None:
    out, beside = tmp_path / "out" / "shot", tmp_path / "job"
    beside.mkdir()
    (beside / "a.blend").write_bytes(b"BLENDER-v304")  # its folder is readable, not writable
    outside = Path("/var/tmp") / f"tablao-test-{os.getpid()}"
    script = (f'echo ok > {out}/frame.txt && echo WROTE-OUT; echo x > {beside}/evil.txt || echo NO-BESIDE; '
              f'echo x > {outside} || echo NO-OUTSIDE; echo x > /tmp/t && echo WROTE-TMP; '
              'echo "TMPDIR=$TMPDIR"')
    try:
        spec = SandboxSpec(blendfile=str(beside / "a.blend"), writable=(str(out),))
        code, lines, log = await _run_sh(_config(tmp_path), script + f"; ls {beside}", spec)
        assert code == 0, log
        for said in ("WROTE-OUT", "NO-BESIDE", "NO-OUTSIDE", "WROTE-TMP", "TMPDIR=/tmp", "a.blend"):
            assert said in lines, log
        assert any("Read-only file system" in line for line in lines)
        assert (out / "frame.txt").read_text() == "ok\n"  # created, then written
        assert not (beside / "evil.txt").exists() and not outside.exists()
        # The scratch is emptied after the run, and kept for a pasted command line.
        scratch = tmp_path / "data" / "sandbox" / "run"
        assert scratch.is_dir() and not list(scratch.iterdir())
    finally:
        outside.unlink(missing_ok=True)


@needs_bwrap
async def test_no_network_not_even_loopback(tmp_path: Path) -> None:
    connected = asyncio.Event()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    probe = (f"import socket\ntry:\n socket.create_connection(('127.0.0.1', {port}), timeout=5)\n"
             " print('CONNECTED')\nexcept OSError as exc:\n print('NO-CONNECTION', exc)")
    async with server:
        sink = RecordingSink()
        ctx, reporter = make_context(sink, _config(tmp_path))
        async with reporter:
            spec = SandboxSpec(programs=(sys.executable,))
            code = await ctx.run_process([sys.executable, "-c", probe], sandbox=spec)
            await reporter.flush()
    lines = output(sink.log)
    assert code == 0 and lines[0].startswith("NO-CONNECTION") and not connected.is_set(), sink.log


@needs_bwrap
async def test_logged_command_line_can_be_pasted_into_a_shell(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, log = await _run_sh(_config(tmp_path), f"echo pasted >> {out}/f.txt",
                                 SandboxSpec(writable=(str(out),)))
    line = next(text for text in log.splitlines() if text.startswith("going to run: "))
    assert line.split()[3] == BWRAP
    subprocess.run(["sh", "-c", line.removeprefix("going to run: ")], check=True, timeout=30)
    assert (out / "f.txt").read_text() == "pasted\npasted\n"


@needs_bwrap
async def test_cancelling_kills_the_program_inside_the_sandbox(tmp_path: Path) -> None:
    sink = RecordingSink()
    ctx, reporter = make_context(sink, _config(tmp_path))
    async with reporter:
        run = asyncio.create_task(ctx.run_process(["sleep", "300"], sandbox=SandboxSpec()))
        sleeper = None
        for _ in range(100):
            await asyncio.sleep(0.05)
            children = psutil.Process().children(recursive=True)
            if sleeper := next((p for p in children if p.name() == "sleep"), None):
                break
        assert sleeper is not None, "no sleep process below the worker"
        assert any(p.name() == "bwrap" for p in sleeper.parents())  # psutil sees bwrap's children
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
    assert not sleeper.is_running() or sleeper.status() == psutil.STATUS_ZOMBIE


@needs_bwrap
async def test_oom_score_adjust_reaches_the_program_inside(tmp_path: Path) -> None:
    code, lines, log = await _run_sh(_config(tmp_path, oom_score_adjust=700), "cat /proc/self/oom_score_adj",
                                     SandboxSpec())
    assert code == 0 and lines == ["700"], log


# The setting, and falling back.


def _fake_blender_task(tmp_path: Path) -> tuple[list, Path]:
    blend = tmp_path / "job" / "scene.blend"
    blend.parent.mkdir(parents=True, exist_ok=True)
    blend.write_bytes(b"BLENDER-v304")
    out = tmp_path / "out"
    return [{"name": "blender-render", "total_step_count": 1, "parameters": {
        "exe": sys.executable, "exeArgs": f"{FAKE_BLENDER} -b", "blendfile": str(blend),
        "args": ["--render-output", str(out / "######"), "--render-frame", "1"], "warm": False}}], out


async def test_auto_without_bwrap_runs_unconfined_and_says_why(tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    commands, out = _fake_blender_task(tmp_path)
    sink = RecordingSink()
    runner = TaskRunner(sink, _config(tmp_path), max_log_age_s=0.05)
    with caplog.at_level(logging.WARNING, logger="app.worker.sandbox"):
        assert await runner.run(make_task(commands)) is TaskOutcome.COMPLETED, sink.log
        assert await runner.run(make_task(commands, uuid="task-2")) is TaskOutcome.COMPLETED
    assert "sandbox: not used: bwrap was not found on PATH" in sink.log
    assert "bwrap" not in sink.log.split("going to run: ")[1].split()[0]
    assert (out / "000001.png").is_file()
    said = [r.getMessage() for r in caplog.records if "unconfined" in r.getMessage()]
    assert len(said) == 1 and "bwrap was not found on PATH" in said[0]


async def test_on_without_bwrap_fails_the_task_in_words(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    commands, out = _fake_blender_task(tmp_path)
    sink = RecordingSink()
    runner = TaskRunner(sink, _config(tmp_path, sandbox="on"), max_log_age_s=0.05)
    assert await runner.run(make_task(commands)) is TaskOutcome.FAILED
    activity = sink.payloads[-1]["activity"]
    assert "the sandbox cannot run: bwrap was not found on PATH" in activity and "sandbox is on" in activity
    assert not out.exists()


async def test_a_bwrap_that_does_not_work_is_found_out_by_the_probe(tmp_path, monkeypatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    sandbox = Sandbox(_config(tmp_path, sandbox="on"))
    assert "No permissions to create new namespace" in (await sandbox.unavailable() or "")
    sink = RecordingSink()
    ctx, reporter = make_context(sink, sandbox.config)
    ctx.sandbox = sandbox
    async with reporter:
        with pytest.raises(CommandError, match="the sandbox cannot run: .* No permissions"):
            await ctx.run_process([SH, "-c", "true"], sandbox=SandboxSpec())


async def test_off_and_other_platforms_run_unconfined(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="app.worker.sandbox"):
        mac = Sandbox(_config(tmp_path), platform="darwin")
        assert "Linux" in (await mac.unavailable() or "")
        assert await mac.prefix(SandboxSpec(), "run", print) == []
        await mac.unavailable()
    assert len([r for r in caplog.records if "darwin" in r.getMessage()]) == 1
    off = Sandbox(_config(tmp_path, sandbox="off"))
    lines: list[str] = []
    assert await off.prefix(SandboxSpec(), "run", lines.append) == [] and lines == []


@pytest.mark.parametrize("text, expected", [
    ("sandbox: auto\n", "auto"), ("sandbox: on\n", "on"), ("sandbox: off\n", "off"),
    ("sandbox: 'ON'\n", "on"),
])
def test_sandbox_setting_is_read(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(text + "sandbox_read_paths: [/srv/assets, ~/projects]\n")
    cfg = WorkerConfig.load(path)
    assert cfg.sandbox == expected
    assert cfg.sandbox_read_paths == ["/srv/assets", os.path.expanduser("~/projects")]
    assert WorkerConfig(data_dir=tmp_path).sandbox == "auto"


@pytest.mark.parametrize("text, words", [
    ("sandbox: maybe\n", "'sandbox' .* must be auto, on or off, got 'maybe'"),
    ("sandbox: 1\n", "must be auto, on or off"),
    ("sandbox_read_paths: [relative/folder]\n", "'sandbox_read_paths' .* absolute paths"),
])
def test_bad_sandbox_settings_are_refused_in_words(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        WorkerConfig.load(path)


# The warm Blender (fake) in the sandbox.


@needs_bwrap
async def test_warm_blender_runs_confined_and_a_different_sandbox_means_a_new_one(tmp_path: Path) -> None:
    blend = tmp_path / "job" / "scene.blend"
    blend.parent.mkdir()
    blend.write_bytes(b"BLENDER-v304")
    out = tmp_path / "out" / "####"
    argv = [sys.executable, str(FAKE_BLENDER), "-b", str(blend), "--render-output", str(out)]
    spec = blender_spec(argv, str(blend))
    request = WarmRequest(key=tuple(argv), blendfile=str(blend), frames=(1,), sandbox=spec)
    log: list[str] = []
    hooks = TaskHooks(log=log.append, output=lambda pid, line: None)
    pool = WarmBlenders(_config(tmp_path, warm_blender_idle_s=0, sandbox_read_paths=FAKES_READABLE))
    try:
        await pool.render(request, hooks)
        first = pool.pid
        started = next(line for line in log if line.startswith("going to run: "))
        assert shlex.split(started)[3] == BWRAP and "warm_control.py" in started
        assert (tmp_path / "out" / "0001.png").is_file()
        assert any(p.name() == "bwrap" for p in [psutil.Process(first)])
        other = dataclasses.replace(spec, readable=(str(tmp_path / "assets"),))
        log.clear()
        second = WarmRequest(key=tuple(argv), blendfile=str(blend), frames=(2,), sandbox=other)
        await pool.render(second, hooks)
        assert pool.pid != first and "warm Blender: reloading, this task needs a different sandbox" in log
    finally:
        await pool.close()
    assert not list((tmp_path / "data" / "sandbox" / "warm").iterdir())
