"""`python -m app` runs the `tablao` command line."""

from app.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
