"""``python -m printpharm`` behaves exactly like the ``printpharm`` command."""

import sys

from printpharm.cli import main

if __name__ == "__main__":
    sys.exit(main())
