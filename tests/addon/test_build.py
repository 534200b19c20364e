"""The add-on's build: the vendored wire models are the Manager's, the manifest holds, both zips build."""

from __future__ import annotations

import ast
import tomllib
import zipfile
from pathlib import Path

import pytest

from addon import build

REQUIRED_MANIFEST_KEYS = {
    "schema_version",
    "id",
    "version",
    "name",
    "tagline",
    "maintainer",
    "type",
    "blender_version_min",
    "license",
}


def test_vendored_api_is_the_managers_copy() -> None:
    for name in build.VENDORED:
        source = (build.API_SRC / name).read_text(encoding="utf-8")
        copy = (build.API_DST / name).read_text(encoding="utf-8")
        assert copy == build.vendored_text(source), (
            f"_api/{name} differs: run `python -m addon.build --vendor`"
        )
        assert "from app." not in copy and "import app" not in copy


def test_vendored_api_is_stdlib_only() -> None:
    import sys

    for name in build.VENDORED:
        tree = ast.parse((build.API_DST / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            assert all(r in sys.stdlib_module_names or r == "__future__" for r in roots), (name, roots)


def test_manifest_is_valid() -> None:
    info = build.manifest()
    assert set(info) >= REQUIRED_MANIFEST_KEYS, REQUIRED_MANIFEST_KEYS - set(info)
    assert info["schema_version"] == "1.0.0" and info["type"] == "add-on"
    assert info["id"].isidentifier()
    assert tuple(int(p) for p in info["blender_version_min"].split(".")) >= (4, 2, 0)
    assert all(lic.startswith("SPDX:") for lic in info["license"])
    assert info["wheels"], "BAT must ship as a wheel"
    for wheel in info["wheels"]:
        assert wheel.startswith("./wheels/") and wheel.endswith(".whl")
        path = build.ADDON / wheel
        assert path.is_file(), wheel
        with zipfile.ZipFile(path) as zf:
            assert "blender_asset_tracer/pack/__init__.py" in zf.namelist()
    assert set(info["permissions"]) <= {"files", "network", "clipboard", "camera", "microphone"}


def test_legacy_bl_info_matches_the_manifest() -> None:
    tree = ast.parse((build.ADDON / "__init__.py").read_text(encoding="utf-8"))
    bl_info = next(
        ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "bl_info"
    )
    assert ".".join(map(str, bl_info["version"])) == build.manifest()["version"]
    assert bl_info["blender"] < (4, 2, 0)  # installs on Blender 3.x as a legacy add-on


def test_build_writes_both_zips(tmp_path: Path) -> None:
    extension, legacy = build.build(tmp_path)
    with zipfile.ZipFile(extension) as zf:
        names = set(zf.namelist())
        assert "blender_manifest.toml" in names and "__init__.py" in names  # at the zip's root
        assert tomllib.loads(zf.read("blender_manifest.toml").decode())["id"] == "tablao"
        for wheel in build.manifest()["wheels"]:
            assert wheel.removeprefix("./") in names
        assert "_api/jobs.py" in names and "_discovery.py" in names
        assert not any("__pycache__" in n for n in names)
    with zipfile.ZipFile(legacy) as zf:
        names = set(zf.namelist())
        assert "tablao_blender/__init__.py" in names and "tablao_blender/_api/codec.py" in names
        assert all(n.startswith("tablao_blender/") for n in names)


@pytest.mark.parametrize("src, copies", [("COMMON_SRC", "VENDORED_COMMON"), ("SUBMIT_SRC", "VENDORED_SUBMIT")])
def test_vendored_finder_and_scene_policy_are_the_apps_copies(src: str, copies: str) -> None:
    import sys

    for name, target in getattr(build, copies).items():
        source = (getattr(build, src) / name).read_text(encoding="utf-8")
        copy = (build.ADDON / target).read_text(encoding="utf-8")
        assert copy == build.vendored_text(source), f"{target} differs: run `python -m addon.build --vendor`"
        for node in ast.parse(copy).body:  # module level: what importing it inside Blender runs
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            assert all(r in sys.stdlib_module_names or r == "__future__" for r in roots), (target, roots)
