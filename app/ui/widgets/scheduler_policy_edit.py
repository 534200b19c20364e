"""The settings page's row for who renders next: strict priority or fair share, with its weights.

Edits `scheduler_policy`, `fair_share_by` and `fair_share_weights` of flamenco-manager.yaml (see
app/manager/scheduling/fair_share.py). Weights are typed as `alice=2, bob=0.5`; the Manager checks
them again when the page saves.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QWidget

from app.manager.scheduling.fair_share import DEFAULT_SHARE_BY, FAIR_SHARE, PRIORITY, check_weights

CHOICES = ((PRIORITY, "Strict priority: the oldest job of the highest priority first"),
           (FAIR_SHARE, "Fair share: equal priority jobs share the workers among their submitters"))


class SchedulerPolicyEdit(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.policy = QComboBox()
        self.policy.setObjectName("schedulerPolicy")
        for value, label in CHOICES:
            self.policy.addItem(label, value)
        self.share_by = QLineEdit(placeholderText=DEFAULT_SHARE_BY)
        self.share_by.setToolTip("The job metadata that names the submitter: user.name (the add-on sends it), "
                                 "or project when your add-on fills one in")
        self.weights = QLineEdit(placeholderText="weights, e.g. alice=2, lighting=0.5 (others 1)")
        self.weights.setObjectName("fairShareWeights")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.policy, 2)
        row.addWidget(self.share_by, 1)
        row.addWidget(self.weights, 2)
        self.policy.currentIndexChanged.connect(lambda *_: self._enable())
        self._enable()

    def _enable(self) -> None:
        sharing = self.policy.currentData() == FAIR_SHARE
        self.share_by.setEnabled(sharing)
        self.weights.setEnabled(sharing)

    def set_from(self, raw: dict[str, Any]) -> None:
        index = self.policy.findData(raw.get("scheduler_policy") or PRIORITY)
        self.policy.setCurrentIndex(max(index, 0))
        self.share_by.setText(str(raw.get("fair_share_by") or ""))
        weights = raw.get("fair_share_weights") or {}
        self.weights.setText(", ".join(f"{k}={v:g}" if isinstance(v, int | float) else f"{k}={v}"
                                       for k, v in weights.items()) if isinstance(weights, dict) else "")
        self._enable()

    def parsed_weights(self) -> dict[str, float]:
        """The weights typed, checked; ValueError saying what is wrong."""
        typed: dict[str, Any] = {}
        for part in self.weights.text().split(","):
            if not part.strip():
                continue
            name, sep, number = part.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"write each weight as name=number, not {part.strip()!r}")
            try:
                typed[name.strip()] = float(number)
            except ValueError:
                raise ValueError(f"the weight of {name.strip()!r} must be a number, not {number.strip()!r}") from None
        return check_weights(typed)

    def problems(self) -> list[str]:
        try:
            self.parsed_weights()
        except ValueError as exc:
            return [f"fair share weights: {exc}"]
        return []

    def values(self) -> dict[str, Any]:
        """The three keys for flamenco-manager.yaml."""
        return {"scheduler_policy": self.policy.currentData(),
                "fair_share_by": self.share_by.text().strip() or DEFAULT_SHARE_BY,
                "fair_share_weights": self.parsed_weights()}
