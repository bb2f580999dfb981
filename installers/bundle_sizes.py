"""What each dependency costs in a built printpharm bundle: a size table.

Run: ``python installers/bundle_sizes.py build/installer/dist/printpharm [--top N]``
(``installers/build.sh`` prints it after every build).

A one-folder PyInstaller bundle holds native files (extension modules, shared
libraries, data) in ``_internal/`` and the pure-Python modules, compressed, in
the PYZ archive inside the executable. Both are attributed to the package that
brought them: ``numpy.libs/`` counts for numpy, ``pillow.libs/`` for PIL, a
``*.dist-info`` folder for its distribution, ``python3.11/`` and ``libpython``
for the Python runtime, other loose ``lib*.so`` files for "system libraries".
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

__all__ = ["bundle_table", "main"]

_ALIASES = {
    "pillow": "PIL",
    "shiboken6": "PySide6",
    "psycopg_binary": "psycopg",
    "stl": "numpy-stl",
}
_RUNTIME = "Python runtime"


def _owner(relative: Path) -> str:
    """The package a file under ``_internal/`` belongs to."""
    top = relative.parts[0]
    if top.startswith("libpython") or top in ("python3.11", "base_library.zip"):
        return _RUNTIME
    if len(relative.parts) == 1 and re.match(r"lib.*\.so", top):
        return "system libraries"
    name = re.sub(r"(\.libs|-[0-9][^/]*\.dist-info|\.dist-info)$", "", top)
    name = _ALIASES.get(name.lower(), _ALIASES.get(name, name))
    return name


def _pure_python(executable: Path) -> dict[str, int]:
    """Compressed bytes of the PYZ archive's modules, by top-level package."""
    sizes: dict[str, int] = defaultdict(int)
    try:
        from PyInstaller.archive.readers import CArchiveReader
    except ImportError:
        return sizes
    archive = CArchiveReader(str(executable))
    for name, entry in archive.toc.items():
        if entry[-1] not in ("z", "Z"):
            continue
        pyz = archive.open_embedded_archive(name)
        for module, (_kind, _offset, length) in pyz.toc.items():
            top = module.split(".")[0]
            sizes[_ALIASES.get(top, top)] += length
    return sizes


def bundle_table(bundle: Path) -> tuple[list[tuple[str, int, int]], int]:
    """Rows (package, native bytes, pure-Python bytes), largest first, and the total bytes."""
    internal = bundle / "_internal"
    native: dict[str, int] = defaultdict(int)
    total = 0
    for path in internal.rglob("*"):
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            native[_owner(path.relative_to(internal))] += size
            total += size
    executable = bundle / bundle.name
    pure = _pure_python(executable) if executable.is_file() else {}
    if executable.is_file():
        exe_size = executable.stat().st_size
        total += exe_size
        native["(bootloader)"] += max(0, exe_size - sum(pure.values()))
    names = set(native) | set(pure)
    rows = [(n, native.get(n, 0), pure.get(n, 0)) for n in names]
    rows.sort(key=lambda row: -(row[1] + row[2]))
    return rows, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the bundle folder (dist/printpharm)")
    parser.add_argument("--top", type=int, default=20, help="rows to print (default 20)")
    args = parser.parse_args(argv)
    if not (args.bundle / "_internal").is_dir():
        print(f"{args.bundle}: not a one-folder PyInstaller bundle", file=sys.stderr)
        return 2
    rows, total = bundle_table(args.bundle)
    mb = 1024 * 1024
    print(f"{'package':28s} {'native MB':>10s} {'python MB':>10s} {'total MB':>9s}")
    for name, native, pure in rows[: args.top]:
        print(f"{name:28s} {native / mb:10.1f} {pure / mb:10.1f} {(native + pure) / mb:9.1f}")
    rest = rows[args.top :]
    if rest:
        other = sum(n + p for _, n, p in rest)
        print(f"{f'{len(rest)} others':28s} {'':10s} {'':10s} {other / mb:9.1f}")
    print(f"{'bundle total':28s} {'':10s} {'':10s} {total / mb:9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
