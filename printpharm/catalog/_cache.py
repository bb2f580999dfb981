"""A recipe's validated catalog kept between processes, keyed by its files' bytes.

``printpharm plan`` spends a large part of its start building the schema validators of the
catalog models (pydantic) to check three small files that rarely change. So after a load
that passed every check, the validated models of that recipe, its ink and printer (and
the files they inherit from) are pickled into the user's cache folder together with the
SHA-256 of every file they came from and a fingerprint of the code that checked them
(its files' sizes and times). The next load uses them only when every file still has the
same SHA-256 and the code is the same; otherwise the files are parsed and validated
again, so a changed file is refused with the same message as without the cache. A cache
that cannot be read or written is ignored. Unpickling accepts the catalog's own classes
and a few value types only, so a cache file can hold data, never code to run.

The folder is ``$PRINTPHARM_CACHE_DIR`` or the platform's user cache folder.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from printpharm.catalog.loader import Catalog

__all__ = ["CACHE_DIR_ENV", "cache_folder", "load_cached", "store"]

#: Environment variable naming the cache folder.
CACHE_DIR_ENV = "PRINTPHARM_CACHE_DIR"
#: Bumped when the layout of a cache file changes.
_FORMAT = 1
#: Modules whose code decides what a validated catalog holds.
_CODE = ("printpharm/catalog", "printpharm/core", "printpharm/errors.py", "printpharm/__init__.py")
#: Classes a cache file may name besides the catalog's own (module, name).
_VALUES = {
    ("decimal", "Decimal"),
    ("datetime", "date"),
    ("pathlib", "PosixPath"),
    ("pathlib", "WindowsPath"),
}


def cache_folder() -> Path:
    """``$PRINTPHARM_CACHE_DIR``, else the user cache folder's ``printpharm/catalog``."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("printpharm", appauthor=False)) / "catalog"


def _code_fingerprint() -> str:
    """SHA-256 over the catalog code's files (name, size, time), the interpreter and pydantic."""
    import pydantic

    package = Path(__file__).resolve().parent.parent
    stamps = [f"{_FORMAT} {sys.version} {pydantic.VERSION}"]
    for name in _CODE:
        path = package.parent / name
        try:
            entries = list(os.scandir(path)) if path.is_dir() else [path]
        except OSError:
            continue
        for entry in entries:
            if str(entry).endswith(".py"):
                stat = entry.stat() if isinstance(entry, os.DirEntry) else os.stat(entry)
                stamps.append(f"{os.fspath(entry)} {stat.st_size} {stat.st_mtime_ns}")
    if len(stamps) == 1:  # a frozen bundle: its code is in the executable
        stat = os.stat(sys.executable)
        stamps.append(f"{sys.executable} {stat.st_size} {stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(sorted(stamps)).encode()).hexdigest()


def _entry(root: Path, recipe: str) -> Path:
    key = hashlib.sha256(f"{root.resolve()}\0{recipe}".encode()).hexdigest()[:32]
    return cache_folder() / f"{key}.pickle"


class _DataOnly(pickle.Unpickler):
    """Refuses all but the catalog's own classes and a few value types (no code to run)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _VALUES:
            return super().find_class(module, name)
        if module.startswith("printpharm.catalog.") and name.isidentifier():
            found = super().find_class(module, name)
            if isinstance(found, type) and found.__module__ == module:
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not catalog data")


def load_cached(root: Path, recipe: str) -> Catalog | None:
    """The cached catalog of ``recipe`` if its files and code are unchanged, else ``None``."""
    try:
        blob = _entry(root, recipe).read_bytes()
        header, payload = blob.split(b"\n", 1)
        code, *files = header.decode().split(" ")
        if code != _code_fingerprint() or not files:
            return None
        for item in files:
            relpath, sha = item.rsplit("=", 1)
            if hashlib.sha256((root / relpath).read_bytes()).hexdigest() != sha:
                return None
        from printpharm.catalog.loader import Catalog

        catalog = _DataOnly(io.BytesIO(payload)).load()
        return catalog if isinstance(catalog, Catalog) else None
    except (OSError, ValueError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
        return None  # no cache, or one this code cannot read: validate the files


def store(catalog: Catalog, recipe: str) -> None:
    """Keep ``catalog`` (loaded for ``recipe`` and checked) with the recipe's resolved process.

    A recipe whose process does not resolve is not kept (the command reports why).
    """
    from printpharm.errors import PrintpharmError

    try:
        catalog.resolve(recipe)
    except PrintpharmError:
        return
    files = catalog.source_files()
    if any(" " in relpath or "=" in relpath for relpath in files):
        return  # the header separates files by spaces
    header = " ".join([_code_fingerprint(), *(f"{p}={s}" for p, s in sorted(files.items()))])
    path = _entry(catalog.root, recipe)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(header.encode() + b"\n" + pickle.dumps(catalog, protocol=5))
        os.replace(temporary, path)
    except OSError:  # e.g. a read-only home: the next process validates again
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass
