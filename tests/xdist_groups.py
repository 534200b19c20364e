"""`--dist loadgroup` under pytest 9.2: the tests marked `xdist_group(name)` go to one worker again.

pytest-xdist (3.8) tells its scheduler a test's group by appending "@name" to the test's id through
`item._nodeid`, an attribute pytest 9.2 no longer reads (it keeps the id as a structured `item._id`).
The groups were then silently ignored: in a full run two workers built the packaging downloads at
once into the same build/ folder, and one of them failed. `restore` writes the suffix where pytest
keeps the id; with a pytest or pytest-xdist that already carries it, it changes nothing.
"""

from __future__ import annotations

import pytest


def group_of(item: pytest.Item) -> str | None:
    """The item's group as pytest-xdist names it ("a_b" for two marks), or None."""
    names = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
    return "_".join(sorted(names)) if names else None


def restore(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a pytest-xdist worker running `--dist loadgroup`, give each grouped item its "@group" suffix."""
    if not config.getoption("loadgroup", default=False):  # set on the workers of a loadgroup run only
        return
    for item in items:
        group = group_of(item)
        if group is None or item.nodeid.endswith(f"@{group}"):
            continue
        structured = getattr(item, "_id", None)
        if structured is not None and hasattr(type(structured), "parse"):
            item._id = type(structured).parse(f"{item.nodeid}@{group}")
