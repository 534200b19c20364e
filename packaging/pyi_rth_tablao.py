"""Runs first in the bundled programs, before Tablao's own code.

- The bundle may lie in a read-only folder: Python must never try to write compiled files beside the
  sources it carries.
- PyInstaller's launcher puts the bundle's library folder first on LD_LIBRARY_PATH so that this
  process finds its libraries. The programs Tablao starts must not inherit that: Debian's Blender
  would load the bundle's libpython instead of its own and fail to import `math`. The loader has
  read the variable already, so putting the user's value back changes only what children get.
"""

import os
import sys

sys.dont_write_bytecode = True

_bundle = getattr(sys, "_MEIPASS", "")
_paths = os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep)
if _bundle and _paths[0] == _bundle:
    _original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if _original:
        os.environ["LD_LIBRARY_PATH"] = _original
    else:
        del os.environ["LD_LIBRARY_PATH"]
