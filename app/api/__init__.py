"""The wire contract shared by the Manager, the Worker, the UI and the add-on (stdlib only)."""
