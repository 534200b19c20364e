"""`tablao hub`: run a hub (`tablao hub --headless --config HUB.yaml`; without --headless the desktop
app runs it, its dashboard pointed at it: app/ui/local_hub.py) or join a site to it
(`tablao hub add-site NAME --config HUB.yaml`, which prints the site's join token as the last
word of its output; only the token's hash is kept), or give it HTTPS with a certificate of its own
(`tablao hub make-cert --config HUB.yaml --name hub.example`, which prints the certificate's
fingerprint as its last word). Exit codes: 0 done, 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from app.common.logsetup import setup_logging

_log = logging.getLogger("tablao.hub")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tablao hub", description="One farm over several networks: the hub "
                                     "that artists submit to and site Managers connect out to.")
    parser.add_argument("action", nargs="?", choices=["add-site", "make-cert"],
                        help="add-site NAME: make a site's join token; make-cert: HTTPS with a self-made certificate")
    parser.add_argument("name", nargs="?", help="the site's name (with add-site)")
    parser.add_argument("--host", dest="hosts", action="append", default=[], metavar="NAME",
                        help="with make-cert: a name or address sites reach the hub by (repeat; default: this "
                             "computer's name, localhost and 127.0.0.1)")
    parser.add_argument("--config", type=Path, required=True, help="the hub's HUB.yaml (written with "
                        "defaults when missing)")
    parser.add_argument("--headless", action="store_true", help="run without the desktop UI (without it, "
                        "the desktop app runs the hub with its dashboard pointed at it)")
    parser.add_argument("--listen", help="HOST:PORT to listen on, overriding the config file")
    parser.add_argument("--debug", action="store_true", help="log debug messages")
    parser.add_argument("--quiet", action="store_true", help="log only warnings and errors")
    return parser


def main(argv: list[str]) -> int:
    from app.hub.config import load_hub_config
    from app.manager.persistence.errors import StoreUnavailable
    from app.manager.settings.config import ConfigError, parse_listen

    args = build_parser().parse_args(argv)
    setup_logging(debug=args.debug, quiet=args.quiet or args.action == "add-site")
    try:
        config = load_hub_config(args.config)
        if args.listen:
            parse_listen(args.listen)
            config.manager.listen_override = args.listen
        if args.action == "add-site":
            return _add_site(config, args.name)
        if args.action == "make-cert":
            return _make_cert(config, args.hosts)
        if not args.headless:
            from app.ui.local_hub import run_desktop_hub  # Qt only here: the hub itself needs none

            return run_desktop_hub(args.config, args.listen or "")
        return _run(config)
    except (ConfigError, StoreUnavailable) as exc:
        return _fail(str(exc))


def _add_site(config, name: str | None) -> int:
    from app.api.errors import ApiError
    from app.hub.service import add_site_offline

    if not name:
        return _fail("add-site needs the site's name: tablao hub add-site NAME --config HUB.yaml")
    try:
        token = asyncio.run(add_site_offline(config, name))
    except ApiError as exc:
        return _fail(exc.message)
    from app.hub.tls import fingerprint, tls_files

    files = tls_files(config.manager)
    pin = f"hub_fingerprint: {fingerprint(files[0])} (pins this hub's certificate)\n" if files else ""
    print(f"site {name} may join this hub. In that site's flamenco-manager.yaml, set hub_url to this hub's "
          f"address, hub_site: {name}, {pin}and hub_token to this token (shown once, kept only hashed):\n{token}")
    return 0


def _make_cert(config, hosts: list[str]) -> int:
    import socket

    from app.hub.tls import CERT_NAME, KEY_NAME, fingerprint, make_certificate
    from app.manager.settings.config import save_config

    names = hosts or [socket.gethostname(), "localhost", "127.0.0.1"]
    cert, _key = make_certificate(config.manager.base_dir, names)
    config.manager.extra["tls"] = {"cert": CERT_NAME, "key": KEY_NAME}
    save_config(config.manager)
    print(f"wrote {cert} for {', '.join(names)}; the hub serves HTTPS from its next start (sites use https:// in "
          f"hub_url). Its SHA-256 fingerprint, for a site's hub_fingerprint:\n{fingerprint(cert)}")
    return 0


def _run(config) -> int:
    from app.common.ports import PortInUse
    from app.hub.service import HubService
    from app.runtime import run_headless

    service = HubService(config)
    try:
        return run_headless(service.run)
    except PortInUse as exc:
        return _fail(f"{exc.strerror}; start with --listen :PORT or stop the other program")


def _fail(message: str) -> int:
    print(f"tablao hub: {message}", file=sys.stderr)
    return 2
