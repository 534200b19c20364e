"""The Tablao panel in the Output properties: job, job-type settings, pre-flight report, submit, follow."""

from __future__ import annotations

from typing import Any

import bpy

from . import job_types
from .eta_words import eta_line
from .state import STATE


class TABLAO_PT_submit(bpy.types.Panel):
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "output"
    bl_label = "Tablao Render Farm"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        props = context.scene.tablao
        col = layout.column()
        col.prop(props, "job_name")
        row = col.row(align=True)
        row.prop(props, "job_type")
        row.operator("tablao.refresh", text="", icon="FILE_REFRESH")
        col.prop(props, "priority")
        col.prop(props, "worker_tag")
        if STATE.sites:  # a hub: which of its sites renders the job
            col.prop(props, "site")
        col.prop(props, "submit_paused")
        col.prop(props, "after_job")
        col.prop(props, "preview_first")
        pause = col.row()
        pause.enabled = props.preview_first  # pausing on a failed preview needs previews
        pause.prop(props, "pause_on_preview_failure")
        col.prop(props, "project_root")
        job_type = STATE.job_types.get(props.job_type)
        if job_type is None:
            layout.label(text="Fetch the job types: Refresh from Manager", icon="INFO")
        else:
            self.draw_settings(context, job_type)
        width = _chars(context)
        self.draw_preflight(layout, width)
        self.draw_submit(layout, width)
        self.draw_job(layout)

    def draw_settings(self, context: bpy.types.Context, job_type: Any) -> None:
        settings = getattr(context.window_manager, "tablao_job_settings", None)
        if settings is None:
            return
        from .operators import output_defaults

        box = self.layout.box()
        box.label(text=f"{job_type.label} settings", icon="SETTINGS")
        name = context.scene.tablao.resolved_job_name(context)
        defaults, _moved = output_defaults(context)
        for setting in job_type.settings:
            if not job_types.drawn_in_blender(setting):
                continue
            if not setting.eval:
                box.prop(settings, setting.key)
                if defaults.get(setting.key) and getattr(settings, setting.key) == "":
                    split = box.split(factor=0.4)  # under the value, as the property split draws it
                    split.label(text="")
                    split.label(text=f"Empty: {defaults[setting.key]}")
                continue
            override_key = setting.key + job_types.OVERRIDE_SUFFIX
            overridden = getattr(settings, override_key)
            row = box.row(align=True)
            if overridden:
                row.prop(settings, setting.key)
            else:
                value = job_types.preview_value(setting, settings, context, name, job_type, defaults)
                split = row.split(factor=0.4, align=True)
                name_col = split.row()
                name_col.alignment = "RIGHT"
                name_col.label(text=job_types.label_of(setting))
                split.label(text=value)
            row.prop(settings, override_key, text="", icon="UNLINKED" if overridden else "LINKED")

    def draw_preflight(self, layout: Any, width: int) -> None:
        box = layout.box()
        row = box.row()
        row.label(text="Pre-flight", icon="VIEWZOOM")
        row.operator("tablao.preflight", text="Check Files")
        report = STATE.report
        if report is None:
            box.label(text="Not checked yet")
            return
        for icon, text in report.lines()[:12]:
            for i, line in enumerate(_wrap(text, width)):  # warnings are sentences; labels do not wrap
                box.label(text=line, icon=icon if i == 0 else "BLANK1")

    def draw_submit(self, layout: Any, width: int) -> None:
        if STATE.submission is not None:
            row = layout.row()
            row.label(text=f"{STATE.progress_text} ({int(STATE.progress * 100)}%)", icon="SORTTIME")
            row.operator("tablao.cancel", text="", icon="CANCEL")
            return
        row = layout.row(align=True)
        row.scale_y = 1.4
        row.operator("tablao.submit_job", icon="RENDER_ANIMATION")
        if STATE.report is not None and STATE.report.missing:
            op = row.operator("tablao.submit_job", text="Submit Anyway", icon="ERROR")
            op.allow_missing = True
        if STATE.message:
            for i, line in enumerate(_wrap(STATE.message, width)):
                layout.label(text=line, icon=STATE.message_icon if i == 0 else "BLANK1")

    def draw_job(self, layout: Any) -> None:
        job = STATE.job
        if job is None:
            return
        box = layout.box()
        box.label(text=f"Job: {job.name}", icon="RENDER_RESULT")
        pct = int(100 * job.steps_completed / job.steps_total) if job.steps_total else 0
        box.label(text=f"Status: {job.status}, {pct}% ({job.steps_completed}/{job.steps_total} steps)")
        if job.activity:
            box.label(text=job.activity)
        eta = eta_line(job)
        if eta:
            box.label(text=eta, icon="TIME")
        box.operator("tablao.open_dashboard", icon="WINDOW")
        if STATE.thumbnail:
            from .operators import _previews

            if _previews is not None and STATE.thumbnail in _previews:
                box.template_icon(icon_value=_previews[STATE.thumbnail].icon_id, scale=8.0)


def _chars(context: Any) -> int:
    """About how many characters of a label fit across the panel (labels do not wrap themselves)."""
    region = getattr(context, "region", None)
    scale = getattr(getattr(context.preferences, "system", None), "ui_scale", 1.0) or 1.0
    if region is None or region.width <= 0:
        return 70
    return max(40, int(region.width / (7.5 * scale)) - 8)


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


classes = (TABLAO_PT_submit,)
