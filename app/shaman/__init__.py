"""Shaman: a content-addressed file store with per-job checkouts (independent of the Manager)."""
