"""HTTPS to the hub with its own certificate: a site pins it on first join and refuses another."""

from __future__ import annotations

import shutil

import pytest

from app.hub.tls import fingerprint, make_certificate
from app.manager.hub_link.pinning import PIN_FILENAME
from app.manager.settings.config import save_config
from tests.conftest import echo_job
from tests.hub.conftest import eventually, link_of
from tests.hub.hub_process import tablao_hub

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl program")


async def _https_hub(hub_farm):
    hub = await hub_farm.start_hub()  # writes HUB.yaml; then give it a certificate and start again
    await hub_farm.stop_hub()
    folder = hub_farm.root / "hub"
    make_certificate(folder, ["127.0.0.1", "localhost"])
    hub.config.manager.extra["tls"] = {"cert": "hub-cert.pem", "key": "hub-key.pem"}
    save_config(hub.config.manager)
    hub_farm.scheme = "https"
    return await hub_farm.start_hub()


async def test_a_site_pins_the_hub_certificate_on_first_join_and_refuses_another(hub_farm):
    hub = await _https_hub(hub_farm)
    assert hub.url.startswith("https://")
    await hub_farm.join("A")
    site_a = await hub_farm.start_site("A")
    pinned = (site_a.cfg.base_dir / PIN_FILENAME).read_text().strip()
    assert pinned == fingerprint(hub_farm.root / "hub" / "hub-cert.pem")
    status, job = await hub.request("POST", "/api/v3/jobs", json=echo_job())
    assert status == 200 and job["hub"]["state"] == "delivered"

    # The hub gets another certificate (or someone else answers at its address): refused, in words.
    await hub_farm.stop_hub()
    make_certificate(hub_farm.root / "hub", ["127.0.0.1"])
    hub = await hub_farm.start_hub()
    link = link_of(site_a)

    async def refused() -> bool:
        return "not the one this site pinned" in link.problem
    await eventually(refused, what="the site refusing the new certificate")
    assert not link.connected.is_set() and hub.hub.sites.connection("A") is None
    assert PIN_FILENAME in link.problem


async def test_a_fingerprint_given_in_the_site_config_is_pinned_from_the_start(hub_farm):
    hub = await _https_hub(hub_farm)
    await hub_farm.join("A")
    await hub_farm.join("B")
    good = fingerprint(hub_farm.root / "hub" / "hub-cert.pem")
    colons = ":".join(good[i:i + 2] for i in range(0, 64, 2)).upper()  # as openssl prints it
    site_a = await hub_farm.start_site("A", extra={"hub_fingerprint": colons})
    assert not (site_a.cfg.base_dir / PIN_FILENAME).exists()
    site_b = await hub_farm.start_site("B", wait_linked=False, extra={"hub_fingerprint": "0" * 64})

    async def refused() -> bool:
        return "not the one this site pinned" in link_of(site_b).problem
    await eventually(refused, what="B refusing a certificate it did not pin")
    assert hub.hub.sites.connection("A") is not None and hub.hub.sites.connection("B") is None


def test_make_cert_turns_https_on_and_add_site_prints_the_fingerprint(tmp_path):
    from tests.e2e.farm import free_port
    from tests.hub.hub_process import write_hub_config

    config = write_hub_config(tmp_path / "hub", free_port(), sites=("A",))
    done = tablao_hub("make-cert", "--config", str(config), "--host", "hub.example", "--host", "10.0.0.5")
    assert done.returncode == 0, done.stderr
    printed = done.stdout.split()[-1]
    assert printed == fingerprint(tmp_path / "hub" / "hub-cert.pem")
    assert "tls:" in config.read_text()
    done = tablao_hub("add-site", "A", "--config", str(config))
    assert done.returncode == 0 and f"hub_fingerprint: {printed}" in done.stdout
