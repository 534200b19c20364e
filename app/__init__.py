"""Tablao: a render farm for Blender that speaks the Flamenco v3 Manager API."""

__version__ = "0.1.0"
# The Flamenco version we are wire-compatible with; the stock add-on compares `shortversion`.
FLAMENCO_COMPAT_VERSION = "3.9-beta1"
