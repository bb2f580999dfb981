"""The standalone bundle: ``installers/build.sh`` builds it and its smoke test passes.

Building takes about 2 minutes on 2 cores, so it runs only when asked:
``PRINTPHARM_BUILD_INSTALLER=1 python -m pytest tests/installers/test_build.py``.
The packaging files it relies on are checked always.
"""

from __future__ import annotations

import configparser
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from printpharm import __version__

ROOT = Path(__file__).resolve().parents[2]
INSTALLERS = ROOT / "installers"
BUILD_ENV = "PRINTPHARM_BUILD_INSTALLER"


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.skipif(
    os.environ.get(BUILD_ENV) != "1",
    reason=f"builds the PyInstaller bundle (~2 min): run with {BUILD_ENV}=1 "
    "(or run installers/build.sh directly)",
)
@pytest.mark.skipif(sys.platform != "linux", reason="build.sh is the Linux build")
def test_build_sh_builds_a_bundle_that_passes_its_smoke_test(tmp_path: Path) -> None:
    env = {**os.environ, "PRINTPHARM_BUILD_DIR": str(tmp_path), "PYTHON": sys.executable}
    done = subprocess.run(
        [str(INSTALLERS / "build.sh")], env=env, capture_output=True, text=True, timeout=1700
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert f"ok: --version → printpharm {__version__}" in done.stdout
    assert "smoke test passed" in done.stdout
    assert "ok: stripped native libraries compute" in done.stdout
    assert "start to LoginDialog painted: median" in done.stdout  # printed, not judged
    bundle = tmp_path / "dist" / "printpharm"
    assert (bundle / "printpharm").is_file()
    assert all((bundle / "_internal" / d).is_dir() for d in ("inks", "recipes", "gcode"))
    assert (tmp_path / "smoke-window.png").stat().st_size > 10_000
    for folder in ("work", "dist"):  # ~0.5 GB; pytest keeps the last runs' tmp_path
        shutil.rmtree(tmp_path / folder, ignore_errors=True)


@pytest.mark.skipif(sys.platform != "linux", reason="build.sh is the Linux build")
def test_build_sh_refuses_a_python_without_the_dependencies_in_one_line(tmp_path: Path) -> None:
    """A bare interpreter would give a bundle that cannot start: stop before PyInstaller."""
    import venv

    venv.create(tmp_path / "bare", with_pip=False)
    python = tmp_path / "bare" / "bin" / "python"
    env = {**os.environ, "PRINTPHARM_BUILD_DIR": str(tmp_path / "out"), "PYTHON": str(python)}
    done = subprocess.run(
        [str(INSTALLERS / "build.sh")], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("[build.sh] FAILED:") and str(python) in lines[0]
    assert "numpy missing" in lines[0] and "pip install -e" in lines[0]
    assert not (tmp_path / "out").exists()  # PyInstaller never ran


def test_bundle_size_table_attributes_files_to_their_packages(tmp_path: Path) -> None:
    sys.path.insert(0, str(INSTALLERS))
    try:
        from bundle_sizes import bundle_table
    finally:
        sys.path.remove(str(INSTALLERS))
    internal = tmp_path / "printpharm" / "_internal"
    files = {
        "numpy/_core/x.so": 3000,
        "numpy.libs/libopenblas.so": 5000,
        "PySide6/Qt/lib/libQt6Core.so.6": 7000,
        "shiboken6/libshiboken6.so": 1000,
        "pillow.libs/libjpeg.so": 500,
        "PIL/_imaging.so": 700,
        "libpython3.11.so.1.0": 900,
        "python3.11/lib-dynload/_ssl.so": 100,
        "libz.so.1": 50,
    }
    for name, size in files.items():
        path = internal / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
    rows, total = bundle_table(tmp_path / "printpharm")
    native = {name: size for name, size, _ in rows}
    assert native == {
        "PySide6": 8000,
        "numpy": 8000,
        "PIL": 1200,
        "Python runtime": 1000,
        "system libraries": 50,
    }
    assert total == sum(files.values())


def test_desktop_entry_launches_printpharm_with_its_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(INSTALLERS / "printpharm.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert (section["Type"], section["Exec"], section["Icon"]) == (
        "Application",
        "printpharm",
        "printpharm",
    )
    assert section["Categories"].endswith(";") and section["Terminal"] == "false"


def test_icons_are_square_images_of_the_declared_sizes() -> None:
    png = (INSTALLERS / "printpharm.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (256, 256)
    ico = (INSTALLERS / "printpharm.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    sizes = {ico[6 + 16 * i] or 256 for i in range(count)}
    assert (reserved, kind) == (0, 1) and sizes == {16, 32, 48, 256}


def test_windows_installer_ships_the_bundle_with_start_menu_and_machine_data() -> None:
    script = (INSTALLERS / "printpharm.iss").read_text(encoding="utf-8")
    assert f'#define AppVersion "{__version__}"' in script  # kept in step with printpharm
    assert "{group}\\printpharm" in script and "{commonappdata}\\printpharm" in script
    assert "PRINTPHARM_DATABASE_URL" in script
