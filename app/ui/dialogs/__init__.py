"""Dialogs and editors shared by the dashboard and the tray worker."""
