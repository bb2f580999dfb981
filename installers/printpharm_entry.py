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
instead of waiting for a login. It also exercises the native libraries whose
binaries the build strips (NumPy with OpenBLAS, shapely's GEOS, Pillow).

``PRINTPHARM_SMOKE_START=1`` times the desktop start (``installers/start_time.py``):
the real ``printpharm`` start with no arguments, except that the first dialog
(login, or first run) is closed as soon as it has painted, after printing
``smoke-start: <dialog> painted``. Both are read only by this frozen entry point.
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
    native = _native_problems()
    print(f"smoke-gui: native {'ok' if not native else 'FAILED: ' + '; '.join(native)}")
    return 0 if ok and not icu and not pdf and not native else 1


def _native_problems() -> list[str]:
    """Whether the stripped native libraries still load and compute (installers/elf_strip.py)."""
    import io

    problems = []
    try:  # LAPACK and BLAS from NumPy's OpenBLAS, on a matrix large enough to use its kernels
        import numpy as np

        rng = np.random.default_rng(15)
        a = rng.random((120, 120))
        spd = a @ a.T + 120 * np.eye(120)
        x = np.linalg.solve(spd, np.ones(120))
        if not np.allclose(spd @ x, 1.0) or not np.all(np.linalg.eigvalsh(spd) > 0):
            problems.append("numpy.linalg gave a wrong answer")
    except Exception as exc:  # the smoke test reports any failure, e.g. a library not loading
        problems.append(f"numpy: {type(exc).__name__}: {exc}")
    try:  # GEOS: the slicer's polygon offsets
        from shapely.geometry import Point

        area = Point(0, 0).buffer(1.0, quad_segs=64).difference(Point(0, 0).buffer(0.5)).area
        if abs(area - 0.75 * 3.14159265) > 0.01:
            problems.append(f"shapely area {area}")
    except Exception as exc:
        problems.append(f"shapely: {type(exc).__name__}: {exc}")
    try:  # Pillow's core with its zlib and JPEG codecs (reportlab hands it images)
        from PIL import Image

        image = Image.new("RGB", (64, 64), (200, 30, 30))
        for fmt in ("PNG", "JPEG"):
            buffer = io.BytesIO()
            image.save(buffer, fmt)
            buffer.seek(0)
            if Image.open(buffer).convert("RGB").getpixel((5, 5))[0] < 150:
                problems.append(f"Pillow {fmt} round trip")
    except Exception as exc:
        problems.append(f"Pillow: {type(exc).__name__}: {exc}")
    return problems


def _time_start() -> int:
    """The desktop start as `printpharm` runs it, its first dialog closed once painted."""
    import gc

    # what printpharm.launch.main sets before it imports the GUI (same work, same order)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    gc.disable()
    try:
        from PySide6.QtCore import QEvent, QObject, QTimer
        from PySide6.QtWidgets import QDialog

        from printpharm.gui.app import create_application
    finally:
        gc.enable()

    class _FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Paint and isinstance(watched, QDialog):
                if watched.property("smoke_timed") is None:
                    watched.setProperty("smoke_timed", True)
                    print(f"smoke-start: {type(watched).__name__} painted", flush=True)
                    QTimer.singleShot(0, watched.reject)
            return False

    app = create_application([])  # the instance printpharm.gui.app.main then reuses
    watcher = _FirstPaint(app)
    app.installEventFilter(watcher)
    from printpharm.launch import main as launch

    return launch([])


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
    """What Qt Core asks of ICU, with answers that need ICU's data (not a fallback).

    The build keeps collation and time-zone names for English and ICU's root (other
    locales fall back to root), the single-byte legacy code pages, and casing
    (installers/icu_data.py says why).
    """
    from PySide6.QtCore import QByteArray, QCollator, QLocale, QStringDecoder, QTimeZone

    problems = []
    english = QCollator(QLocale("en_US"))
    # code-point order would put B before a, and ö after p: ICU's table must be there
    if not (english.compare("a", "B") < 0 and english.compare("ö", "p") < 0):
        problems.append("English collation")
    if not QCollator(QLocale("sv_SE")).compare("a", "B") < 0:  # falls back to root, answers
        problems.append("collation fallback (Swedish)")
    numeric = QCollator(QLocale("en_US"))
    numeric.setNumericMode(True)  # how the file dialog sorts (QFileSystemModel)
    if not numeric.compare("batch-9.pdf", "batch-10.pdf") < 0:
        problems.append("numeric collation")
    zone = QTimeZone(QByteArray(b"Europe/Paris"))
    standard, long = QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName
    name = zone.displayName(standard, long, QLocale("en_US"))
    if name != "Central European Standard Time":
        problems.append(f"time-zone name {name!r}")
    fallback = zone.displayName(standard, long, QLocale("de_DE"))  # falls back, must answer
    if not fallback:
        problems.append("no time-zone name for a German locale (no fallback)")
    for codec in ("windows-1252", "ISO-8859-15"):  # ucnv_open loads the code page's table
        if not QStringDecoder(codec).isValid():
            problems.append(f"{codec} codec")
    if QLocale("tr_TR").toUpper("i") != "İ":
        problems.append("Turkish upper case")
    print(f"smoke-gui: ICU zone names: en {name!r}, de (fallback) {fallback!r}")
    return problems


def main() -> int:
    os.environ.setdefault("PRINTPHARM_DATA_DIR", str(_bundle_root()))
    drivers = Path(sys.executable).resolve().parent / "drivers"
    if drivers.is_dir():
        sys.path.append(str(drivers))
    png = os.environ.get("PRINTPHARM_SMOKE_GUI")
    if png:
        return _smoke_gui(Path(png))
    if os.environ.get("PRINTPHARM_SMOKE_START") == "1":
        return _time_start()
    from printpharm.launch import main as launch  # the `printpharm` console script's entry

    return launch()


if __name__ == "__main__":
    sys.exit(main())
