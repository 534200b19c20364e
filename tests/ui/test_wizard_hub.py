"""The setup wizard's "This Manager is part of a bigger farm" step, against a real Manager process
and a real HTTPS hub: optional (off by default); on, it checks the three settings as the Manager
reads them, shows the fingerprint of the certificate the hub shows for comparing, and Next waits
for the lead to confirm it; Apply writes hub_url, hub_site, hub_token (and the pinned fingerprint)
to flamenco-manager.yaml and the Manager joins the hub."""

from __future__ import annotations

import shutil

import pytest
import yaml

from app.hub.tls import fingerprint, make_certificate
from app.manager.settings.config import save_config
from app.ui.wizard.hub_join import join_hub
from app.ui.wizard.wizard import HUB, NETWORK, REVIEW, TEST, SetupWizard
from tests.e2e.farm import free_port
from tests.hub.conftest import RunningHub
from tests.ui.conftest import wait_for
from tests.ui.test_wizard_scripts import _context


def _https_hub(tmp_path) -> RunningHub:
    hub = RunningHub(tmp_path / "hub", free_port(), sites=("studio",))
    make_certificate(tmp_path / "hub", ["127.0.0.1", "localhost"])
    hub.config.manager.extra["tls"] = {"cert": "hub-cert.pem", "key": "hub-key.pem"}
    save_config(hub.config.manager)
    return hub


def test_the_hub_step_is_optional_and_checks_what_is_typed(qloop, manager_proc):
    ctx = _context(manager_proc)

    async def body():
        wizard = SetupWizard(ctx)
        wizard.setStartId(HUB)
        wizard.show()
        page = wizard.pages[HUB]
        try:
            assert not page.joins.isChecked() and page.isComplete(), "off: this Manager stands alone"
            assert page.values() == {"hub_url": "", "hub_site": "", "hub_token": "", "hub_fingerprint": ""}
            page.joins.setChecked(True)
            assert not page.isComplete() and "Give the hub's address" in page.problem.text()
            page.fields["hub_url"].setText("hub.example")
            assert not page.isComplete() and "hub_site, hub_token missing" in page.problem.text()
            page.fields["hub_site"].setText("paris")
            page.fields["hub_token"].setText("t" * 43)
            assert not page.isComplete() and "not an http(s) address" in page.problem.text()
            page.fields["hub_site"].setText("no spaces")
            page.fields["hub_url"].setText("http://hub.example:8090/")
            assert not page.isComplete() and "cannot name a site" in page.problem.text()
            page.fields["hub_site"].setText("paris")
            assert page.isComplete() and page.problem.text() == ""
            assert not page.certificate.isVisible(), "plain http: no certificate to compare"
        finally:
            wizard.close()
            await ctx.client.close()

    qloop.run_until_complete(body())


@pytest.mark.slow  # a Manager process, a hub and the Manager's restarts: seconds
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl program")
def test_the_hub_step_pins_the_shown_certificate_and_the_manager_joins(qloop, manager_proc, tmp_path):
    ctx = _context(manager_proc)
    hub = _https_hub(tmp_path)
    printed = fingerprint(tmp_path / "hub" / "hub-cert.pem")  # what `tablao hub make-cert` printed

    async def body():
        await hub.start()
        token = await hub.hub.sites.add("studio")
        wizard = SetupWizard(ctx)
        wizard.setStartId(NETWORK)
        wizard.show()
        try:
            await wait_for(lambda: wizard.pages[NETWORK].isComplete(), 15, "the port checked")
            wizard.next()
            assert wizard.currentId() == HUB
            page = wizard.pages[HUB]
            page.joins.setChecked(True)
            page.fields["hub_url"].setText(hub.url + "/")
            page.fields["hub_site"].setText("studio")
            page.fields["hub_token"].setText(token)
            await wait_for(lambda: printed in page.certificate.text(), 15, "the hub's certificate shown")
            assert page.certificate.isVisible() and page.matches.isVisible()
            assert not page.isComplete(), "Next waits for the lead to compare the fingerprint"
            page.matches.setChecked(True)
            assert page.isComplete()
            wizard.next()
            assert wizard.currentId() == REVIEW
            said = wizard.pages[REVIEW].summary.text()
            assert "site studio of the hub at https://127.0.0.1" in said and "certificate pinned" in said
            wizard.next()  # applies: the setup, then the hub settings (the Manager restarts to join)
            await wait_for(lambda: wizard.currentId() == TEST or "Could not" in wizard.pages[REVIEW].status.text(),
                           120, "applied")
            assert wizard.currentId() == TEST, wizard.pages[REVIEW].status.text()
            assert hub.hub.sites.connection("studio") is not None, "the site is linked to the hub"
            saved = yaml.safe_load((manager_proc.root / "flamenco-manager.yaml").read_text())
            assert (saved["hub_url"], saved["hub_site"], saved["hub_token"]) == (hub.url + "/", "studio", token)
            assert saved["hub_fingerprint"] == printed
        finally:
            wizard.close()
            await ctx.client.close()
            await hub.stop()

    qloop.run_until_complete(body())


@pytest.mark.slow  # a Manager process, over 2 s
def test_reopened_the_hub_step_starts_from_the_managers_hub_settings(qloop, tmp_path):
    from tests.ui.conftest import ManagerProcess

    token = "j" * 43
    manager = ManagerProcess(tmp_path / "site", extra_config=(
        f"hub_url: http://127.0.0.1:{free_port()}/\nhub_site: lyon\nhub_token: {token}\n")).start()
    ctx = _context(manager)

    async def body():
        wizard = SetupWizard(ctx)
        wizard.setStartId(HUB)
        wizard.show()
        page = wizard.pages[HUB]
        try:
            await wait_for(lambda: page.joins.isChecked(), 15, "the Manager's hub settings read")
            assert page.fields["hub_site"].text() == "lyon" and page.fields["hub_token"].text() == token
            assert page.isComplete()
            page.joins.setChecked(False)  # leaving the hub: all empty is what Apply saves
            assert page.values() == {"hub_url": "", "hub_site": "", "hub_token": "", "hub_fingerprint": ""}
            await join_hub(ctx.client, page.values())  # what Apply does with it
            saved = yaml.safe_load((manager.root / "flamenco-manager.yaml").read_text())
            assert not {"hub_url", "hub_site", "hub_token"} & set(saved), saved
            assert saved["shared_storage_path"], "the rest of the configuration stays"
        finally:
            wizard.close()
            await ctx.client.close()

    try:
        qloop.run_until_complete(body())
    finally:
        manager.stop()
