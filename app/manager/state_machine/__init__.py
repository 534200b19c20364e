"""Job and task status machines."""
