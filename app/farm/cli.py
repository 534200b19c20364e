"""The `farm` command line (also `tablao farm ...`): argument parsing, the Manager connection, exit codes.

Exit codes: 0 done, 1 refused or incomplete, 2 usage, 3 Manager unreachable. With `--json` the
result is one JSON document on stdout (also for errors: `{"error": ..., "exit_code": ...}`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from app.api.client import ManagerClient
from app.api.errors import ContractError, HttpError, ManagerUnreachable
from app.farm.console import Console
from app.farm.context import Farm
from app.farm.errors import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, FarmError, Refused, Unreachable, UsageError
from app.farm.layout import Layout

_log = logging.getLogger(__name__)

DEFAULT_MANAGER = "http://localhost:8080"

EXAMPLES = {
    "plan": "farm plan release 2026-11-27 --chunk-size 5\n  farm plan release        "
            "(proposes a date-based name and creates its folders)",
    "replace": "farm replace job shot_010 --release 2026-11-27 --keep-frames",
    "harvest": "farm harvest release 2026-11-27 --check-black --naming '<job>_<frame:4>.<ext>'\n"
               "  farm harvest release 2026-11-27 --requeue-missing",
    "kill": "farm kill jobs 'status:active name:shot_0*'\n"
            "  farm kill release.jobs 'release:2026-11-27 -status:completed' --yes",
    "seed": "farm seed job ~/tests/lookdev.blend lookdev\n  farm seed job lookdev     (uses quick/lookdev.blend)",
    "archive": "farm archive release 2026-11-27",
    "slash-and-burn": "farm slash-and-burn --dry-run\n  farm slash-and-burn --confirm slash-and-burn",
    "status": "farm status\n  farm status 2026-11-27 --json",
    "requeue": "farm requeue 'release:2026-11-27 status:failed'",
}

QUERY_HELP = ("query: terms joined by AND -- name:GLOB status:S[,S] type:GLOB release:GLOB KEY=VALUE "
              "(metadata), a bare word is a name glob, a leading '-' negates a term")


def _common(parser: argparse.ArgumentParser, leaf: bool) -> None:
    """Options every verb takes, before or after it (a leaf does not reset what the top level set)."""
    kw: dict[str, Any] = {"default": argparse.SUPPRESS} if leaf else {}
    value_kw: dict[str, Any] = kw if leaf else {"default": None}
    parser.add_argument("--manager", metavar="URL", help="the Manager (default: $TABLAO_MANAGER or "
                        f"{DEFAULT_MANAGER})", **value_kw)
    parser.add_argument("--root", type=Path, metavar="DIR", help="the main volume (default: the "
                        "Manager's shared storage)", **value_kw)
    parser.add_argument("--admin-token", metavar="TOKEN", help="the Manager's admin token, for deleting "
                        "jobs (default: $TABLAO_ADMIN_TOKEN or the local Manager's)",
                        **value_kw)
    for flag, text in (("--json", "print one JSON document for scripts"),
                       ("--dry-run", "say what would change, change nothing"),
                       ("--yes", "do not ask before cancelling jobs")):
        parser.add_argument(flag, action="store_true", help=text, **kw)
    parser.add_argument("--debug", action="store_true", help=argparse.SUPPRESS, **kw)


def _verb(sub: Any, name: str, help_text: str, example_key: str | None = None) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text,
                       epilog=f"example:\n  {EXAMPLES[example_key or name]}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="farm", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Releases on a Tablao (or Flamenco) farm: plan, harvest, archive.",
        epilog="exit codes: 0 done, 1 refused or incomplete, 2 usage, 3 Manager unreachable\n"
               "examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES.values()))
    _common(parser, leaf=False)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")

    def leaf(parent: Any, name: str, text: str, key: str) -> argparse.ArgumentParser:
        p = _verb(parent, name, text, key)
        _common(p, leaf=True)
        p.set_defaults(action=f"{key}.{name}" if key not in ("slash-and-burn", "status", "requeue") else key)
        return p

    def noun(name: str, text: str) -> Any:
        p = _verb(verbs, name, text)
        return p.add_subparsers(dest="noun", metavar="WHAT", required=True)

    p = leaf(noun("plan", "submit a release's .blend files as jobs"), "release",
             "submit one job per releases/<release>/store/*.blend not on the farm yet", "plan")
    p.add_argument("release", nargs="?", help="release name (default: propose a date-based one)")
    p.add_argument("--chunk-size", type=int, default=1, help="frames per render task (default 1)")
    p.add_argument("--priority", type=int, default=50)
    p.add_argument("--naming", help="the release's naming rule for harvest (default <job>_<frame>.<ext>)")

    p = leaf(noun("replace", "resubmit a job from its current file"), "job",
             "cancel the job, clear its frames (or keep them aside), submit it again", "replace")
    p.add_argument("job")
    p.add_argument("--release", help="the release, when the job name is in several")
    p.add_argument("--keep-frames", action="store_true",
                   help="move the old frames to out/<job>.old-<time>/ instead of deleting them")
    p.add_argument("--chunk-size", type=int, help="frames per task (default: the old job's)")

    p = leaf(noun("harvest", "check a release's frames and move them to dist/"), "release",
             "check every frame; when all are there, rename them and move them to dist/<release>/",
             "harvest")
    p.add_argument("release")
    p.add_argument("--check-black", action="store_true", help="a frame of one flat colour is a problem")
    p.add_argument("--requeue-missing", action="store_true",
                   help="requeue the render tasks of missing or broken frames")
    p.add_argument("--copy", action="store_true", help="copy instead of moving")
    p.add_argument("--naming", help="naming rule for this harvest: <release> <job> <frame> <frame:N> <ext>")

    kill = noun("kill", "cancel jobs chosen by a query")
    for what, text in (("jobs", "cancel the matching jobs; " + QUERY_HELP),
                       ("release.jobs", "cancel matching jobs of a release (the query names it "
                                        "with release:NAME); " + QUERY_HELP)):
        p = leaf(kill, what, text, "kill")
        p.add_argument("query")

    p = leaf(noun("seed", "submit one independent job into quick/"), "job",
             "submit one job rendering to quick/<job>/out/", "seed")
    p.add_argument("args", nargs="+", metavar="[FILE] JOB")
    p.add_argument("--chunk-size", type=int, default=1)
    p.add_argument("--priority", type=int, default=50)

    p = leaf(noun("archive", "pack a finished release"), "release",
             "write archives/<release>.tar.gz: store, outputs, manifest with checksums", "archive")
    p.add_argument("release")
    p.add_argument("--overwrite", action="store_true", help="replace an existing archive")

    p = leaf(verbs, "slash-and-burn", "delete every job on the farm and their outputs "
             "(never dist/ or archives/), after a typed confirmation", "slash-and-burn")
    p.add_argument("--confirm", metavar="WORD", help="the confirmation word, for scripts")

    p = leaf(verbs, "status", "jobs per release with progress and an ETA", "status")
    p.add_argument("release", nargs="?")

    p = leaf(verbs, "requeue", "requeue the failed tasks of the matching jobs; " + QUERY_HELP, "requeue")
    p.add_argument("query")
    return parser


async def run(argv: list[str] | None = None, console: Console | None = None) -> int:
    """Run one `farm` command; returns its exit code (never raises for bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    if getattr(args, "action", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    con = console or Console(json_mode=args.json)
    con.json_mode = args.json
    try:
        result = await _dispatch(args, con)
    except FarmError as exc:
        return _error(con, exc.message, exc.exit_code)
    code = EXIT_OK if result.get("complete", True) else EXIT_REFUSED
    if args.json:
        print(json.dumps({**result, "exit_code": code}, indent=2, default=str), file=con.out)
    return code


def _error(con: Console, message: str, code: int) -> int:
    con.warn(message)
    if con.json_mode:
        print(json.dumps({"error": message, "exit_code": code}), file=con.out)
    return code


async def _dispatch(args: argparse.Namespace, con: Console) -> dict[str, Any]:
    url = args.manager or os.environ.get("TABLAO_MANAGER") or DEFAULT_MANAGER
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"{url!r} is not a Manager URL; give one like http://render-server:8080/")
    async with ManagerClient(url, admin_token=_admin_token(args, url), timeout_s=60.0) as client:
        try:
            farm = Farm(client, Layout(await _root(args, client)), con, args.dry_run, args.yes)
            return await _act(args, farm)
        except ManagerUnreachable as exc:
            raise Unreachable(str(exc)) from None
        except (HttpError, ContractError) as exc:
            raise Refused(f"the Manager refused: {exc}") from None


def _admin_token(args: argparse.Namespace, url: str) -> str:
    if args.admin_token or os.environ.get("TABLAO_ADMIN_TOKEN"):
        return args.admin_token or os.environ["TABLAO_ADMIN_TOKEN"]
    from app.common.credentials import TokenStore, read_local_admin_token

    try:
        return read_local_admin_token() or TokenStore(keyring=None).recall(url) or ""
    except OSError:
        return ""


async def _root(args: argparse.Namespace, client: ManagerClient) -> Path:
    if args.root is not None:
        return args.root.expanduser().resolve()
    location = (await client.configuration()).storage_location
    if not location:
        raise Refused("the Manager has no shared storage configured; pass --root DIR")
    return Path(location)


async def _act(args: argparse.Namespace, farm: Farm) -> dict[str, Any]:
    from app.farm import archive, harvest, manage, plan

    match args.action:
        case "plan.release":
            return await plan.plan_release(farm, args.release, args.chunk_size, args.priority, args.naming)
        case "replace.job":
            return await plan.replace_job(farm, args.job, args.release, args.keep_frames, args.chunk_size)
        case "harvest.release":
            return await harvest.harvest_release(farm, args.release, args.check_black, args.requeue_missing,
                                                 args.copy, args.naming)
        case "kill.jobs" | "kill.release.jobs":
            return await manage.kill(farm, args.query, release_scope=args.action == "kill.release.jobs")
        case "seed.job":
            if len(args.args) > 2:
                raise UsageError("seed job takes [FILE] JOB")
            file = Path(args.args[0]).expanduser() if len(args.args) == 2 else None
            return await plan.seed_job(farm, file, args.args[-1], args.chunk_size, args.priority)
        case "archive.release":
            return await archive.archive_release(farm, args.release, args.overwrite)
        case "slash-and-burn":
            return await manage.slash_and_burn(farm, args.confirm)
        case "status":
            return await manage.status(farm, args.release)
        case "requeue":
            return await manage.requeue(farm, args.query)
    raise AssertionError(args.action)


def main(argv: list[str] | None = None) -> int:
    """The `farm` console script."""
    args = argv if argv is not None else sys.argv[1:]
    logging.basicConfig(level=logging.DEBUG if "--debug" in args else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        print("farm: interrupted", file=sys.stderr)
        return 130
