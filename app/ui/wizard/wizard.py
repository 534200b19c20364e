"""`SetupWizard`: the pages in order; a Worker-only setup skips the Manager's pages.

It never dead-ends: a page that cannot go on says what to do next, Back keeps what was typed, and
the Manager's checks run off the UI thread. Opened again from the menu it starts from the current
configuration.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QWizard, QWizardPage

from app.ui.quitting import QUIT_SHORTCUT
from app.ui.wizard.blender_page import BlenderPage
from app.ui.wizard.context import WizardContext
from app.ui.wizard.hub_page import HubPage
from app.ui.wizard.network_page import NetworkPage
from app.ui.wizard.review_page import ReviewPage
from app.ui.wizard.role_page import RolePage
from app.ui.wizard.scripts_page import ScriptsPage
from app.ui.wizard.storage_page import StoragePage
from app.ui.wizard.trial_page import TrialRenderPage
from app.ui.wizard.variables_page import VariablesPage

ROLE, STORAGE, BLENDER, VARIABLES, SCRIPTS, NETWORK, HUB, REVIEW, TEST = range(9)


class SetupWizard(QWizard):
    applied = Signal()  # the Manager took the settings (before the test render)

    def __init__(self, ctx: WizardContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Set up Tablao")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.role_page = RolePage(ctx)
        self.pages: dict[int, QWizardPage] = {
            ROLE: self.role_page, STORAGE: StoragePage(ctx), BLENDER: BlenderPage(ctx),
            VARIABLES: VariablesPage(ctx), SCRIPTS: ScriptsPage(ctx), NETWORK: NetworkPage(ctx),
            HUB: HubPage(ctx), REVIEW: ReviewPage(ctx), TEST: TrialRenderPage(ctx),
        }
        for page_id, page in self.pages.items():
            self.setPage(page_id, page)
        self.setStartId(ROLE)
        self.resize(760, 620)
        QShortcut(QUIT_SHORTCUT, self).activated.connect(self.reject)  # Ctrl+Q everywhere: here, leave the wizard

    def nextId(self) -> int:
        current = self.currentId()
        if current == ROLE and self.role_page.role() == "worker":
            return REVIEW
        return super().nextId()
