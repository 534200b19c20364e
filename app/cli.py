"""The `tablao` command line: the desktop app, `tablao dashboard`, and the roles with `--headless`.

`tablao` alone opens the desktop app (the setup wizard on first launch); `tablao manager|worker|all`
without `--headless` opens it in that role. `tablao --job ID` selects a job in its dashboard, and
`tablao --manager URL --job ID` opens only the dashboard of that Manager with the job selected
(what the Blender add-on's "Open in dashboard" runs). With this user's Tablao already running, every
desktop launch hands its request to it and ends (app/ui/instance.py). The core never imports Qt, and
`--headless` never does either: `app.ui` is imported only on the desktop paths. A Manager port
another program holds is one line and exit code 2 (`--listen :PORT` picks another).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from app import __version__
from app.common.logsetup import setup_logging

_log = logging.getLogger("tablao")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tablao", description="Tablao: a render farm for Blender.")
    parser.add_argument("--version", action="version", version=f"tablao {__version__}")
    parser.add_argument("--manager", dest="open_manager", metavar="URL",
                        help="without a role: open only the dashboard of this Manager")
    parser.add_argument("--job", dest="open_job", metavar="JOB_ID", default="",
                        help="select this job in the dashboard when it opens")
    sub = parser.add_subparsers(dest="role")
    for role, text in (("manager", "run the Manager"), ("worker", "run a Worker"),
                       ("all", "run a Manager and a Worker in one process")):
        p = sub.add_parser(role, help=text)
        p.add_argument("--headless", action="store_true", help="no desktop UI (servers, render nodes)")
        p.add_argument("--debug", action="store_true", help="log debug messages")
        p.add_argument("--quiet", action="store_true", help="log only warnings and errors")
        if role in ("manager", "all"):
            p.add_argument("--config", type=Path, help="flamenco-manager.yaml to use (default: the "
                           "platform's config folder; written with defaults when missing)")
            p.add_argument("--listen", help="HOST:PORT to listen on, overriding the config file")
            p.add_argument("--write-config", action="store_true", help="write the config file and exit")
        if role == "manager":
            p.add_argument("--shaman-gc", action="store_true",
                           help="remove old Shaman files no checkout uses, then exit")
            p.add_argument("--dry-run", action="store_true", help="with --shaman-gc: only list them")
        if role in ("worker", "all"):
            p.add_argument("--worker-config", type=Path, help="flamenco-worker.yaml to use")
            p.add_argument("--manager", help="Manager URL, for example http://render-server:8080/")
            p.add_argument("--name", help="worker name (default: the host name)")
            p.add_argument("--flush-updates", action="store_true",
                           help="deliver task updates queued while the Manager was unreachable, then exit")
        if role == "worker":
            p.add_argument("--config", type=Path, dest="worker_config_alias", help=argparse.SUPPRESS)
    dash = sub.add_parser("dashboard", help="only the dashboard, for Managers on other computers",
                          description="Watch one or more Managers; with several, their jobs and workers "
                                      "are shown together. Example: tablao dashboard http://render:8080/")
    dash.add_argument("urls", nargs="*", metavar="URL",
                      help="Manager URLs (default: the Managers watched last time)")
    dash.add_argument("--job", default="", metavar="JOB_ID", help="select this job when the dashboard opens")
    dash.add_argument("--debug", action="store_true", help="log debug messages")
    dash.add_argument("--quiet", action="store_true", help="log only warnings and errors")
    submit = sub.add_parser("submit", help="submit a .blend file as a render job",
                            description="Submit a .blend to a Manager, packing it the way the Manager "
                                        "stores files. Exit codes: 0 submitted, 1 refused, 2 bad input, "
                                        "3 Manager unreachable.")
    _submit_arguments(submit)
    sub.add_parser("farm", help="releases of jobs: plan, harvest, archive (tablao farm --help)", add_help=False)
    sub.add_parser("hub", help="one farm over several networks (tablao hub --help)", add_help=False)
    return parser


def _submit_arguments(p: argparse.ArgumentParser) -> None:
    """`tablao submit`'s options (app.submit.command runs it; imported only when used)."""
    p.add_argument("blendfile", type=Path, metavar="FILE.blend", help="the blend file to render")
    p.add_argument("--type", default="simple-blender-render", help="job type (default: simple-blender-render)")
    p.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                   help="a job setting, parsed by its type; repeat for more (overrides values read from the file)")
    p.add_argument("--priority", type=int, default=50, help="job priority, 0-100 (default 50)")
    p.add_argument("--paused", action="store_true", help="submit paused instead of queued")
    p.add_argument("--after", action="append", default=[], metavar="JOB",
                   help="wait for this job (its id, or its name: the newest job of that name) to complete "
                        "before rendering; repeat for more")
    p.add_argument("--on-dependency-failure", choices=("wait", "fail"), default=None,
                   help="when a job it waits for fails or is canceled: wait for it to be requeued (default) "
                        "or fail")
    p.add_argument("--no-preview-first", dest="preview_first", action="store_false",
                   help="hand the frames out in order (default: a render job's first, last and middle chunks "
                        "go out first, so a broken frame shows within minutes)")
    p.add_argument("--pause-on-preview-failure", action="store_true",
                   help="pause the job when one of those first chunks fails (default: it goes on)")
    p.add_argument("--manager", metavar="URL", help="Manager URL (default: the local Manager's config, "
                   "else http://127.0.0.1:8080)")
    p.add_argument("--name", help="job name (default: the file name without .blend)")
    p.add_argument("--scene", help="scene to render (default: the scene the file was saved with)")
    p.add_argument("--worker-tag", help="only workers with this tag (id) may run the job")
    p.add_argument("--site", help="through a hub: the site that runs the job (default: the hub chooses)")
    token = os.environ.get("TABLAO_SUBMIT_TOKEN") or os.environ.get("TABLAO_ACCESS_TOKEN", "")
    p.add_argument("--token", default=token,
                   help="the farm's submit token (lets the scripts in your .blend files run where the farm "
                        "allows them) or its access token; sent as 'Authorization: Bearer' "
                        "(default: $TABLAO_SUBMIT_TOKEN, else $TABLAO_ACCESS_TOKEN)")
    p.add_argument("--blender", help="Blender to read the file with (default: $TABLAO_BLENDER or blender)")
    p.add_argument("--json", action="store_true", help="print the submitted job as JSON")
    p.add_argument("--debug", action="store_true", help="log debug messages")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["farm"]:  # the release tool has its own parser and exit codes
        from app.farm.cli import main as farm_main
        return farm_main(argv[1:])
    if argv[:1] == ["hub"]:  # the hub (several networks) has its own parser: app/hub/cli.py
        from app.hub.cli import main as hub_main
        return hub_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.role is None:
        setup_logging(debug=False, quiet=False)
        if args.open_manager:
            return _dashboard([args.open_manager], args.open_job, remember=False)
        return _desktop(None, args.open_job)
    if args.role == "submit":
        from app.submit.command import run as run_submit

        setup_logging(debug=args.debug, quiet=True)
        return run_submit(args)
    setup_logging(debug=args.debug, quiet=args.quiet)
    if args.role == "dashboard":
        return _dashboard(args.urls, args.job or args.open_job)
    if not args.headless:
        return _desktop(args)
    if args.role == "manager":
        return _run_manager(args)
    if args.role == "worker":
        return _run_worker(args)
    return _run_all(args)


def _qt_missing(exc: ImportError) -> int:
    return _fail(f"the desktop app needs Qt ({exc.name or exc}); install it with "
                 "`pip install 'tablao[gui]'`, or run a role with --headless")


def _dashboard(urls: list[str], job_id: str = "", remember: bool = True) -> int:
    try:
        from app.ui.launch import run_dashboard
    except ImportError as exc:
        return _qt_missing(exc)
    for url in urls:
        if not url.startswith(("http://", "https://")):
            return _fail(f"{url!r} is not a Manager URL; give one like http://render-server:8080/")
    return run_dashboard(urls, job_id, remember=remember)


def _desktop(args: argparse.Namespace | None, job_id: str = "") -> int:
    """The desktop app, in the saved role or the role named on the command line."""
    try:
        from app.ui.launch import run_desktop
        from app.ui.local_services import LocalServices
    except ImportError as exc:
        return _qt_missing(exc)
    if args is None:
        return run_desktop(job_id=job_id)
    force = {"manager": "manager", "worker": "worker", "all": "both"}[args.role]
    services = LocalServices(manager_config_path=getattr(args, "config", None),
                             worker_config_path=(getattr(args, "worker_config", None)
                                                 or getattr(args, "worker_config_alias", None)),
                             listen=getattr(args, "listen", None))
    return run_desktop(services, force_role=force, manager_url=getattr(args, "manager", None) or "",
                       job_id=getattr(args, "open_job", ""))


def _load_manager_config(args: argparse.Namespace):
    from app.manager.settings.config import default_config_path, load_config, parse_listen

    path = args.config or default_config_path()
    cfg = load_config(path)
    if args.listen:
        parse_listen(args.listen)
        cfg.listen_override = args.listen
    return cfg


def _fail(message: str) -> int:
    print(f"tablao: {message}", file=sys.stderr)
    return 2


def _port_busy(exc) -> int:
    """One line instead of a traceback: which port, who holds it when the system says, what to do."""
    return _fail(f"{exc.strerror}; start with --listen :PORT or stop the other program")


def _check_port(cfg) -> int | None:
    """Exit code 2 with its line when the Manager's port is taken now (the bind checks again)."""
    from app.common.ports import PortInUse, port_holder, port_is_free

    host, port = cfg.listen_host_port()
    if port and not port_is_free(host, port):
        return _port_busy(PortInUse(host, port, port_holder(port)))
    return None


def _run_manager(args: argparse.Namespace) -> int:
    from app.manager.settings.config import ConfigError, save_config

    try:
        cfg = _load_manager_config(args)
    except ConfigError as exc:
        return _fail(str(exc))
    if args.write_config:
        save_config(cfg)
        print(f"wrote {cfg.path}")
        return 0
    if args.shaman_gc:
        return _shaman_gc(cfg, args.dry_run)
    busy = _check_port(cfg)
    if busy is not None:
        return busy
    _log.info("starting manager with config %s", cfg.path)
    return _run_roles(args, manager=True, worker=False)


def _run_roles(args: argparse.Namespace, *, manager: bool, worker: bool) -> int:
    """Run the roles under the one `Runner`, headless; start-up problems are one line, exit 2."""
    from app.common.ports import PortInUse
    from app.manager.persistence.errors import StoreUnavailable
    from app.manager.settings.config import ConfigError
    from app.runtime import Runner, run_headless
    from app.worker.config import ConfigError as WorkerConfigError

    def worker_config(local_manager_url: str | None):
        return _worker_config(args, default_manager=local_manager_url)

    runner = Runner(manager_config=(lambda: _load_manager_config(args)) if manager else None,
                    worker_config=worker_config if worker else None)
    try:
        return run_headless(runner.run, stop=runner.request_stop, restart=runner.request_restart)
    except PortInUse as exc:
        return _port_busy(exc)
    except (StoreUnavailable, ConfigError, WorkerConfigError) as exc:
        return _fail(str(exc))


def _shaman_gc(cfg, dry_run: bool) -> int:
    import asyncio

    from app.shaman.config import ShamanConfig
    from app.shaman.service import Shaman

    if not (cfg.shaman_enabled and cfg.shared_storage_path):
        return _fail("Shaman is not enabled in this configuration (shaman.enabled and shared_storage_path)")
    shaman = Shaman(ShamanConfig(shared_storage=Path(cfg.shared_storage_path),
                                 gc_max_age=cfg.shaman_gc_max_age,
                                 stale_upload_age=cfg.shaman_stale_upload_age))
    report = asyncio.run(shaman.collect_garbage(dry_run=dry_run))
    files = report.candidates if dry_run else report.deleted
    for path in files:
        print(path)
    size = report.candidate_bytes if dry_run else report.deleted_bytes
    verb = "would remove" if dry_run else "removed"
    print(f"{verb} {len(files)} files, {size / 1e6:.1f} MB", file=sys.stderr)
    return 0


def _worker_config(args: argparse.Namespace, default_manager: str | None = None):
    from app.worker.config import WorkerConfig

    path = getattr(args, "worker_config", None) or getattr(args, "worker_config_alias", None)
    overrides = {}
    if args.manager or default_manager:
        overrides["manager_url"] = args.manager or default_manager
    if args.name:
        overrides["worker_name"] = args.name
    return WorkerConfig.load(path, **overrides)


def _run_worker(args: argparse.Namespace) -> int:
    from app.runtime import run_headless
    from app.worker.config import ConfigError as WorkerConfigError

    try:
        cfg = _worker_config(args)
    except WorkerConfigError as exc:
        return _fail(str(exc))
    if args.flush_updates:
        from app.worker.service import flush_and_exit
        return run_headless(lambda: flush_and_exit(cfg))
    return _run_roles(args, manager=False, worker=True)


def _run_all(args: argparse.Namespace) -> int:
    from app.manager.settings.config import ConfigError

    try:
        cfg = _load_manager_config(args)
    except ConfigError as exc:
        return _fail(str(exc))
    busy = _check_port(cfg)
    if busy is not None:
        return busy
    return _run_roles(args, manager=True, worker=True)
