"""Strip the symbol tables and debug info from a bundle's Linux binaries, only where that is safe.

Symbols are a large part of some binaries: two thirds of a Python built from source
(pyenv, the build machines), half of SQLAlchemy's compiled modules, 2.5 MB of debug
sections in Pillow's ``_imaging``, 1 MB of GEOS's symbols (shapely), ICU's symbol tables.
Nothing at run time reads them (the dynamic loader uses ``.dynsym``, which stripping keeps).

Stripping is not always safe. Libraries that ``patchelf`` rewrote (auditwheel's
``*.libs`` folders, everything with a rewritten RPATH) can have a segment that ``strip``
moves to a file offset that no longer agrees with its address modulo the page size,
and the dynamic loader then refuses the file ("ELF load command address/offset not
page-aligned": NumPy's OpenBLAS and libgfortran with GNU strip, ``_multiarray_umath``
with llvm-strip). :func:`stripped_copy` therefore checks what the loader checks (glibc's
``_dl_map_object_from_fd``: for every ``PT_LOAD`` segment, ``p_vaddr - p_offset`` is a
multiple of ``p_align``) on the stripped copy, and keeps the original when that fails or
when the file is not a 64-bit little-endian ELF file. The build's smoke test then runs
NumPy's LAPACK, shapely and Pillow in the bundle (``installers/printpharm_entry.py``).

``strip`` (GNU binutils) is used, else ``llvm-strip``; with neither (Windows) the
binaries are bundled as they are. Used by ``printpharm.spec``; run alone to see what a
file would save: ``python installers/elf_strip.py FILE...``.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

__all__ = ["loadable", "strip_tool", "stripped_copy"]

_PT_LOAD = 1


def strip_tool() -> str | None:
    """GNU ``strip``, else ``llvm-strip``, else ``None`` (not on Windows)."""
    if sys.platform == "win32":
        return None
    return shutil.which("strip") or shutil.which("llvm-strip")


def _program_headers(data: bytes) -> list[tuple[int, int, int, int]] | None:
    """(type, offset, vaddr, align) of each program header; None if not ELF64 little-endian."""
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    entsize, count = struct.unpack_from("<HH", data, 0x36)
    if entsize < 56 or phoff + entsize * count > len(data):
        return None
    headers = []
    for i in range(count):
        p_type, _flags, offset, vaddr = struct.unpack_from("<IIQQ", data, phoff + i * entsize)
        align = struct.unpack_from("<Q", data, phoff + i * entsize + 48)[0]
        headers.append((p_type, offset, vaddr, align))
    return headers


def loadable(path: Path) -> bool:
    """Whether the dynamic loader accepts ``path``'s segments (every PT_LOAD page-congruent)."""
    with path.open("rb") as handle:
        data = handle.read(64 * 1024)  # the program headers follow the ELF header
    headers = _program_headers(data)
    if headers is None:
        return False
    return all(
        align <= 1 or (vaddr - offset) % align == 0
        for p_type, offset, vaddr, align in headers
        if p_type == _PT_LOAD
    )


def stripped_copy(source: Path, target: Path, tool: str | None = None) -> Path:
    """``target``: a stripped copy of ``source`` if stripping is safe, else ``source`` itself.

    Safe means: ``source`` is a loadable ELF64 file, ``strip --strip-unneeded`` succeeds
    on a copy, the copy is still loadable (:func:`loadable`) and smaller.
    """
    tool = tool or strip_tool()
    if tool is None or not loadable(source):
        return source
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    done = subprocess.run([tool, "--strip-unneeded", str(target)], capture_output=True)
    if done.returncode != 0 or not loadable(target):
        target.unlink()
        return source
    if target.stat().st_size >= source.stat().st_size:
        target.unlink()
        return source
    return target


def main(argv: list[str]) -> int:
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        for name in argv:
            source = Path(name)
            result = stripped_copy(source, Path(work) / source.name)
            if result == source:
                print(f"{source}: kept as it is (not safely strippable)")
            else:
                before, after = source.stat().st_size, result.stat().st_size
                print(f"{source}: {before / 1e6:.2f} -> {after / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
