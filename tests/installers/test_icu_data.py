"""installers/icu_data.py: Qt's ICU data without the items Qt never reads, the rest intact.

Runs on the ICU data library that PySide6 installs (the one the bundle would carry).
The built library's behaviour in Qt (collation, time-zone names, codecs, casing) is
checked by build.sh's smoke test on the bundle.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("icu_data", ROOT / "installers" / "icu_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _qt_icu_data() -> Path:
    if sys.platform != "linux" or not (shutil.which("nm") and shutil.which("readelf")):
        pytest.skip("the ICU data library is trimmed on Linux, with binutils")
    found = importlib.util.find_spec("PySide6")
    assert found is not None and found.origin is not None
    libraries = sorted((Path(found.origin).parent / "Qt" / "lib").glob("libicudata.so.*"))
    if not libraries:
        pytest.skip("this PySide6 carries no ICU data library")
    return libraries[0]


@pytest.fixture(scope="module")
def package() -> bytes:
    icu = _module()
    library = _qt_icu_data()
    _, offset, size = icu._symbol(library)
    data: bytes = library.read_bytes()[offset : offset + size]
    return data


def test_keeping_everything_rewrites_the_package_byte_for_byte(package: bytes) -> None:
    assert _module().trim_package(package, lambda name: False) == package


def test_the_trimmed_package_keeps_every_item_qt_reads(package: bytes) -> None:
    icu = _module()
    _, before = icu._items(package)
    trimmed = icu.trim_package(package)
    _, after = icu._items(trimmed)
    kept = {name: data for name, data in before if not icu.unused(name)}
    assert dict(after) == kept  # same items, same bytes (up to 16-byte padding)
    names = [name for name, _ in after]
    assert names == sorted(names)  # ICU looks items up by binary search
    for needed in ("coll/root.res", "coll/sv.res", "zone/de.res", "metaZones.res", "cnvalias.icu"):
        assert any(name.endswith("/" + needed) for name in names), needed
    assert not any("/curr/" in name or "/brkitr/" in name for name in names)
    assert len(trimmed) < 0.6 * len(package)
