"""The hub's choice of site for a job whose files lie in place on shared storage: only a site whose
shared storage or two-way variables cover every path may take it."""

from __future__ import annotations

import pytest

from app.api.errors import BadRequest
from app.hub.routing import InPlace, SiteView, Unreachable, choose_site, in_place_paths
from app.hub.sites import _storage
from app.manager.hub_link.storage import storage_roots
from app.manager.settings.variables import Variables

TYPE = "simple-blender-render"


def site(name: str, storage=None, idle: int = 0, online: bool = True) -> SiteView:
    return SiteView(name, online, {TYPE: "e1"}, {}, max(idle, 1), idle, 0, 0, storage=storage)


LINUX_A = (("/mnt/studio", ("linux",)),)
LINUX_B = (("/srv/home-farm", ("linux",)),)


def test_only_the_site_whose_storage_covers_the_blendfile_is_chosen_even_when_another_is_idle():
    files = in_place_paths({"blendfile": "/mnt/studio/shots/a.blend",
                            "render_output_root": "/mnt/studio/renders"}, "linux")
    assert files == InPlace(("/mnt/studio/shots/a.blend", "/mnt/studio/renders"), "linux")
    route = choose_site([site("A", LINUX_A), site("B", LINUX_B, idle=3)], TYPE, files=files)
    assert route.site == "A"


def test_no_site_reaching_the_path_says_so_naming_the_path_and_each_sites_roots():
    files = in_place_paths({"blendfile": "/home/artist/a.blend"}, "linux")
    with pytest.raises(Unreachable) as err:  # the hub keeps such a job waiting
        choose_site([site("A", LINUX_A), site("B", LINUX_B)], TYPE, files=files)
    words = str(err.value)
    assert "no site reaches this job's files" in words
    assert "A cannot reach '/home/artist/a.blend'" in words and "/mnt/studio" in words
    assert "B cannot reach" in words and "/srv/home-farm" in words and "Shaman" in words


def test_a_named_site_that_cannot_reach_the_path_is_refused_in_words():
    files = in_place_paths({"blendfile": "/mnt/studio/a.blend", "render_output_root": "/tmp/out"}, "linux")
    with pytest.raises(BadRequest) as err:
        choose_site([site("A", LINUX_A)], TYPE, named="A", files=files)
    assert "names site 'A', but A cannot reach '/tmp/out'" in str(err.value)
    assert choose_site([site("A", LINUX_A)], TYPE, named="A",
                       files=in_place_paths({"blendfile": "/mnt/studio/a.blend"}, "linux")).site == "A"


def test_a_two_way_value_of_the_submitters_platform_counts_and_a_path_only_looks_alike_does_not():
    studio = (("/mnt/studio", ("linux",)), ("S:\\", ("windows",)), ("/Volumes/studio", ("darwin",)))
    windows = in_place_paths({"blendfile": "s:\\shots\\a.blend"}, "windows")
    assert choose_site([site("A", studio), site("B", LINUX_B)], TYPE, files=windows).site == "A"
    mac = in_place_paths({"blendfile": "/Volumes/studio/a.blend"}, "macOS")
    assert choose_site([site("A", studio), site("B", LINUX_B)], TYPE, files=mac).site == "A"
    # A linux path under the Mac's root is not reached: the root holds for darwin only.
    with pytest.raises(BadRequest):
        choose_site([site("A", studio)], TYPE, files=in_place_paths({"blendfile": "/Volumes/studio/a"}, "linux"))
    with pytest.raises(BadRequest):  # whole components: /mnt/studio2 is not under /mnt/studio
        choose_site([site("A", studio)], TYPE, files=in_place_paths({"blendfile": "/mnt/studio2/a"}, "linux"))


def test_only_absolute_blendfile_and_render_paths_are_in_place():
    files = in_place_paths({"blendfile": "{jobs}/abc/a.blend", "render_output_root": "renders",
                            "message": "/not/a/path/setting", "frames": "1-10", "chunk_size": 3}, "linux")
    assert files.paths == ()
    assert choose_site([site("A", ())], TYPE, files=files).site == "A"


def test_a_site_that_never_said_what_it_reaches_is_not_judged_on_it():
    files = in_place_paths({"blendfile": "/anywhere/a.blend"}, "linux")
    assert choose_site([site("old", None), site("A", LINUX_A)], TYPE, files=files).site == "old"


def test_a_site_reports_its_shared_storage_and_two_way_values_but_not_worker_only_ones():
    variables = Variables({
        "studio": {"is_twoway": True, "values": [{"platform": "linux", "value": "/mnt/studio"},
                                                 {"platform": "windows", "value": "S:\\"},
                                                 {"platform": "linux", "audience": "workers", "value": "/w"}]},
        "blender": {"values": [{"platform": "all", "value": "/usr/bin/blender"}]},
    }, shared_storage_path="/srv/flamenco", manager_platform="linux")
    roots = storage_roots(variables)
    assert roots == [{"path": "/srv/flamenco", "platforms": ["linux"]},
                     {"path": "/mnt/studio", "platforms": ["linux"]},
                     {"path": "S:", "platforms": ["windows"]}]
    reported = _storage(roots)
    windows = in_place_paths({"blendfile": "s:\\shots\\a.blend"}, "windows")
    assert choose_site([site("A", reported)], TYPE, files=windows).site == "A"


@pytest.mark.parametrize("said", [None, "x", 3, {"path": "/a"}])
def test_the_hub_reads_what_a_site_said_it_reaches_defensively(said):
    assert _storage(said) is None
    hostile = [{"path": "/a", "platforms": ["linux", 3]}, {"path": ""}, {"path": 5}, "x", {"platforms": []}]
    assert _storage(hostile) == (("/a", ("linux",)),)


def test_a_job_no_site_could_run_anyway_is_refused_not_kept_waiting_for_storage():
    files = in_place_paths({"blendfile": "/home/artist/a.blend"}, "linux")
    with pytest.raises(BadRequest) as err:
        choose_site([site("A", LINUX_A)], "no-such-type", files=files)
    assert not isinstance(err.value, Unreachable)
    assert "no site can run this job" in str(err.value)
