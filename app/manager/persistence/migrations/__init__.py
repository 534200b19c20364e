"""Numbered schema migrations, applied in order and recorded in a history table."""
