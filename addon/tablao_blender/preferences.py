"""The add-on's preferences: the Manager URL (typed, or found on the network), the token sent with every
request (the Manager's access token, or the submit token a farm's admin hands out so the scripts in an
artist's .blend files may run), and the connection check.

A copy of the add-on downloaded from a Manager (`/tablao-addon.zip`) carries `manager.json` beside this
file, naming the address it was downloaded from: that is the Manager URL's default.
"""

from __future__ import annotations

import json
import os

import bpy

from . import finder
from .state import STATE

DEFAULT_MANAGER_URL = "http://localhost:8080/"


def default_manager_url(folder: str = os.path.dirname(__file__)) -> str:
    """The Manager this copy was downloaded from (manager.json), else localhost."""
    try:
        with open(os.path.join(folder, "manager.json"), encoding="utf-8") as f:
            url = json.load(f).get("manager_url")
    except (OSError, ValueError, AttributeError):
        return DEFAULT_MANAGER_URL
    if isinstance(url, str) and url.startswith(("http://", "https://")) and len(url) <= 300 and url.isprintable():
        return url
    return DEFAULT_MANAGER_URL


def addon_prefs(context: bpy.types.Context | None = None) -> TABLAO_AddonPreferences:
    return (context or bpy.context).preferences.addons[__package__].preferences


def manager_for(context: bpy.types.Context | None = None, timeout: float = 10.0):  # -> comms.Manager
    from .comms import Manager

    prefs = addon_prefs(context)
    return Manager(prefs.manager_url, prefs.access_token, timeout=timeout)


class TABLAO_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    manager_url: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Manager URL",
        description="Address of the Tablao (or Flamenco v3) Manager, e.g. http://farm.local:8080/",
        default=default_manager_url(),
    )
    access_token: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Access or Submit Token",
        description=(
            "The token from your farm's admin, sent as 'Authorization: Bearer': the Manager's access token "
            "when it has one, or its submit token, with which the scripts in your .blend files (rig "
            "controls, Python drivers) run on the farm where the farm allows them. Empty: they never run"
        ),
        subtype="PASSWORD",
        default="",
    )

    dashboard_program: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Desktop App",
        description="The `tablao` program that 'Open in Dashboard' runs; empty: `tablao` found on PATH",
        subtype="FILE_PATH",
        default="",
    )

    def draw(self, context: bpy.types.Context) -> None:
        col = self.layout.column()
        row = col.row(align=True)
        row.prop(self, "manager_url")
        row.operator("tablao.check_connection", text="", icon="FILE_REFRESH")
        finder.draw(col)
        col.prop(self, "access_token")
        if STATE.connection:
            col.label(text=STATE.connection, icon="CHECKMARK" if STATE.connection_ok else "ERROR")
        col.prop(self, "dashboard_program")


classes = (*finder.classes, TABLAO_AddonPreferences)
