"""Entry point of the frozen (PyInstaller) printpharm executable.

The bundle carries ``inks/``, ``recipes/``, ``gcode/`` and ``resources/`` next to
the ``printpharm`` package (in ``sys._MEIPASS``); ``PRINTPHARM_DATA_DIR`` is set
to that folder unless the site already points it elsewhere, so the catalog is
found whatever the working directory.

A ``drivers/`` folder beside the executable, if there is one, is put on the import
path: a network workstation installs the PostgreSQL driver's binary part there
(``psycopg-binary``, see installers/README.md) when the system has no libpq.

``PRINTPHARM_SMOKE_GUI=<file.png>`` is the build smoke test of the desktop
application: it builds the real main window on the current Qt platform
(``offscreen`` on a build server), renders it to that PNG and checks what Qt
asks of ICU (whose data the build trims: installers/icu_data.py), then exits 0,
instead of waiting for a login. It is read only by this frozen entry point.
Anything else runs exactly like the installed ``printpharm`` command
(:func:`printpharm.launch.main`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _bundle_root() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    return Path(frozen) if frozen else Path(__file__).resolve().parents[1]


def _smoke_gui(png: Path) -> int:
    from PySide6.QtCore import QSettings

    from printpharm.gui.app import build_main_window, create_application
    from printpharm.services.station.workstation import WorkstationConfig, build_workstation

    app = create_application([])
    workstation = build_workstation(WorkstationConfig())
    if workstation.catalog_error:
        print(f"smoke-gui: {workstation.catalog_error}", file=sys.stderr)
        return 1
    settings = QSettings(str(png.with_suffix(".ini")), QSettings.Format.IniFormat)
    window = build_main_window(workstation, settings)
    window.resize(1200, 800)
    window.show()
    for _ in range(20):
        app.processEvents()
    ok = window.grab().save(str(png))
    window.close()
    workstation.session.close()
    print(f"smoke-gui: main window rendered to {png} ({'ok' if ok else 'FAILED'})")
    icu = _icu_problems()
    print(f"smoke-gui: ICU {'ok' if not icu else 'FAILED: ' + '; '.join(icu)}")
    pdf = _pdf_problem()
    print(f"smoke-gui: PDF {'ok' if not pdf else 'FAILED: ' + pdf}")
    return 0 if ok and not icu and not pdf else 1


def _pdf_problem() -> str | None:
    """Whether reportlab renders a PDF (it needs Pillow, which the build trims)."""
    from printpharm.services.access.site_trust import HeadStamp
    from printpharm.services.records._audit_pdf import render_audit_pdf

    try:
        pdf = render_audit_pdf([], "smoke test", "build.sh", "now", HeadStamp(0, "0" * 64, None))
    except Exception as exc:  # the smoke test reports any failure, e.g. a module left out
        return f"{type(exc).__name__}: {exc}"
    return None if pdf.startswith(b"%PDF") else "not a PDF"


def _icu_problems() -> list[str]:
    """What Qt Core asks of ICU, with answers that need ICU's data (not a fallback)."""
    from PySide6.QtCore import QByteArray, QCollator, QLocale, QStringDecoder, QTimeZone

    problems = []
    if not QCollator(QLocale("sv_SE")).compare("z", "ö") < 0:  # Swedish: ö after z
        problems.append("Swedish collation")
    if not QCollator(QLocale("de_DE")).compare("a", "B") < 0:  # a byte order puts B first
        problems.append("German collation")
    zone = QTimeZone(QByteArray(b"Europe/Paris"))
    name = zone.displayName(
        QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName, QLocale("de_DE")
    )
    if name != "Mitteleuropäische Normalzeit":
        problems.append(f"time-zone name {name!r}")
    if not QStringDecoder("Shift_JIS").isValid():
        problems.append("Shift_JIS codec")
    if QLocale("tr_TR").toUpper("i") != "İ":
        problems.append("Turkish upper case")
    return problems


def main() -> int:
    os.environ.setdefault("PRINTPHARM_DATA_DIR", str(_bundle_root()))
    drivers = Path(sys.executable).resolve().parent / "drivers"
    if drivers.is_dir():
        sys.path.append(str(drivers))
    png = os.environ.get("PRINTPHARM_SMOKE_GUI")
    if png:
        return _smoke_gui(Path(png))
    from printpharm.launch import main as launch  # the `printpharm` console script's entry

    return launch()


if __name__ == "__main__":
    sys.exit(main())
