"""The add-on's copy of Tablao's wire contract (`app/api`), written by `python -m addon.build`.

Only this file is the add-on's own: the others are the Manager's modules with relative imports.
Blender 3.x ships Python 3.10, which lacks `enum.StrEnum` (3.11); the shim below gives it the same
behaviour, so the vendored `enums.py` stays a verbatim copy.
"""

import enum as _enum

if not hasattr(_enum, "StrEnum"):  # Python < 3.11

    class _StrEnum(str, _enum.Enum):
        def __str__(self) -> str:
            return str(self.value)

    _enum.StrEnum = _StrEnum  # type: ignore[attr-defined]
