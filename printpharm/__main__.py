"""``python -m printpharm`` behaves exactly like the ``printpharm`` command."""

import sys

from printpharm.launch import main

if __name__ == "__main__":
    sys.exit(main())
