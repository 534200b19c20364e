"""The bundled `farm` program: the same entry point as the installed `farm` script."""

import multiprocessing
import sys

from app.farm.cli import main

if __name__ == "__main__":
    # The Manager runs its job compilers and thumbnailer in child processes started by "spawn": in a
    # bundle those are this program again, and this call turns them into the child.
    multiprocessing.freeze_support()
    sys.exit(main())
