"""Trim the ICU data library that Qt Core links (PySide6 ships ICU's full 31 MB of data).

Qt 6 Core calls ICU for four things only (``nm -D libQt6Core.so.6 | grep _73``):
collation (``ucol_*``: QCollator, locale-aware sorting, the file dialog's order),
time-zone IDs and names (``ucal_*``: QTimeZone), legacy text codecs (``ucnv_*``:
QStringConverter beyond UTF and Latin-1) and locale case mapping
(``u_strToUpper/Lower``). None of them reads the display names of currencies,
languages, regions and units, the number spell-out rules, the break iterators and
their dictionaries, the transliterators or the Unicode character names: those
items (about 15 MB) are removed from ICU's common data package, and the package is
linked back into a ``libicudata`` with the same soname and entry symbol. Collation,
time zones, codecs and casing keep all their data (every locale).

The package format is ICU's "common data" (``CmnD``): a header, a table of contents
sorted by item name (name offset, data offset; offsets from the table's start), the
names, then each item 16-byte aligned. Used by ``printpharm.spec`` at build time;
``build.sh``'s smoke test then checks collation, a time-zone name and a legacy codec
in the built bundle. Needs ``nm`` and a C compiler (``cc``); without them the
library is bundled as it is.

Run alone to see what would be kept: ``python installers/icu_data.py libicudata.so.73``.
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
_ALIGN = 16


def unused(item: str) -> bool:
    """Whether a package item (``icudt73l/curr/de.res``) is one Qt never reads."""
    relative = item.split("/", 1)[1] if "/" in item else item
    return relative.startswith(UNUSED)


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


def trim_package(package: bytes, drop: Callable[[str], bool] = unused) -> bytes:
    """The package without the items ``drop`` names; the rest byte for byte, in order."""
    header, items = _items(package)
    kept = [(name, data) for name, data in items if not drop(name)]
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
    dropped = sum(len(data) for name, data in items if unused(name))
    total = sum(len(data) for _, data in items)
    print(f"{len(items)} items, {total / 1e6:.1f} MB; unused by Qt: {dropped / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
