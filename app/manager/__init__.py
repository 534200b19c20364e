"""The Manager: job store, scheduler, state machines and the Flamenco v3 HTTP API."""
