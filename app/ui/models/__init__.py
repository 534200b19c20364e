"""Qt item models of the dashboard: keyed tables updated by deltas from the event stream."""
