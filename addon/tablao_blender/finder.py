"""Finding the Manager on the network from Blender: the tray worker's UPnP/SSDP search, off the main thread.

`Search` runs the vendored finder (`_discovery.search`, the same M-SEARCH for `urn:flamenco:manager:0`)
on a thread, then asks every answering Manager for its name and version with the add-on's urllib client.
The "Find Automatically" operator starts one and returns at once; a `bpy.app.timers` timer (`poll`)
picks the outcome up on the main thread: one Manager fills the Manager URL, several are listed for
the artist to pick ("Use"), none leaves the URL as typed and says so in words.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import bpy

from . import _discovery
from .comms import Manager

_log = logging.getLogger(__name__)

SEARCH_S = 3.0  # how long the search listens for answers, as the tray worker's


@dataclass
class Found:
    url: str
    name: str
    version: str

    @property
    def label(self) -> str:
        return f"{self.name} {self.version} at {self.url}"


class Search:
    """One network search on its own thread; `done` is set when `found`/`error` are final."""

    def __init__(self, token: str = "", timeout_s: float = SEARCH_S, targets: list[tuple[str, int]] | None = None):
        self.token, self.timeout_s, self.targets = token, timeout_s, targets
        self.found: list[Found] = []
        self.error = ""
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="tablao-find-manager", daemon=True)

    def start(self) -> Search:
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            urls = asyncio.run(_discovery.search(self.timeout_s, self.targets))
            for url in urls:
                try:
                    version = Manager(url, self.token, timeout=3.0).version()
                except Exception as exc:  # answered the search but is not a Manager we can use
                    _log.info("%s answered the search but not /api/v3/version: %s", url, exc)
                    continue
                self.found.append(Found(url + "/", version.name, version.version))
        except Exception as exc:
            self.error = f"The network search failed: {exc}"
        finally:
            self.done.set()


@dataclass
class Finder:
    search: Search | None = None
    found: list[Found] = field(default_factory=list)
    message: str = ""  # the last search's outcome, in words
    hint: str = ""  # what to do about it, on a second line
    ok: bool = False


FINDER = Finder()


def parse_targets(text: str) -> list[tuple[str, int]] | None:
    """`"127.0.0.1:1900, host:port"` → addresses to search unicast (tests); empty → the multicast group."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        host, _, port = part.rpartition(":")
        out.append((host, int(port)))
    return out or None


def start(prefs: Any, targets: list[tuple[str, int]] | None = None, timeout_s: float = SEARCH_S) -> Search:
    """Start a search (returns at once); `poll` applies its outcome to `prefs` when it is done."""
    FINDER.search = Search(prefs.access_token, timeout_s, targets).start()
    FINDER.found, FINDER.message, FINDER.ok, FINDER.hint = [], "Searching the network for a Manager…", True, ""
    return FINDER.search


def apply(prefs: Any, search: Search) -> str:
    """Show the outcome: one Manager fills the URL, several wait for a pick, none keeps the typed URL."""
    FINDER.search, FINDER.found, FINDER.hint = None, list(search.found), ""
    if search.error:
        FINDER.message, FINDER.ok, FINDER.hint = search.error, False, "Type the Manager URL by hand."
    elif not search.found:
        FINDER.message, FINDER.ok = f"No Manager answered within {search.timeout_s:g} s: the URL above is kept.", False
        FINDER.hint = "Type the URL by hand, or turn on 'autodiscoverable' in the Manager's settings."
    elif len(search.found) == 1:
        prefs.manager_url = search.found[0].url
        FINDER.message, FINDER.ok = f"Found {search.found[0].label}", True
    else:
        FINDER.message, FINDER.ok = f"{len(search.found)} Managers answered: pick one below", True
    return FINDER.message


def poll() -> float | None:
    """The timer: apply a finished search on the main thread and redraw the preferences."""
    search = FINDER.search
    if search is None:
        return None
    if not search.done.is_set():
        return 0.25
    from .preferences import addon_prefs

    apply(addon_prefs(), search)
    for window in getattr(bpy.context.window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type == "PREFERENCES":
                area.tag_redraw()
    return None


def reset() -> None:
    if bpy.app.timers.is_registered(poll):
        bpy.app.timers.unregister(poll)
    FINDER.__init__()  # type: ignore[misc]


class TABLAO_OT_find_managers(bpy.types.Operator):
    bl_idname = "tablao.find_managers"
    bl_label = "Find Automatically"
    bl_description = "Search this network for Managers (UPnP/SSDP, as the tray worker does) and fill the URL"

    targets: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Addresses",
        description="host:port list to search instead of the network's multicast group (for tests)",
        default="",
        options={"HIDDEN", "SKIP_SAVE"},
    )

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return FINDER.search is None

    def execute(self, context: bpy.types.Context) -> set[str]:
        from .preferences import addon_prefs

        try:
            targets = parse_targets(self.targets)
        except ValueError:
            self.report({"ERROR"}, f"Not a host:port list: {self.targets}")
            return {"CANCELLED"}
        start(addon_prefs(context), targets)
        if not bpy.app.timers.is_registered(poll):
            bpy.app.timers.register(poll, first_interval=0.25)
        return {"FINISHED"}


class TABLAO_OT_use_manager(bpy.types.Operator):
    bl_idname = "tablao.use_manager"
    bl_label = "Use"
    bl_description = "Use this Manager: put its URL in the preferences"

    url: bpy.props.StringProperty(name="URL", options={"HIDDEN", "SKIP_SAVE"})  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        from .preferences import addon_prefs

        addon_prefs(context).manager_url = self.url
        chosen = next((f for f in FINDER.found if f.url == self.url), None)
        FINDER.found, FINDER.ok = [], True
        FINDER.message = f"Using {chosen.label if chosen else self.url}"
        return {"FINISHED"}


def draw(layout: Any) -> None:
    """The finder's part of the preferences: its button, its outcome, the Managers to pick from."""
    row = layout.row()
    row.operator(TABLAO_OT_find_managers.bl_idname, icon="VIEWZOOM")
    if FINDER.message:
        layout.label(text=FINDER.message, icon="INFO" if FINDER.ok else "ERROR")
    if FINDER.hint:
        layout.label(text=FINDER.hint, icon="BLANK1")
    for found in FINDER.found if len(FINDER.found) > 1 else ():
        row = layout.row()
        row.label(text=found.label, icon="NETWORK_DRIVE")
        row.operator(TABLAO_OT_use_manager.bl_idname).url = found.url


classes = (TABLAO_OT_find_managers, TABLAO_OT_use_manager)
