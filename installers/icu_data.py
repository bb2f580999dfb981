"""Trim the ICU data library that Qt Core links (PySide6 ships ICU's full 31.9 MB of data).

Qt 6 Core calls ICU for four things only (``nm -D --undefined-only libQt6Core.so.6 |
grep _73``; no other Qt library the bundle carries calls ICU): collation (``ucol_*``:
QCollator, e.g. the order of the file dialog's list), time-zone IDs and names
(``ucal_*``: QTimeZone), legacy text codecs (``ucnv_*``: QStringConverter beyond UTF
and Latin-1) and locale case mapping (``u_strToUpper/Lower``, whose data is built
into ``libicuuc``). What the bundle leaves out of the data package, and why:

- the display names of currencies, languages, regions and units, the number
  spell-out rules, the break iterators and their dictionaries, the transliterators
  and the Unicode character names (about 15 MB): none of those four services reads them;
- the multi-byte legacy converters (Shift_JIS, EUC, GB18030, Big5, EBCDIC DBCS; 4.7 MB):
  printpharm reads and writes UTF-8 and ASCII only (G-code, TOML, JSON, CSV, serial
  lines) and always through Python, never through a Qt codec. The single-byte code
  pages (Windows, ISO-8859, DOS, Mac; 0.4 MB) and the alias table stay, so a Western
  legacy name still resolves;
- the per-locale data, time-zone display names and collation tailorings of every
  locale but English and ICU's root (8.7 MB): printpharm's interface is English only
  and shows no time-zone names; ICU falls back to the default locale, then root, for
  the others. A German zone name then reads in English in an English session, and
  "GMT+01:00" in a German one (both seen in the bundle); the one list Qt sorts by
  locale in printpharm (the file dialog's, saving a PDF or a label) uses the Unicode
  root order (CLDR's, with ICU's full table: letters before case, accents second, and
  numbers by value in the dialog's numeric mode), which is English's; only a
  language's own letters move (Swedish å, ä, ö sort with a and o, not after z).

The rest is linked back into a ``libicudata`` with the same soname and entry symbol.
The package format is ICU's "common data" (``CmnD``): a header, a table of contents
sorted by item name (name offset, data offset; offsets from the table's start), the
names, then each item 16-byte aligned. Used by ``printpharm.spec`` at build time;
``build.sh``'s smoke test then checks collation, time-zone names, codecs and casing,
and the fallbacks, in the built bundle. Needs ``nm`` and a C compiler (``cc``);
without them the library is bundled as it is.

Run alone to see what is left out: ``python installers/icu_data.py libicudata.so.73``.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

#: Item folders and files of the data package that Qt never reaches (see the docstring).
UNUSED = ("curr/", "lang/", "region/", "unit/", "rbnf/", "brkitr/", "translit/", "unames.icu")
#: Trees whose per-locale items are kept only for ``KEPT_LOCALES``: the top-level locale
#: data (``de.res``: calendars, number symbols), the time-zone display names (``zone/``)
#: and the collation tailorings (``coll/``; the root order and its table stay).
LOCALE_TREES = ("", "zone/", "coll/")
#: The locales printpharm shows (its interface is English), and ICU's root, to which
#: every other locale falls back (a German time-zone name then reads "GMT+01:00").
KEPT_LOCALES = ("root", "en")
_LOCALE_ITEM = re.compile(r"[a-z]{2,3}(_[A-Za-z0-9]*)*\.res")  # de.res, de_.res, zh_Hant_HK.res
_ALIGN = 16


def _locale(name: str) -> str | None:
    """The locale of a per-locale item name (``de_CH.res`` → ``de_CH``), else None."""
    if name == "res_index.res" or not _LOCALE_ITEM.fullmatch(name):
        return None  # res_index lists a tree's locales; pool.res etc. are not locales
    return name[: -len(".res")]


def _multibyte_converter(data: bytes) -> bool:
    """Whether a ``.cnv`` item is a multi-byte code page (Shift_JIS, GB18030, Big5, EUC...).

    Its ``UConverterStaticData`` follows the data header: size (4), name (60), code page
    (4), platform, conversion type, min and max bytes per character (1 each).
    """
    header = struct.unpack_from("<H", data, 0)[0]
    return len(data) > header + 71 and data[header + 71] > 1


def unused(item: str, data: bytes = b"") -> bool:
    """Whether a package item (``icudt73l/curr/de.res``) is one the bundle leaves out.

    Besides the folders Qt never reads (``UNUSED``): the legacy multi-byte converters
    (``data`` is the item's bytes; the single-byte code pages, 0.4 MB, stay), and the
    per-locale items of ``LOCALE_TREES`` for locales other than ``KEPT_LOCALES``.
    """
    relative = item.split("/", 1)[1] if "/" in item else item
    if relative.startswith(UNUSED):
        return True
    if relative.endswith(".cnv"):
        return _multibyte_converter(data)
    tree, _, name = relative.rpartition("/")
    if (tree + "/" if tree else "") not in LOCALE_TREES:
        return False
    locale = _locale(name)
    return locale is not None and locale.split("_")[0] not in KEPT_LOCALES


def _items(package: bytes) -> tuple[int, list[tuple[str, bytes]]]:
    """The header size and every (name, data) item of a little-endian common data package."""
    header = struct.unpack_from("<H", package, 0)[0]
    if package[2:4] != b"\xda\x27" or package[12:16] != b"CmnD" or package[4 + 4] != 0:
        raise ValueError("not a little-endian ICU common data package (CmnD)")
    count = struct.unpack_from("<I", package, header)[0]
    entries = [struct.unpack_from("<II", package, header + 4 + 8 * i) for i in range(count)]
    items = []
    for i, (name_at, data_at) in enumerate(entries):
        start = header + name_at
        name = package[start : package.index(b"\0", start)].decode("ascii")
        end = header + entries[i + 1][1] if i + 1 < count else len(package)
        items.append((name, package[header + data_at : end]))
    return header, items


def trim_package(package: bytes, drop: Callable[[str, bytes], bool] = unused) -> bytes:
    """The package without the items ``drop`` names; the rest byte for byte, in order."""
    header, items = _items(package)
    kept = [(name, data) for name, data in items if not drop(name, data)]
    names = b"".join(name.encode("ascii") + b"\0" for name, _ in kept)
    table = 4 + 8 * len(kept)
    offset = table + len(names)
    offset += -(header + offset) % _ALIGN  # items are 16-byte aligned in memory
    entries, blobs, name_at = [], [], table
    for name, data in kept:
        entries.append(struct.pack("<II", name_at, offset))
        name_at += len(name) + 1
        padded = data + b"\0" * (-len(data) % _ALIGN)
        blobs.append(padded)
        offset += len(padded)
    body = struct.pack("<I", len(kept)) + b"".join(entries) + names
    body += b"\xaa" * (-(header + len(body)) % _ALIGN)  # (ICU pads with 0xaa)
    return package[:header] + body + b"".join(blobs)


def _symbol(library: Path) -> tuple[str, int, int]:
    """The data symbol (``icudt73_dat``), its file offset and size."""
    listing = subprocess.run(
        ["nm", "-D", "-S", "--defined-only", str(library)], capture_output=True, text=True
    ).stdout
    match = re.search(r"^([0-9a-f]+) ([0-9a-f]+) R (icudt\d+_dat)$", listing, re.MULTILINE)
    if match is None:
        raise ValueError(f"{library}: no icudtNN_dat symbol")
    address, size = int(match.group(1), 16), int(match.group(2), 16)
    sections = subprocess.run(
        ["readelf", "-W", "-S", str(library)], capture_output=True, text=True
    ).stdout
    for line in sections.splitlines():  # file offset of the symbol's section
        parts = line.split("]")[-1].split()
        if len(parts) >= 5 and parts[0] == ".rodata":
            section_address, section_offset = int(parts[2], 16), int(parts[3], 16)
            return match.group(3), address - section_address + section_offset, size
    raise ValueError(f"{library}: no .rodata section")


def build_library(original: Path, out_dir: Path) -> Path | None:
    """A trimmed copy of ``original`` (libicudata.so.NN) in ``out_dir``, or None if the
    tools are missing (the caller then bundles the original)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or shutil.which("nm") is None or shutil.which("readelf") is None:
        return None
    symbol, offset, size = _symbol(original)
    package = original.read_bytes()[offset : offset + size]
    trimmed = trim_package(package)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / original.name
    with tempfile.TemporaryDirectory() as work:
        blob, source = Path(work) / "icu.dat", Path(work) / "icu.S"
        blob.write_bytes(trimmed)
        source.write_text(
            "\t.section .rodata\n"
            f"\t.globl {symbol}\n\t.type {symbol}, @object\n\t.balign 16\n"
            f'{symbol}:\n\t.incbin "{blob}"\n\t.size {symbol}, . - {symbol}\n'
            '\t.section .note.GNU-stack,"",@progbits\n',
            encoding="ascii",
        )
        subprocess.run(
            [compiler, "-shared", "-nostdlib", f"-Wl,-soname,{original.name}", "-o",
             str(target), str(source)],
            check=True,
        )  # fmt: skip
    return target


def main() -> int:
    library = Path(sys.argv[1])
    _, offset, size = _symbol(library)
    _, items = _items(library.read_bytes()[offset : offset + size])
    dropped = [(name, len(data)) for name, data in items if unused(name, data)]
    total = sum(len(data) for _, data in items)
    by_folder: dict[str, int] = {}
    for name, size in dropped:
        relative = name.split("/", 1)[1]
        folder = relative.rsplit("/", 1)[0] + "/" if "/" in relative else "(top level)"
        folder = "converters" if relative.endswith(".cnv") else folder
        by_folder[folder] = by_folder.get(folder, 0) + size
    print(f"{len(items)} items, {total / 1e6:.1f} MB; left out: "
          f"{sum(by_folder.values()) / 1e6:.1f} MB")  # fmt: skip
    for folder, size in sorted(by_folder.items(), key=lambda row: -row[1]):
        print(f"  {folder:14s} {size / 1e6:5.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
