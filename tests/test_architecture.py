"""Architecture rules from STYLE.md, checked on every run."""

from __future__ import annotations

import importlib
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import printpharm

PACKAGE = Path(printpharm.__file__).resolve().parent
HEADLESS_PACKAGES = (
    "printpharm.core",
    "printpharm.catalog",
    "printpharm.geometry",
    "printpharm.slicing",
    "printpharm.devices",
    "printpharm.storage",
    "printpharm.services",
    "printpharm.cli",
)


def _all_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(printpharm.__path__, "printpharm."):
        names.append(info.name)
    return names


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports (import-linter) is not installed; install the test extras")
    proc = subprocess.run([exe], capture_output=True, text=True, cwd=printpharm.__path__[0] + "/..")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_headless_modules_never_import_qt() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import printpharm\n"
        f"for pkg in {HEADLESS_PACKAGES!r}:\n"
        "    m = importlib.import_module(pkg)\n"
        "    for info in pkgutil.walk_packages(m.__path__, pkg + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "import printpharm.cli\n"
        "printpharm.cli.build_parser()\n"
        "bad = sorted(n for n in sys.modules if n.startswith(('PySide6', 'shiboken6')))\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_importing_printpharm_has_no_side_effects() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, printpharm; "
            "print(sorted(m for m in sys.modules if m.startswith('printpharm')))",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['printpharm']"


@pytest.mark.parametrize("name", [n for n in _all_modules() if not n.startswith("printpharm.gui")])
def test_public_names_are_declared_and_exist(name: str) -> None:
    module = importlib.import_module(name)
    if name.rsplit(".", 1)[-1].startswith("_") and not name.endswith("__main__"):
        return  # private modules may omit __all__
    if (
        module.__file__
        and module.__file__.endswith("__init__.py")
        and not hasattr(module, "__all__")
    ):
        return  # a package docstring only
    if name.endswith("__main__"):
        return
    assert hasattr(module, "__all__"), f"{name} lists no __all__"
    for public in module.__all__:
        assert hasattr(module, public), f"{name}.__all__ names {public!r}, which does not exist"


def test_the_within_tolerance_rule_is_written_once() -> None:
    """|x − ref| × 100 ≤ tol × ref lives in core/units.within_tolerance; everyone calls it."""
    pattern = re.compile(r"\*\s*100\s*(<=|<|>=|>)\s")
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in PACKAGE.rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line) and path != PACKAGE / "core" / "units.py"
    ]
    assert offenders == []


def test_locked_mode_is_decided_only_by_the_print_authority() -> None:
    """One door: whether a batch may be printed is print_authority's decision."""
    importers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "services.control._locked_mode" in path.read_text(encoding="utf-8")
    }
    assert importers == {"services/control/print_authority.py"}
