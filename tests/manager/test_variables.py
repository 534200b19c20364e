"""Tests for app.manager.settings.variables: parsing, resolution, two-way replacement and expansion."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from app.api.errors import BadRequest, NotFound
from app.manager.settings.variables import InvalidVariables, Variables, parse_variables, validate_variables

MY_STORAGE = {
    "is_twoway": True,
    "values": [
        {"platform": "linux", "value": "/media/shared/flamenco"},
        {"platform": "windows", "value": "S:\\flamenco\\"},  # Trailing separator is trimmed.
        {"platform": "darwin", "value": "/Volumes/shared/flamenco/"},
    ],
}
BLENDER = {
    "values": [
        {"platform": "linux", "value": "/shared/software/blender-3.3/blender"},
        {"platform": "windows", "value": "C:\\Program Files\\Blender\\3.3\\blender.exe"},
        {"platform": "darwin", "value": "/Applications/Blender.app/Contents/MacOS/Blender"},
    ]
}
BLENDER_ARGS = {"values": [{"platform": "all", "value": "-b -y"}]}


def make_vars(
    manager_platform: str = "linux",
    extra: dict[str, Any] | None = None,
    shared: str = "/media/shared/flamenco",
    shaman: bool = False,
) -> Variables:
    definitions = {"my_storage": MY_STORAGE, "blender": BLENDER, "blenderArgs": BLENDER_ARGS, **(extra or {})}
    return Variables(
        definitions, shared_storage_path=shared, shaman_enabled=shaman, manager_platform=manager_platform
    )


def submit(variables: Variables, path: str, platform: str) -> str:
    return variables.replace_two_way_on_submit({"blendfile": path}, platform)["blendfile"]


def expand(variables: Variables, value: Any, platform: str) -> Any:
    commands = [{"name": "blender-render", "parameters": {"p": value}}]
    return variables.expand_for_worker(commands, platform)[0]["parameters"]["p"]


# ---------------------------------------------------------------- resolution


def test_platform_specific_value_beats_platform_all() -> None:
    v = make_vars(
        extra={
            "blender": {
                "values": [
                    {"platform": "all", "value": "blender"},
                    {"platform": "windows", "value": "blender.exe"},
                ]
            }
        }
    )
    assert v.resolve("workers", "windows")["blender"] == {"value": "blender.exe", "is_twoway": False}
    assert v.resolve("workers", "linux")["blender"]["value"] == "blender"
    assert v.resolve("workers", "freebsd")["blender"]["value"] == "blender"


def test_platform_all_listed_after_a_specific_value_still_loses() -> None:
    v = make_vars(
        extra={
            "x": {
                "values": [
                    {"platform": "linux", "value": "specific"},
                    {"platform": "all", "value": "fallback"},
                ]
            }
        }
    )
    assert v.resolve("users", "linux")["x"]["value"] == "specific"


def test_audiences() -> None:
    v = make_vars(
        extra={
            "render": {
                "values": [
                    {"platform": "all", "value": "for everyone"},
                    {"platform": "all", "audience": "workers", "value": "for workers"},
                    {"platform": "linux", "audience": "users", "value": "for linux users"},
                ]
            }
        }
    )
    assert v.resolve("workers", "linux")["render"]["value"] == "for workers"
    assert v.resolve("users", "linux")["render"]["value"] == "for linux users"
    assert v.resolve("users", "windows")["render"]["value"] == "for everyone"


def test_value_only_for_one_audience_is_absent_for_the_other() -> None:
    v = make_vars(extra={"secret": {"values": [{"platform": "all", "audience": "workers", "value": "x"}]}})
    assert "secret" in v.resolve("workers", "linux")
    assert "secret" not in v.resolve("users", "linux")


def test_platform_and_platforms_are_merged_and_aliases_folded() -> None:
    v = make_vars(
        extra={
            "x": {
                "values": [
                    {"platform": "linux", "platforms": ["macOS", "win32"], "value": "v"},
                ]
            }
        }
    )
    for platform in ("linux", "darwin", "windows"):
        assert v.resolve("users", platform)["x"]["value"] == "v"
    assert "x" not in v.resolve("users", "freebsd")
    assert v.to_yaml_dict()["x"]["values"] == [{"platforms": ["linux", "darwin", "windows"], "value": "v"}]


def test_manager_platform_is_resolved_and_unknown_audience_rejected() -> None:
    v = make_vars(manager_platform="windows")
    assert v.resolve("workers", "manager")["my_storage"]["value"] == "S:\\flamenco"
    with pytest.raises(BadRequest, match="audience"):
        v.resolve("artists", "linux")


def test_two_way_values_have_trailing_separators_trimmed() -> None:
    v = make_vars()
    assert v.resolve("users", "windows")["my_storage"]["value"] == "S:\\flamenco"
    assert v.resolve("users", "darwin")["my_storage"]["value"] == "/Volumes/shared/flamenco"


def test_one_way_values_keep_trailing_separators() -> None:
    v = make_vars(extra={"out": {"values": [{"platform": "all", "value": "/render/"}]}})
    assert v.resolve("users", "linux")["out"]["value"] == "/render/"


# ---------------------------------------------------------------- implicit jobs


def test_implicit_jobs_with_shaman_is_shared_slash_jobs() -> None:
    v = make_vars(shaman=True)
    assert v.resolve("workers", "linux")["jobs"] == {
        "value": "/media/shared/flamenco/jobs",
        "is_twoway": False,
    }


def test_implicit_jobs_without_shaman_is_the_shared_storage() -> None:
    v = make_vars(shaman=False, shared="/media/shared/flamenco/")
    assert v.resolve("workers", "linux")["jobs"]["value"] == "/media/shared/flamenco"


def test_implicit_jobs_on_a_windows_manager() -> None:
    v = make_vars(manager_platform="windows", shared="S:\\flamenco", shaman=True)
    assert v.resolve("workers", "windows")["jobs"]["value"] == "S:\\flamenco\\jobs"


def test_implicit_jobs_follows_storage_changes_and_is_absent_on_first_run() -> None:
    v = make_vars(shared="")
    assert "jobs" not in v.resolve("workers", "linux")
    v.set_shared_storage("/srv/farm", shaman_enabled=True)
    assert v.resolve("workers", "linux")["jobs"]["value"] == "/srv/farm/jobs"


def test_user_variable_named_jobs_is_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        v = make_vars(extra={"jobs": {"values": [{"platform": "all", "value": "/elsewhere"}]}})
    assert "jobs" in caplog.text
    assert v.resolve("workers", "linux")["jobs"]["value"] == "/media/shared/flamenco"
    assert "jobs" not in v.to_yaml_dict()


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (
            {"values": [{"platform": "all", "audience": "artists", "value": "x"}]},
            'variable "v", value #1: audience',
        ),
        ({"values": [{"platform": "all"}]}, 'variable "v", value #1: has no value'),
        ({"values": [{"value": "x"}]}, 'variable "v", value #1: has no platform'),
        ({"values": [{"platforms": "linux", "value": "x"}]}, "platforms must be a list"),
        ({"values": [{"platform": "manager", "value": "x"}]}, "name the OS"),
        ({"values": [{"platform": "all", "value": ["a"]}]}, "value must be text"),
        ({"values": []}, 'variable "v": needs a non-empty list of values'),
        ({"values": "x"}, 'variable "v": needs a non-empty list of values'),
        (
            {"is_twoway": "yes", "values": [{"platform": "all", "value": "x"}]},
            "is_twoway must be true or false",
        ),
        ("just text", 'variable "v": must be a mapping'),
        ({"values": ["x"]}, "value #1: must be a mapping"),
    ],
)
def test_bad_definitions_name_the_variable(definition: Any, message: str) -> None:
    with pytest.raises(InvalidVariables) as caught:
        parse_variables({"v": definition})
    assert message in caught.value.message
    assert caught.value.status == 400


@pytest.mark.parametrize("name", ["my storage", "{x}", "1st", "a.b", ""])
def test_bad_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidVariables, match="bad name"):
        parse_variables({name: BLENDER_ARGS})


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(InvalidVariables) as caught:
        parse_variables({"a": {"values": [{"value": "x"}]}, "b": {"values": [{"platform": "all"}]}})
    assert len(caught.value.problems) == 2
    assert 'variable "a"' in caught.value.message and 'variable "b"' in caught.value.message


def test_validate_variables_lists_problems_without_raising() -> None:
    assert validate_variables({"blenderArgs": BLENDER_ARGS}) == []
    assert validate_variables({"x": {"values": [{"value": "v"}]}}) == [
        'variable "x", value #1: has no platform; set platform or platforms ("all" for every platform)'
    ]


def test_numbers_are_read_as_text() -> None:
    v = make_vars(extra={"threads": {"values": [{"platform": "all", "value": 8}]}})
    assert v.resolve("workers", "linux")["threads"]["value"] == "8"


# ---------------------------------------------------------------- editing and writing back


def test_to_yaml_dict_round_trips() -> None:
    v = make_vars(shaman=True)
    written = v.to_yaml_dict()
    assert set(written) == {"my_storage", "blender", "blenderArgs"}
    assert written["my_storage"]["is_twoway"] is True
    assert written["my_storage"]["values"][1] == {"platform": "windows", "value": "S:\\flamenco"}
    again = Variables(written, shared_storage_path="/media/shared/flamenco", manager_platform="linux")
    assert again.to_yaml_dict() == written


def test_set_and_delete_variable() -> None:
    v = make_vars()
    v.set_variable("ffmpeg", {"values": [{"platform": "windows", "value": "C:\\ffmpeg\\ffmpeg.exe"}]})
    assert expand(v, "{ffmpeg} -y", "windows") == "C:\\ffmpeg\\ffmpeg.exe -y"  # Cache was refreshed.
    v.delete_variable("ffmpeg")
    assert expand(v, "{ffmpeg} -y", "windows") == "{ffmpeg} -y"
    with pytest.raises(NotFound):
        v.delete_variable("ffmpeg")


def test_set_variable_validates_and_keeps_the_old_state_on_error() -> None:
    v = make_vars()
    with pytest.raises(InvalidVariables, match='variable "blender", value #1: has no platform'):
        v.set_variable("blender", {"values": [{"value": "x"}]})
    with pytest.raises(InvalidVariables, match="reserved"):
        v.set_variable("jobs", BLENDER_ARGS)
    assert v.resolve("workers", "linux")["blender"]["value"] == "/shared/software/blender-3.3/blender"


def test_update_from_api_replaces_everything_or_nothing() -> None:
    v = make_vars()
    with pytest.raises(InvalidVariables):
        v.update_from_api({"a": BLENDER_ARGS, "b": {"values": [{"value": "x"}]}})
    assert "blender" in v.to_yaml_dict()
    v.update_from_api({"a": BLENDER_ARGS})
    assert list(v.to_yaml_dict()) == ["a"]


def test_from_config_reads_the_manager_yaml_layout() -> None:
    config = {
        "_meta": {"version": 3},
        "shared_storage_path": "/srv/flamenco",
        "shaman": {"enabled": True},
        "variables": {"blenderArgs": BLENDER_ARGS},
    }
    v = Variables.from_config(config, manager_platform="linux")
    assert v.resolve("workers", "linux")["jobs"]["value"] == "/srv/flamenco/jobs"
    assert v.shaman_enabled and v.shared_storage_path == "/srv/flamenco"


def test_from_config_defaults_shaman_like_flamenco() -> None:
    config = {"shared_storage_path": "/srv/flamenco"}
    assert Variables.from_config(config, manager_platform="linux").shaman_enabled
    assert not Variables.from_config(config, manager_platform="windows").shaman_enabled


# ---------------------------------------------------------------- submission


def test_seed_example_macos_submission_is_stored_neutrally() -> None:
    v = make_vars()
    assert submit(v, "/Volumes/shared/flamenco/shot/file.blend", "darwin") == "{my_storage}/shot/file.blend"


def test_macos_submission_ignores_case() -> None:
    v = make_vars()
    assert submit(v, "/volumes/SHARED/Flamenco/Shot/file.blend", "macos") == "{my_storage}/Shot/file.blend"


def test_linux_submission_is_case_sensitive() -> None:
    v = make_vars()
    assert submit(v, "/media/Shared/flamenco/a.blend", "linux") == "/media/Shared/flamenco/a.blend"


def test_windows_submission_with_mixed_separators_and_case() -> None:
    v = make_vars()
    assert submit(v, "s:/FLAMENCO\\shot\\a.blend", "windows") == "{my_storage}/shot/a.blend"


def test_prefix_must_match_whole_components() -> None:
    v = make_vars()
    assert submit(v, "/Volumes/shared/flamencoX/a.blend", "darwin") == "/Volumes/shared/flamencoX/a.blend"
    assert submit(v, "S:\\flamenco-old\\a.blend", "windows") == "S:\\flamenco-old\\a.blend"


def test_longest_prefix_wins() -> None:
    v = make_vars(
        extra={
            "shots": {
                "is_twoway": True,
                "values": [
                    {"platform": "linux", "value": "/media/shared/flamenco/shots"},
                    {"platform": "windows", "value": "T:\\"},
                ],
            }
        }
    )
    assert submit(v, "/media/shared/flamenco/shots/010/a.blend", "linux") == "{shots}/010/a.blend"
    assert submit(v, "/media/shared/flamenco/other/a.blend", "linux") == "{my_storage}/other/a.blend"


def test_submission_only_touches_top_level_strings() -> None:
    v = make_vars()
    values = {
        "a": "/media/shared/flamenco/x",
        "n": 5,
        "nested": ["/media/shared/flamenco/y"],
        "other": "text",
    }
    out = v.replace_two_way_on_submit(values, "linux")
    assert out == {"a": "{my_storage}/x", "n": 5, "nested": ["/media/shared/flamenco/y"], "other": "text"}
    assert values["a"] == "/media/shared/flamenco/x"  # The input is not modified.


def test_submission_uses_worker_audience_values() -> None:
    v = make_vars(
        extra={
            "proj": {
                "is_twoway": True,
                "values": [
                    {"platform": "linux", "audience": "users", "value": "/home/artist/proj"},
                    {"platform": "linux", "audience": "workers", "value": "/mnt/proj"},
                ],
            }
        }
    )
    assert submit(v, "/mnt/proj/a.blend", "linux") == "{proj}/a.blend"
    assert submit(v, "/home/artist/proj/a.blend", "linux") == "/home/artist/proj/a.blend"


def test_submission_of_the_prefix_itself_and_with_trailing_separator() -> None:
    v = make_vars()
    assert submit(v, "S:\\flamenco", "windows") == "{my_storage}"
    assert submit(v, "S:\\flamenco\\out\\", "windows") == "{my_storage}/out/"


# ---------------------------------------------------------------- round trips


def test_windows_submit_to_linux_worker() -> None:
    v = make_vars()
    stored = submit(v, "S:\\flamenco\\shot\\a.blend", "windows")
    assert stored == "{my_storage}/shot/a.blend"
    assert expand(v, stored, "linux") == "/media/shared/flamenco/shot/a.blend"


def test_linux_submit_to_windows_worker() -> None:
    v = make_vars()
    stored = submit(v, "/media/shared/flamenco/shot/a.blend", "linux")
    assert expand(v, stored, "windows") == "S:\\flamenco\\shot\\a.blend"


def test_seed_example_to_windows_and_linux_workers() -> None:
    v = make_vars()
    assert expand(v, "{my_storage}/shot/file.blend", "windows") == "S:\\flamenco\\shot\\file.blend"
    assert expand(v, "{my_storage}/shot/file.blend", "linux") == "/media/shared/flamenco/shot/file.blend"
    assert expand(v, "{my_storage}/shot/file.blend", "darwin") == "/Volumes/shared/flamenco/shot/file.blend"


UNC_STORAGE = {
    "is_twoway": True,
    "values": [
        {"platform": "windows", "value": "\\\\server\\share\\flamenco"},
        {"platform": "linux", "value": "/mnt/share/flamenco"},
    ],
}


def test_unc_submission_from_windows_expands_for_linux_and_back() -> None:
    v = make_vars(extra={"nas": UNC_STORAGE})
    stored = submit(v, "\\\\SERVER\\share\\flamenco\\shot\\file.blend", "windows")
    assert stored == "{nas}/shot/file.blend"
    assert expand(v, stored, "linux") == "/mnt/share/flamenco/shot/file.blend"
    back = submit(v, "/mnt/share/flamenco/shot/file.blend", "linux")
    assert back == "{nas}/shot/file.blend"
    assert expand(v, back, "windows") == "\\\\server\\share\\flamenco\\shot\\file.blend"


def test_drive_root_value_gets_its_backslash() -> None:
    v = make_vars(
        extra={
            "drive": {
                "is_twoway": True,
                "values": [
                    {"platform": "windows", "value": "T:\\"},
                    {"platform": "linux", "value": "/mnt/t"},
                ],
            }
        }
    )
    assert v.resolve("workers", "windows")["drive"]["value"] == "T:"
    assert submit(v, "T:\\shot\\a.blend", "windows") == "{drive}/shot/a.blend"
    assert expand(v, "{drive}/shot/a.blend", "windows") == "T:\\shot\\a.blend"
    assert expand(v, "{drive}", "windows") == "T:\\"
    assert expand(v, "{drive}/shot/a.blend", "linux") == "/mnt/t/shot/a.blend"


# ---------------------------------------------------------------- expansion


def test_one_way_then_two_way_and_unknown_left_alone() -> None:
    v = make_vars()
    commands: list[dict[str, Any]] = [
        {
            "name": "blender-render",
            "parameters": {
                "exe": "{blender}",
                "exeArgs": "{blenderArgs}",
                "blendfile": "{my_storage}/shot/file.blend",
                "args": ["--render-output", "{my_storage}/out/######", "--render-frame", "1..3", "{unknown}"],
                "count": 3,
            },
        }
    ]
    out = v.expand_for_worker(commands, "windows")[0]["parameters"]
    assert out == {
        "exe": "C:\\Program Files\\Blender\\3.3\\blender.exe",
        "exeArgs": "-b -y",
        "blendfile": "S:\\flamenco\\shot\\file.blend",
        "args": ["--render-output", "S:\\flamenco\\out\\######", "--render-frame", "1..3", "{unknown}"],
        "count": 3,
    }
    assert commands[0]["parameters"]["exe"] == "{blender}"  # A deep copy: the input is untouched.


def test_nested_lists_and_mappings_are_expanded() -> None:
    v = make_vars()
    value = ["-a", ["{my_storage}/x", ["{blenderArgs}"]], {"k": "{my_storage}/y"}, 7, None, True]
    assert expand(v, value, "linux") == [
        "-a",
        ["/media/shared/flamenco/x", ["-b -y"]],
        {"k": "/media/shared/flamenco/y"},
        7,
        None,
        True,
    ]


def test_option_and_path_in_one_string() -> None:
    v = make_vars()
    assert expand(v, "--render-output {my_storage}/out/######", "windows") == (
        "--render-output S:\\flamenco\\out\\######"
    )
    assert expand(v, "--render-output {my_storage}/my shot/###### -x 1", "windows") == (
        "--render-output S:\\flamenco\\my shot\\###### -x 1"
    )


def test_ffmpeg_expression_keeps_its_slashes() -> None:
    v = make_vars()
    args = "-i {my_storage}/frames/*.png -vf pad=ceil(iw/2)*2:ceil(ih/2)*2 -y {my_storage}/out.mp4"
    assert expand(v, args, "windows") == (
        "-i S:\\flamenco\\frames\\*.png -vf pad=ceil(iw/2)*2:ceil(ih/2)*2 -y S:\\flamenco\\out.mp4"
    )


def test_quoted_path_stops_at_the_quote() -> None:
    v = make_vars()
    assert expand(v, "--python-expr \"open('{my_storage}/a.txt')\"", "windows") == (
        "--python-expr \"open('S:\\flamenco\\a.txt')\""
    )


def test_one_way_values_are_not_converted() -> None:
    v = make_vars(extra={"url": {"values": [{"platform": "all", "value": "http://host/a/b"}]}})
    assert expand(v, "{url}/c", "windows") == "http://host/a/b/c"


def test_implicit_jobs_is_rewritten_through_the_managers_two_way_value() -> None:
    v = make_vars(shaman=True)
    stored = "{jobs}/shot-01-abcd/shot.blend"
    assert expand(v, stored, "windows") == "S:\\flamenco\\jobs\\shot-01-abcd\\shot.blend"
    assert expand(v, stored, "darwin") == "/Volumes/shared/flamenco/jobs/shot-01-abcd/shot.blend"
    assert expand(v, stored, "linux") == "/media/shared/flamenco/jobs/shot-01-abcd/shot.blend"
    assert expand(v, f"--render-output {stored}", "windows") == (
        "--render-output S:\\flamenco\\jobs\\shot-01-abcd\\shot.blend"
    )


def test_manager_path_prefix_is_rewritten_only_on_component_boundaries() -> None:
    v = make_vars()
    assert expand(v, "/media/shared/flamenco/a.blend", "windows") == "S:\\flamenco\\a.blend"
    assert expand(v, "/media/shared/flamencoX/a.blend", "windows") == "/media/shared/flamencoX/a.blend"
    assert expand(v, "x/media/shared/flamenco/a", "windows") == "x/media/shared/flamenco/a"


def test_windows_manager_to_linux_worker_with_case_and_separators() -> None:
    v = make_vars(manager_platform="windows", shared="S:\\flamenco", shaman=True)
    assert expand(v, "{jobs}\\chk\\a.blend", "linux") == "/media/shared/flamenco/jobs/chk/a.blend"
    assert expand(v, "s:/FLAMENCO/x", "linux") == "/media/shared/flamenco/x"


def test_platform_without_a_two_way_value_keeps_the_reference() -> None:
    v = make_vars()
    assert expand(v, "{my_storage}/a.blend", "freebsd") == "{my_storage}/a.blend"
    assert expand(v, "{blenderArgs}", "freebsd") == "-b -y"


def test_worker_platform_aliases() -> None:
    v = make_vars()
    assert expand(v, "{my_storage}/a", "win32") == "S:\\flamenco\\a"
    assert expand(v, "{my_storage}/a", "macos") == "/Volumes/shared/flamenco/a"


def test_expanding_ten_thousand_tasks() -> None:
    v = make_vars(shaman=True)
    commands = [
        {
            "name": "blender-render",
            "parameters": {
                "exe": "{blender}",
                "exeArgs": "{blenderArgs}",
                "argsBefore": [],
                "blendfile": f"{{jobs}}/job-{i // 100}/shot.blend",
                "args": [
                    "--render-output",
                    f"{{my_storage}}/out/{i // 100}/######",
                    "--render-frame",
                    f"{i}..{i}",
                ],
            },
        }
        for i in range(10_000)
    ]
    for platform, expected in (("windows", "S:\\flamenco\\out\\99\\######"), ("linux", "/media/shared/flamenco/out/99/######")):
        expanded = v.expand_for_worker(commands, platform)
        assert len(expanded) == 10_000
        assert expected in expanded[-1]["parameters"]["args"]


# ---------------------------------------------------------------- shared storage location


def test_shared_storage_for_other_platforms() -> None:
    v = make_vars(shared="/media/shared/flamenco/projects")
    assert v.shared_storage_for("users", "windows") == "S:\\flamenco\\projects"
    assert v.shared_storage_for("users", "darwin") == "/Volumes/shared/flamenco/projects"
    assert v.shared_storage_for("users", "linux") == "/media/shared/flamenco/projects"
    assert v.shared_storage_for("users", "manager") == "/media/shared/flamenco/projects"


def test_shared_storage_on_a_drive_root() -> None:
    v = Variables(
        {
            "s": {
                "is_twoway": True,
                "values": [
                    {"platform": "windows", "value": "S:\\"},
                    {"platform": "linux", "value": "/mnt/s"},
                ],
            }
        },
        shared_storage_path="S:\\",
        manager_platform="windows",
    )
    assert v.shared_storage_for("workers", "linux") == "/mnt/s"
    assert v.shared_storage_for("users", "windows") == "S:\\"


def test_shared_storage_not_covered_by_two_way_variables_is_unchanged() -> None:
    v = make_vars(shared="/srv/elsewhere")
    assert v.shared_storage_for("users", "windows") == "/srv/elsewhere"
