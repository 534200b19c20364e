"""The JS author API of prelude.js, run in-process (no child process needed)."""

from __future__ import annotations

import re
from datetime import datetime

import dukpy
import pytest

from app.manager.job_compilers.jsruntime import PRELUDE_PATH

PRELUDE = PRELUDE_PATH.read_text(encoding="utf-8")


def run_js(code: str, platform: str = "linux", cwd: str = "/farm"):
    interp = dukpy.JSInterpreter()
    interp.evaljs(PRELUDE, env={"platform": platform, "cwd": cwd, "seed": "0f" * 16})
    return interp.evaljs(code)


@pytest.mark.parametrize(
    ("frames", "chunk_size", "expected"),
    [
        ("1-10", 3, ["1-3", "4-6", "7-9", "10"]),
        ("1..10,20..25,40,3..8", 4, ["1-4", "5-8", "9,10,20,21", "22-25", "40"]),
        ("1-3", 1, ["1", "2", "3"]),
        ("1-2", 2, ["1,2"]),
        ("1-3", 2, ["1,2", "3"]),
        ("5", 10, ["5"]),
        ("1, 3, 5", 2, ["1,3", "5"]),
        (" 1 - 4 ,  7 .. 9 ", 10, ["1-4,7-9"]),
        ("10-12 1-2", 5, ["1,2,10-12"]),
        ("1-10,5-15", 100, ["1-15"]),
        ("3,2,1,2,3", 5, ["1-3"]),
        ("0-1", 1, ["0", "1"]),
    ],
)
def test_frame_chunker(frames, chunk_size, expected):
    assert run_js(f"frameChunker({frames!r}, {chunk_size})") == expected


@pytest.mark.parametrize(
    ("frames", "chunk_size", "message"),
    [
        ("", 1, "empty frame range"),
        ("  ,  ", 1, "empty frame range"),
        ("1-a", 1, "invalid frame range part"),
        ("5-1", 1, "end before start"),
        ("1-10", 0, "chunk size"),
        ("1-10", -2, "chunk size"),
        ("1-10", 1.5, "chunk size"),
        ("-3", 1, "invalid frame range part"),
    ],
)
def test_frame_chunker_rejects(frames, chunk_size, message):
    with pytest.raises(Exception, match=message):
        run_js(f"frameChunker({frames!r}, {chunk_size})")


def test_frame_chunker_is_fast_for_big_ranges():
    chunks = run_js("const c = frameChunker('1-50000', 1); [c.length, c[0], c[49999]]")
    assert chunks == [50000, "1", "50000"]


def test_frame_chunker_refuses_more_chunks_than_a_job_may_have_tasks():
    with pytest.raises(Exception, match=r'"1-100000" in chunks of 1 makes 100,000 tasks, more than the 50,000'):
        run_js("frameChunker('1-100000', 1)")


def test_frame_count():
    assert run_js("[frameCount('1-10'), frameCount('1..10, 5-20,30'), frameCount('7'), frameCount('0-0')]") == [
        10, 21, 1, 1,
    ]  # fmt: skip


def test_shell_split_follows_shlex():
    cases = [
        'blender -b "my file.blend" --python-expr \'print("hi")\'',
        r'a\ b "c \"d\" e" f\\g',
        "  spaced   out  ",
        "--arg=\"with 'single' inside\"",
        "",
    ]
    import shlex

    for text in cases:
        assert run_js(f"shellSplit({text!r})") == shlex.split(text), text


@pytest.mark.parametrize("text", ['"unterminated', "'also", "trailing\\"])
def test_shell_split_throws(text):
    with pytest.raises(Exception, match="shellSplit"):
        run_js(f"shellSplit({text!r})")


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("path.basename('/a/b/file.blend')", "file.blend"),
        ("path.basename('C:\\\\render\\\\shot\\\\file.blend')", "file.blend"),
        ("path.basename('/a/b/')", "b"),
        ("path.dirname('/a/b/file.blend')", "/a/b"),
        ("path.dirname('C:\\\\render\\\\shot\\\\######')", "C:/render/shot"),
        ("path.dirname('C:\\\\file.blend')", "C:/"),
        ("path.dirname('file.blend')", "."),
        ("path.dirname('\\\\\\\\server\\\\share\\\\frames\\\\######')", "//server/share/frames"),
        ("path.join('/a/b', 'c', '######')", "/a/b/c/######"),
        ("path.join('S:\\\\flamenco', 'shot', 'frames')", "S:/flamenco/shot/frames"),
        ("path.join('/a/b/', '../c')", "/a/c"),
        ("path.join('{render}', 'x')", "{render}/x"),
        ("path.stem('/a/b/scene.flamenco.blend')", "scene.flamenco"),
        ("path.stem('C:\\\\x\\\\scene.blend')", "scene"),
        ("path.stem('/a/.hidden')", ".hidden"),
    ],
)
def test_path_functions(expr, expected):
    assert run_js(expr) == expected


def test_process_platform_and_cwd():
    assert run_js("[process.platform, process.cwd()]", platform="windows", cwd="C:/farm") == [
        "windows",
        "C:/farm",
    ]


def test_format_timestamp_local_uses_local_time():
    when = datetime(2024, 3, 5, 7, 8, 9).astimezone()
    millis = int(when.timestamp() * 1000)
    assert run_js(f"formatTimestampLocal(new Date({millis}))") == "2024-03-05_070809"


def test_tasks_get_distinct_uuid4s_and_defaults():
    tasks = run_js(
        "const ts = []; for (let i = 0; i < 2000; i++) ts.push(author.Task(' render ', ' blender ')); "
        "ts.map(t => [t.uuid, t.uUID, t.name, t.type, t.priority])"
    )
    uuids = {t[0] for t in tasks}
    assert len(uuids) == 2000
    pattern = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(pattern.match(u) for u in uuids)
    assert all(t[1] == t[0] and t[2:] == ["render", "blender", 50] for t in tasks)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("author.Task('', 'misc')", "task name must not be empty"),
        ("author.Task('x')", "task type is required"),
        ("author.Command('echo', 'not an object')", "must be an object"),
        ("author.Command('echo', {}, -1)", "total step count"),
        ("author.Task('a', 'misc').addCommand({name: 'echo'})", "addCommand"),
        ("author.Task('a', 'misc').addDependency('b')", "addDependency"),
        ("const t = author.Task('a', 'misc'); t.addDependency(t)", "cannot depend on itself"),
    ],
)
def test_author_api_rejects_misuse(code, message):
    with pytest.raises(Exception, match=message):
        run_js(code)


def test_command_with_new_and_step_count():
    assert run_js("const c = new author.Command('echo', {message: 'hi'}, 3); [c.name, c.parameters, c.totalStepCount]") == [
        "echo", {"message": "hi"}, 3,
    ]  # fmt: skip


def test_print_and_alert_are_collected():
    printed = run_js("print('a', 1, {b: [2]}); alert('careful'); console.log('c'); __tablao.takePrinted()")
    assert printed == [
        {"level": "info", "text": 'a 1 {"b":[2]}'},
        {"level": "warning", "text": "careful"},
        {"level": "info", "text": "c"},
    ]
