"""The Worker: registers with a Manager, runs tasks, reports back."""
