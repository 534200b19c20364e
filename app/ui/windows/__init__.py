"""The dashboard's windows and panes."""
