"""The ``printpharm`` entry point: the desktop application, or the command line.

``printpharm`` with no arguments opens the desktop application on the embedded
defaults; with arguments it is the command line (:mod:`printpharm.cli`). This
module sits outside the layers on purpose: it is the only place that knows
both clients, so the CLI never imports Qt and the GUI never imports the CLI.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence

__all__ = ["has_display", "main"]

NO_DISPLAY_MESSAGE = (
    "printpharm: no display available for the desktop application (DISPLAY and "
    "WAYLAND_DISPLAY are unset); run a batch headless on the simulators with "
    "`printpharm run --simulate --recipe cpm-chewable-disc --dose-mg 15 --units 20` "
    "(`printpharm recipes list` shows the recipes, `printpharm --help` all commands)."
)


def has_display() -> bool:
    """Whether a Qt window can be shown (a desktop session or an explicit Qt platform)."""
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal", "vnc"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run printpharm and return the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    # pydantic looks for plugins in the metadata of every installed distribution when
    # the catalog's first model is built (~10 ms at each start); printpharm uses none.
    # An operator who installs one can still enable it by setting the variable.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # NumPy's OpenBLAS starts a thread per core when it is loaded (~20-40 ms of every
    # start on a 2-core machine, more on bigger ones); printpharm's arrays are small and
    # never use BLAS in parallel. An explicit setting is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if args:
        from printpharm.cli import main as cli_main

        return cli_main(args, exiting=argv is None)  # None: this process is the command
    if not has_display():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 2
    gc.disable()  # as for a command (see printpharm.cli.main): imports build no garbage cycles
    try:
        from printpharm.gui.app import main as gui_main  # Qt is imported only here
    finally:
        gc.enable()  # the application then collects on its GUI thread (printpharm.gui._gc)
    code: int = gui_main([])
    return code
