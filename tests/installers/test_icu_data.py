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
    assert _module().trim_package(package, lambda name, data: False) == package


def test_the_trimmed_package_keeps_every_item_qt_reads(package: bytes) -> None:
    icu = _module()
    _, before = icu._items(package)
    trimmed = icu.trim_package(package)
    _, after = icu._items(trimmed)
    kept = {name: data for name, data in before if not icu.unused(name, data)}
    assert dict(after) == kept  # same items, same bytes (up to 16-byte padding)
    names = [name for name, _ in after]
    assert names == sorted(names)  # ICU looks items up by binary search
    needed = (
        # collation: the root order with ICU's full table, and English
        "coll/root.res", "coll/ucadata.icu", "coll/res_index.res", "coll/en.res",
        # time zones: the tz data and metazones, English and root names, the key pools
        "zoneinfo64.res", "metaZones.res", "timezoneTypes.res", "windowsZones.res",
        "zone/root.res", "zone/en.res", "zone/en_GB.res", "zone/pool.res", "zone/tzdbNames.res",
        # locale machinery every service uses
        "root.res", "en.res", "pool.res", "res_index.res", "likelySubtags.res",
        "supplementalData.res",
        # converter aliases and the single-byte code pages (windows-1252, ISO-8859-15, DOS)
        "cnvalias.icu", "ibm-5348_P100-1997.cnv", "ibm-923_P100-1998.cnv", "ibm-437_P100-1995.cnv",
    )  # fmt: skip
    relative = {name.split("/", 1)[1] for name in names}  # without the "icudt73l/" prefix
    assert set(needed) <= relative, set(needed) - relative
    left_out = (
        "curr/de.res", "brkitr/root.res", "unames.icu",
        # per-locale data, zone names and collation tailorings but English and root
        "de.res", "zh_Hant_HK.res", "zone/de.res", "zone/ja.res", "coll/sv.res", "coll/zh.res",
        "coll/de__PHONEBOOK.res",
        # multi-byte legacy converters (Shift_JIS, GB18030, EUC-JP, Big5)
        "ibm-943_P15A-2003.cnv", "gb18030.cnv", "euc-jp-2007.cnv", "windows-950-2000.cnv",
    )  # fmt: skip
    assert not set(left_out) & relative, set(left_out) & relative
    assert len(trimmed) < 0.15 * len(package)


def test_only_per_locale_items_count_as_locales() -> None:
    icu = _module()
    assert icu._locale("de_CH.res") == "de_CH" and icu._locale("zh_Hant_HK.res") == "zh_Hant_HK"
    for name in ("res_index.res", "root.res", "pool.res", "metaZones.res", "units.res"):
        assert icu._locale(name) in (None, "root"), name
    assert not icu.unused("icudt73l/zone/res_index.res")
    assert not icu.unused("icudt73l/res_index.res")
    assert not icu.unused("icudt73l/coll/ucadata.icu") and not icu.unused("icudt73l/coll/root.res")
    assert icu.unused("icudt73l/coll/de__PHONEBOOK.res")
    assert icu.unused("icudt73l/zone/fr_CA.res") and not icu.unused("icudt73l/zone/en_AU.res")
