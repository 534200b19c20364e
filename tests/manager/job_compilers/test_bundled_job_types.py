"""The bundled job types compile to exactly the tasks Flamenco's stock scripts produce."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.manager.job_compilers import InvalidJobSettings, JobCompileError, JobCompiler

from .conftest import blender_settings, submitted_job

CREATED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
RENDER_EXPR = (
    "import bpy; render = bpy.context.scene.render; "
    "render.use_file_extension = True; render.use_overwrite = False; render.use_placeholder = False"
)


def local_stamp(when: datetime) -> str:
    return when.astimezone().strftime("%Y-%m-%d_%H%M%S")


async def test_job_type_list(compiler: JobCompiler):
    types = await compiler.list_job_types()
    assert [t["name"] for t in types] == ["echo-sleep-test", "simple-blender-render"]
    blender = types[1]
    assert blender["label"] == "Simple Blender Render"
    keys = [s["key"] for s in blender["settings"]]
    assert keys == [
        "frames", "chunk_size", "render_output_root", "add_path_components", "render_output_path",
        "blendfile", "fps", "format", "image_file_extension", "has_previews", "scene",
    ]  # fmt: skip
    settings = {s["key"]: s for s in blender["settings"]}
    assert settings["chunk_size"] == {
        "key": "chunk_size", "type": "int32", "default": 1, "visible": "submission",
        "description": settings["chunk_size"]["description"],
    }  # fmt: skip
    assert settings["add_path_components"]["propargs"] == {"min": 0, "max": 32}
    assert settings["frames"]["evalInfo"] == {"showLinkButton": True, "description": "Scene frame range"}
    assert len(blender["etag"]) == 40


async def test_simple_blender_render_1_to_10_in_chunks_of_3(compiler: JobCompiler):
    job = await compiler.compile(submitted_job(), job_id="job-1", created=CREATED)

    out_dir = f"/render/sf/frames/scene123/{local_stamp(CREATED)}"
    assert job.settings["render_output_path"] == f"{out_dir}/######"
    assert job.metadata == {"user.name": "Tester"}
    names = [t.name for t in job.tasks]
    assert names == ["render-1-3", "render-4-6", "render-7-9", "render-10", "preview-video"]
    assert [t.index_in_job for t in job.tasks] == [1, 2, 3, 4, 5]
    assert len({t.uuid for t in job.tasks}) == 5

    first = job.tasks[0]
    assert (first.type, first.priority, first.dependencies) == ("blender", 50, [])
    assert first.commands == [
        {
            "name": "blender-render",
            "parameters": {
                "exe": "{blender}",
                "exeArgs": "{blenderArgs}",
                "argsBefore": [],
                "blendfile": "/render/sf/jobs/scene123.flamenco.blend",
                "args": [
                    "--scene",
                    "Scene",
                    "--python-expr",
                    RENDER_EXPR,
                    "--render-output",
                    f"{out_dir}/######",
                    "--render-format",
                    "PNG",
                    "--render-frame",
                    "1..3",
                ],
            },
            "total_step_count": 3,
        }
    ]
    assert first.steps_total == 3
    assert job.tasks[3].commands[0]["parameters"]["args"][-1] == "10"
    assert job.tasks[3].steps_total == 1

    video = job.tasks[4]
    assert video.type == "ffmpeg"
    assert video.dependencies == [t.uuid for t in job.tasks[:4]]
    assert video.commands == [
        {
            "name": "frames-to-video",
            "parameters": {
                "exe": "ffmpeg",
                "fps": 24,
                "inputGlob": f"{out_dir}/*.png",
                "outputFile": f"{out_dir}/scene123-1-10.mp4",
                "argsBefore": [],
                "args": [
                    "-c:v",
                    "h264",
                    "-crf",
                    "20",
                    "-g",
                    "18",
                    "-vf",
                    "pad=ceil(iw/2)*2:ceil(ih/2)*2",
                    "-pix_fmt",
                    "yuv420p",
                    "-r",
                    "24",
                    "-y",
                ],
            },
            "total_step_count": 0,
        }
    ]
    assert video.steps_total == 1
    assert job.steps_total == 3 + 3 + 3 + 1 + 1
    assert isinstance(job.settings["fps"], float)


async def test_blender_render_with_an_empty_scene_is_refused(compiler: JobCompiler):
    # `scene` is required (as in Flamenco): an empty one counts as missing, not as "the active scene".
    with pytest.raises(InvalidJobSettings, match="'scene' is required but empty"):
        await compiler.compile(submitted_job(settings=blender_settings(scene="")), job_id="j", created=CREATED)


async def test_blender_render_windows_paths(compiler: JobCompiler):
    settings = blender_settings(
        scene="Shot", blendfile="C:\\shots\\scene.blend", render_output_path="S:\\frames\\shot\\######",
        fps=29.97,
    )
    job = await compiler.compile(submitted_job(settings=settings), job_id="j", created=CREATED)
    args = job.tasks[0].commands[0]["parameters"]["args"]
    assert args[:4] == ["--scene", "Shot", "--python-expr", RENDER_EXPR]
    assert args[5] == "S:/frames/shot/######"
    video = job.tasks[-1].commands[0]["parameters"]
    assert video["outputFile"] == "S:/frames/shot/scene-1-10.mp4"
    assert video["fps"] == 29.97 and video["args"][-2] == "29.97"


async def test_blender_render_mixed_frame_list(compiler: JobCompiler):
    settings = blender_settings(frames="1-3,5,7-9", chunk_size=10)
    job = await compiler.compile(submitted_job(settings=settings), job_id="j", created=CREATED)
    assert [t.name for t in job.tasks] == ["render-1-3,5,7-9", "preview-video"]
    assert job.tasks[0].commands[0]["parameters"]["args"][-1] == "1..3,5,7..9"
    assert job.tasks[0].steps_total == 7
    assert job.tasks[1].commands[0]["parameters"]["outputFile"].endswith("/scene123-1-9.mp4")


@pytest.mark.parametrize(
    ("overrides", "has_video", "glob"),
    [
        ({"format": "OPEN_EXR", "image_file_extension": ".exr"}, False, None),
        ({"format": "OPEN_EXR", "image_file_extension": ".exr", "has_previews": True}, True, "*.jpg"),
        ({"fps": None}, False, None),
        ({"format": "JPEG", "image_file_extension": ".jpg"}, True, "*.jpg"),
    ],
)
async def test_preview_video_conditions(compiler: JobCompiler, overrides, has_video, glob):
    job = await compiler.compile(
        submitted_job(settings=blender_settings(**overrides)), job_id="j", created=CREATED
    )
    assert (job.tasks[-1].name == "preview-video") == has_video
    if glob:
        assert job.tasks[-1].commands[0]["parameters"]["inputGlob"].endswith("/" + glob)


async def test_blender_render_rejects_movie_formats(compiler: JobCompiler):
    with pytest.raises(JobCompileError, match="FFMPEG") as info:
        await compiler.compile(
            submitted_job(settings=blender_settings(format="FFMPEG")), job_id="j", created=CREATED
        )
    assert info.value.status == 400


async def test_blender_render_chunk_size_default(compiler: JobCompiler):
    settings = blender_settings(frames="1-4")
    del settings["chunk_size"]
    job = await compiler.compile(submitted_job(settings=settings), job_id="j", created=CREATED)
    assert [t.name for t in job.tasks] == ["render-1", "render-2", "render-3", "render-4", "preview-video"]
    assert job.settings["chunk_size"] == 1


async def test_blender_render_bad_frames_is_a_compile_error(compiler: JobCompiler):
    with pytest.raises(JobCompileError, match="invalid frame range part"):
        await compiler.compile(
            submitted_job(settings=blender_settings(frames="1-x")), job_id="j", created=CREATED
        )


async def test_echo_sleep_test(compiler: JobCompiler):
    job = await compiler.compile(
        submitted_job("echo-sleep-test", {"message": "hello", "sleep_repeats": 3}),
        job_id="j",
        created=CREATED,
    )
    assert [(t.name, t.type) for t in job.tasks] == [("echo", "misc")] + [("sleep", "misc")] * 3
    echo = job.tasks[0]
    assert echo.commands == [{"name": "echo", "parameters": {"message": "hello"}, "total_step_count": 0}]
    for sleep in job.tasks[1:]:
        assert sleep.commands == [
            {"name": "sleep", "parameters": {"duration_in_seconds": 1}, "total_step_count": 0}
        ]
        assert sleep.dependencies == [echo.uuid]
    assert job.settings == {"message": "hello", "sleep_repeats": 3, "sleep_duration_seconds": 1}


async def test_echo_sleep_test_requires_message(compiler: JobCompiler):
    with pytest.raises(InvalidJobSettings, match="'message' is required"):
        await compiler.compile(submitted_job("echo-sleep-test", {}), job_id="j", created=CREATED)


async def test_ten_thousand_frames_compile(compiler: JobCompiler):
    # Speed is measured by bench/compile_js.py and bench/compile.py, not here.
    settings = blender_settings(frames="1-10000", chunk_size=1)
    job = await compiler.compile(submitted_job(settings=settings), job_id="big", created=CREATED)
    assert len(job.tasks) == 10_001
    assert len(job.tasks[-1].dependencies) == 10_000


async def test_job_too_large_for_the_js_heap_says_to_split_it(compiler: JobCompiler):
    from app.manager.job_compilers.errors import JobCompileError

    job = {"name": "huge", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
           "settings": {"message": "m", "sleep_duration_seconds": 0, "sleep_repeats": 100_000}}
    with pytest.raises(JobCompileError, match="split it into smaller jobs"):
        await compiler.compile(job, job_id="huge", created=CREATED)
    small = dict(job, settings={"message": "m", "sleep_repeats": 2})
    assert len((await compiler.compile(small, job_id="ok", created=CREATED)).tasks) == 3
