"""`python -m tui` runs the same entry point as the `tchat` command."""

from tui.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
