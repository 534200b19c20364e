"""The tray's state icons, drawn in code (no image files): one look per state, a pie for progress.

One look per word: a worker asleep by its schedule and one put to sleep by someone are both
"asleep" (`app.ui.state_words`) and both show the moon.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap

from app.ui import tray_state as ts

COLOURS = {
    ts.IDLE: "#3a9d5d", ts.RENDERING: "#2f7fd8", ts.ASLEEP: "#3b4a7a", ts.PAUSED: "#3b4a7a",
    ts.UNREACHABLE: "#8a8a8a", ts.ERROR: "#d64541", ts.STARTING: "#8a8a8a",
}
SIZE = 64


def draw(kind: str, progress: float | None = None, size: int = SIZE) -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(COLOURS.get(kind, "#8a8a8a"))
    rect = QRectF(3, 3, size - 6, size - 6)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(colour.lighter(170) if kind == ts.RENDERING else colour)
    p.drawEllipse(rect)
    white = QPen(QColor("white"), size / 10, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    c = size / 2
    if kind == ts.RENDERING:
        p.setBrush(colour)
        p.drawPie(rect, 90 * 16, -int(360 * 16 * (progress if progress is not None else 0.25)))
        p.setPen(QPen(colour.darker(130), size / 16))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(rect)
    elif kind == ts.IDLE:
        p.setBrush(QColor("white"))
        p.drawEllipse(QPointF(c, c), size / 7, size / 7)
    elif kind in (ts.ASLEEP, ts.PAUSED):
        moon = QPainterPath()
        moon.addEllipse(QPointF(c, c), size * 0.27, size * 0.27)
        bite = QPainterPath()
        bite.addEllipse(QPointF(c + size * 0.13, c - size * 0.1), size * 0.24, size * 0.24)
        p.setBrush(QColor("#f4e9a6"))
        p.drawPath(moon.subtracted(bite))
    elif kind in (ts.UNREACHABLE, ts.STARTING):
        p.setPen(white)
        d = size * 0.2
        if kind == ts.UNREACHABLE:
            p.drawLine(QPointF(c - d, c - d), QPointF(c + d, c + d))
            p.drawLine(QPointF(c + d, c - d), QPointF(c - d, c + d))
        else:
            p.drawArc(QRectF(c - d, c - d, 2 * d, 2 * d), 90 * 16, -270 * 16)
    elif kind == ts.ERROR:
        p.setPen(QColor("white"))
        font = QFont()
        font.setBold(True)
        font.setPixelSize(int(size * 0.6))
        p.setFont(font)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, "!")
    p.end()
    return pix


def icon(kind: str, progress: float | None = None) -> QIcon:
    # Progress in 8 steps, so a rendering tray redraws at most 8 times per task.
    step = None if progress is None else round(progress * 8) / 8
    return QIcon(draw(kind, step))
