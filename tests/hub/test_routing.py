"""The hub's choice of site, as a pure function of what the sites last said."""

from __future__ import annotations

import pytest

from app.api.errors import BadRequest
from app.hub.routing import SiteView, choose_site
from app.manager.hub_link.settings import hub_link_settings
from app.manager.settings.config import ConfigError

TYPES = {"simple-blender-render": "e1", "echo-sleep-test": "e2"}


def site(name: str, online: bool = True, idle: int = 0, awake: int = 0, queued: int = 0, waiting: int = 0,
         types=None, tags=None) -> SiteView:
    return SiteView(name, online, dict(TYPES if types is None else types), dict(tags or {}), awake, idle,
                    queued, waiting)


def test_an_idle_worker_wins_over_a_busy_site():
    route = choose_site([site("A", awake=4, queued=40), site("B", idle=1, awake=1)], "echo-sleep-test")
    assert route.site == "B"
    assert route.reason.startswith("chosen as the site likely to start it soonest (B: 1 idle of 1 awake")
    assert "A: 0 idle of 4 awake workers, 40 queued tasks" in route.reason


def test_without_idle_workers_the_shortest_queue_per_worker_wins_and_hub_waiting_jobs_count():
    sites = [site("A", awake=2, queued=10), site("B", awake=1, queued=2, waiting=4)]
    assert choose_site(sites, "echo-sleep-test").site == "A"  # 10/2 = 5 < (2 + 4)/1 = 6
    sites = [site("A", awake=2, queued=14), site("B", awake=1, queued=2, waiting=4)]
    assert choose_site(sites, "echo-sleep-test").site == "B"


def test_an_online_site_wins_over_an_offline_one_and_ties_go_by_name():
    assert choose_site([site("A", online=False, idle=5, awake=5), site("B")], "echo-sleep-test").site == "B"
    assert choose_site([site("B"), site("A")], "echo-sleep-test").site == "A"


def test_only_sites_offering_the_type_its_version_and_the_tag_are_chosen():
    sites = [site("A", idle=3, awake=3, types={"echo-sleep-test": "e2"}),
             site("B", tags={"t-1": "gpu"}),
             site("C", idle=1, awake=1, types={"simple-blender-render": "old"})]
    assert choose_site(sites, "simple-blender-render", etag="e1").site == "B"
    route = choose_site(sites, "echo-sleep-test", worker_tag="gpu")
    assert route.site == "B" and route.worker_tag == "t-1"
    with pytest.raises(BadRequest, match="no site can run this job: A does not offer job type 'x'"):
        choose_site(sites, "x")


def test_a_named_site_is_taken_even_offline_but_never_one_that_cannot_run_it():
    sites = [site("A", idle=1, awake=1), site("B", online=False)]
    route = choose_site(sites, "echo-sleep-test", named="B")
    assert route.site == "B" and route.reason.startswith("named by the job") and "B offline" in route.reason
    with pytest.raises(BadRequest, match="names site 'Z', which is not joined"):
        choose_site(sites, "echo-sleep-test", named="Z")
    with pytest.raises(BadRequest, match="but A does not offer job type 'x'"):
        choose_site(sites, "x", named="A")
    never_heard = SiteView("N", online=False)
    assert choose_site([never_heard], "anything", named="N").site == "N"


@pytest.mark.parametrize(("extra", "words"), [
    ({"hub_url": "http://hub:8090/"}, "hub_site, hub_token missing"),
    ({"hub_url": "ftp://hub/", "hub_site": "A", "hub_token": "t" * 43}, "not an http\\(s\\) address"),
    ({"hub_url": "http://hub/", "hub_site": "A B", "hub_token": "t" * 43}, "cannot name a site"),
    ({"hub_url": "http://hub/", "hub_site": "A", "hub_token": "short"}, "is not a join token"),
])
def test_a_site_config_with_a_broken_hub_link_says_what_to_fix(extra, words):
    with pytest.raises(ConfigError, match=words):
        hub_link_settings(extra)


def test_a_site_config_links_to_the_hub_websocket():
    settings = hub_link_settings({"hub_url": "https://hub.example:8090/", "hub_site": "paris", "hub_token": "t" * 43})
    assert settings is not None and settings.link_url == "wss://hub.example:8090/api/v3/tablao/hub/link"
    assert hub_link_settings({}) is None
