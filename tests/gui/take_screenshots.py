"""Screenshots of every screen, for a person to look at (not collected by pytest).

Run by hand from the repository root::

    python tests/gui/take_screenshots.py            # starts Xvfb :99 if there is no display
    python tests/gui/take_screenshots.py --offscreen

Each page (and the interesting states of the new-batch page) is saved with
``QWidget.grab()`` to ``/tmp/printpharm-shots/``; under Xvfb one more picture,
``xvfb-root.png``, is taken of the whole X screen with ImageMagick's
``import -window root`` to show the real window with its decorations.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

OUT = Path("/tmp/printpharm-shots")


def _start_xvfb(display: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x860x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(50):
        if Path(f"/tmp/.X11-unix/X{display.lstrip(':')}").exists():
            break
        time.sleep(0.1)
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return proc


def _shots(root_shot: bool) -> list[Path]:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit

    from printpharm.gui.app import create_application
    from printpharm.gui.main_window import MainWindow
    from printpharm.services.workstation import build_workstation

    app = create_application([])
    settings_file = Path(tempfile.mkdtemp()) / "shots.ini"
    window = MainWindow(
        build_workstation(), QSettings(str(settings_file), QSettings.Format.IniFormat)
    )
    window.resize(1200, 820)
    window.show()
    saved: list[Path] = []

    def settle() -> None:
        for _ in range(5):
            app.processEvents()
            time.sleep(0.02)

    def shot(name: str) -> None:
        settle()
        path = OUT / f"{len(saved) + 1:02d}-{name}.png"
        window.grab().save(str(path))
        saved.append(path)

    def select(combo: QComboBox, data: str) -> None:
        combo.setCurrentIndex(combo.findData(data))

    def fill(edit: QLineEdit, text: str) -> None:
        edit.setText(text)

    page = window.new_batch
    shot("new-batch-empty")
    fill(page.patient, "P-2026-0147")
    fill(page.prescriber, "Dr Weber")
    select(page.drug, "cyclophosphamide")
    fill(page.amount, "20")
    fill(page.height_cm, "110")
    fill(page.weight_kg, "18")
    shot("new-batch-ready")
    fill(page.weight_kg, "450")
    shot("new-batch-weight-refused")
    fill(page.weight_kg, "18")
    fill(page.amount, "60")
    shot("new-batch-dose-outside-recipe")
    fill(page.amount, "20")
    fill(page.cap, "12")
    shot("new-batch-capped")
    page.next_button.click()
    shot("plan")
    steps: list[tuple[str, Callable[[], None]]] = [
        ("print", lambda: window.show_page("print")),
        ("qc-empty", lambda: window.show_page("qc")),
        (
            "qc-20-units",
            lambda: window.qc.set_masses(
                [f"{m:.1f}" for m in (200 + (i % 5) * 1.3 - (i % 3) * 2.1 for i in range(20))],
                "200",
            ),
        ),
        ("history", lambda: window.show_page("history")),
        ("research", lambda: window.show_page("research")),
        ("admin", lambda: window.show_page("admin")),
    ]
    for name, action in steps:
        action()
        shot(name)
    if root_shot and shutil.which("import"):
        window.show_page("new_batch")
        settle()
        path = OUT / "xvfb-root.png"
        subprocess.run(["import", "-window", "root", str(path)], check=True)
        saved.append(path)
    window.close()
    QApplication.processEvents()
    return saved


def main() -> int:
    """Take the screenshots; print the files written."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--offscreen", action="store_true", help="no X server: grab() only")
    parser.add_argument("--display", default=":99", help="Xvfb display to start (default :99)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    xvfb = None
    if args.offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    elif not os.environ.get("DISPLAY"):
        xvfb = _start_xvfb(args.display)
    else:
        os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    try:
        saved = _shots(root_shot=not args.offscreen)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)
    for path in saved:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
