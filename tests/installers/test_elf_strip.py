"""installers/elf_strip.py: binaries are stripped only where the dynamic loader still accepts them.

Runs on the installed wheels the bundle would carry (NumPy's OpenBLAS, whose
patchelf-rewritten segments GNU strip misaligns; Pillow's ``_imaging`` with 2.5 MB of
debug sections). The built bundle's use of them is checked by build.sh's smoke test.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or not (shutil.which("strip") or shutil.which("llvm-strip")),
    reason="binaries are stripped on Linux, with binutils' strip or llvm-strip",
)


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("elf_strip", ROOT / "installers" / "elf_strip.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _site_file(package: str, pattern: str) -> Path:
    found = importlib.util.find_spec(package)
    assert found is not None and found.origin is not None
    folder = Path(found.origin).parent
    matches = sorted(folder.parent.glob(pattern))
    if not matches:
        pytest.skip(f"no {pattern} in this installation")
    return matches[0]


def test_a_misaligned_strip_is_refused_and_the_original_kept(tmp_path: Path) -> None:
    """GNU strip moves a segment of NumPy's OpenBLAS off its page: the loader would refuse it."""
    elf = _module()
    openblas = _site_file("numpy", "numpy.libs/libscipy_openblas*.so")
    assert elf.loadable(openblas)
    naive = tmp_path / "naive" / openblas.name
    naive.parent.mkdir()
    shutil.copy2(openblas, naive)
    tool = shutil.which("strip")
    if tool is None:
        pytest.skip("GNU strip is the tool that misaligns it")
    subprocess.run([tool, "--strip-unneeded", str(naive)], check=True)
    assert not elf.loadable(naive)  # "ELF load command address/offset not page-aligned"
    assert elf.stripped_copy(openblas, tmp_path / "out" / openblas.name, tool) == openblas
    assert not (tmp_path / "out" / openblas.name).exists()


def test_a_safe_strip_gives_a_smaller_module_that_still_works(tmp_path: Path) -> None:
    """Pillow's core without its debug sections still imports and encodes images."""
    elf = _module()
    imaging = _site_file("PIL", "PIL/_imaging.*.so")
    package = tmp_path / "site" / "PIL"
    shutil.copytree(imaging.parent, package)
    libs = imaging.parent.parent / "pillow.libs"
    if libs.is_dir():
        shutil.copytree(libs, tmp_path / "site" / "pillow.libs")
    stripped = elf.stripped_copy(imaging, tmp_path / "stripped" / imaging.name)
    assert stripped != imaging and elf.loadable(stripped)
    assert stripped.stat().st_size < 0.5 * imaging.stat().st_size
    shutil.copy2(stripped, package / imaging.name)
    code = (
        "import io, PIL; from PIL import Image; b = io.BytesIO(); "
        "Image.new('RGB', (32, 32), 'red').save(b, 'PNG'); "
        "print(PIL.__file__, Image.open(io.BytesIO(b.getvalue())).getpixel((1, 1)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(package)) and "(255, 0, 0)" in done.stdout


def test_files_that_are_not_elf_are_left_as_they_are(tmp_path: Path) -> None:
    elf = _module()
    text = tmp_path / "notes.so"
    text.write_bytes(b"not an ELF file" * 10)
    assert not elf.loadable(text)
    assert elf.stripped_copy(text, tmp_path / "out" / "notes.so") == text
