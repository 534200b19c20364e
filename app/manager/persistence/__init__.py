"""The Manager's store: the only code that builds database queries."""
