"""What shared storage a site's Manager reaches, as it tells the hub: the roots under which a job's
files may lie in place.

The roots are the shared storage path (as the Manager's own platform sees it) and every value of
the two-way variables, each with the platforms it holds for. A value meant only for the workers is
left out: the hub compares the roots with paths an artist's machine wrote.
"""

from __future__ import annotations

from typing import Any

from app.manager.settings.variables import Variables


def storage_roots(variables: Variables) -> list[dict[str, Any]]:
    """`[{"path", "platforms"}]`: where this site reaches files in place, for which platforms."""
    roots: list[dict[str, Any]] = []
    if variables.shared_storage_path:
        roots.append({"path": variables.shared_storage_path, "platforms": [variables.manager_platform]})
    for name in variables.names():
        variable = variables.get(name)
        if variable is None or not variable.is_twoway:
            continue
        for value in variable.values:
            if value.value and value.audience != "workers":
                roots.append({"path": value.value, "platforms": list(value.platforms)})
    return roots
