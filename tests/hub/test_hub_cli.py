"""`tablao hub add-site` prints a join token (the last word of its output) and keeps only its hash."""

from __future__ import annotations

import sqlite3

from tests.e2e.farm import free_port
from tests.hub.hub_process import tablao_hub, write_hub_config


def test_add_site_prints_a_token_kept_only_hashed(tmp_path):
    config = write_hub_config(tmp_path / "hub", free_port(), sites=("paris",))
    done = tablao_hub("add-site", "paris", "--config", str(config))
    assert done.returncode == 0, done.stderr
    token = done.stdout.split()[-1]
    assert len(token) >= 40 and "hub_site: paris" in done.stdout
    with sqlite3.connect(tmp_path / "hub" / "hub.sqlite") as db:
        ((stored,),) = db.execute("SELECT token_hash FROM hub_sites WHERE name = 'paris'").fetchall()
    assert token not in stored and len(stored) == 64


def test_add_site_refuses_what_it_cannot_name_in_one_line(tmp_path):
    config = write_hub_config(tmp_path / "hub", free_port(), sites=("paris",))
    for name, words in (("lyon", "not in this hub's `sites` list"), ("a b", "cannot name a site")):
        done = tablao_hub("add-site", name, "--config", str(config))
        assert done.returncode == 2 and words in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
