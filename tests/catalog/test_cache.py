"""The validated catalog kept between processes (``load_catalog(recipe=..., cached=True)``).

A cached load must give what a fresh load gives, and must never hide a file that
changed: a changed file is validated again and refused with the same message. A
cache file can hold data only (never code to run) and a cache folder that cannot
be written is no error.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from printpharm.catalog import _cache, load_catalog
from printpharm.errors import CatalogError
from tests.catalog.conftest import edit

RING = "propranolol-ring"
RING_FILE = "recipes/propranolol-ring.toml"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(_cache.CACHE_DIR_ENV, str(folder))
    return folder


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.pickle")) if folder.is_dir() else []


@pytest.mark.parametrize("recipe_id", [r.id for r in load_catalog().recipes()])
def test_a_cached_load_gives_what_a_fresh_load_gives(cache_dir: Path, recipe_id: str) -> None:
    fresh = load_catalog(recipe=recipe_id)
    load_catalog(recipe=recipe_id, cached=True)  # validates and keeps
    assert len(_entries(cache_dir)) == 1
    cached = load_catalog(recipe=recipe_id, cached=True)
    recipe = cached.recipe(recipe_id)
    assert recipe == fresh.recipe(recipe_id) and type(recipe) is type(fresh.recipe(recipe_id))
    assert cached.ink(recipe.ink) == fresh.ink(recipe.ink)
    assert cached.printer(recipe.printer) == fresh.printer(recipe.printer)
    assert cached.source_files() == fresh.source_files()
    for kind, id_ in (("recipe", recipe_id), ("ink", recipe.ink), ("printer", recipe.printer)):
        assert cached.sources(kind, id_) == fresh.sources(kind, id_)
        assert cached.origin(kind, id_) == fresh.origin(kind, id_)
    resolved, again = cached.resolve(recipe_id), fresh.resolve(recipe_id)
    assert resolved.process == again.process
    assert resolved.to_record() == again.to_record()
    with pytest.raises(TypeError):  # still read-only after the round trip
        resolved.settings["layer_height"] = resolved.settings["line_width"]  # type: ignore[index]


def test_a_changed_file_is_validated_again_and_refused(data_root: Path, cache_dir: Path) -> None:
    load_catalog(data_root, recipe=RING, cached=True)
    edit(data_root, RING_FILE, "min = 2, max = 20", "min = -2, max = 20")
    with pytest.raises(CatalogError) as fresh:
        load_catalog(data_root, recipe=RING)
    with pytest.raises(CatalogError) as cached:
        load_catalog(data_root, recipe=RING, cached=True)
    assert str(cached.value) == str(fresh.value)
    assert "propranolol-ring.toml: dose.range" in str(cached.value)


def test_a_changed_parent_or_ink_file_is_read_again(data_root: Path, cache_dir: Path) -> None:
    before = load_catalog(data_root, recipe=RING, cached=True)
    ink_file = before.sources("ink", before.recipe(RING).ink)[-1].relpath  # the root ancestor
    text = (data_root / ink_file).read_text(encoding="utf-8")
    (data_root / ink_file).write_text(text + "\n# reviewed\n", encoding="utf-8")
    after = load_catalog(data_root, recipe=RING, cached=True)
    assert after.source_files()[ink_file] != before.source_files()[ink_file]
    assert after.source_files()[ink_file] == load_catalog(data_root).source_files()[ink_file]


def test_other_code_does_not_use_the_cache(
    data_root: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_catalog(data_root, recipe=RING, cached=True)
    (entry,) = _entries(cache_dir)
    assert _cache.load_cached(data_root, RING) is not None
    monkeypatch.setattr(_cache, "_code_fingerprint", lambda: "0" * 64)
    assert _cache.load_cached(data_root, RING) is None
    entry.write_bytes(b"not a cache file")
    monkeypatch.undo()
    monkeypatch.setenv(_cache.CACHE_DIR_ENV, str(cache_dir))
    assert _cache.load_cached(data_root, RING) is None
    assert load_catalog(data_root, recipe=RING, cached=True).recipe(RING).id == RING


class _Payload:
    """What a planted cache file would run if it were unpickled without restriction."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (os.mkdir, (str(self.marker),))


def test_a_cache_file_can_hold_data_only(data_root: Path, cache_dir: Path, tmp_path: Path) -> None:
    load_catalog(data_root, recipe=RING, cached=True)
    (entry,) = _entries(cache_dir)
    header = entry.read_bytes().split(b"\n", 1)[0]
    marker = tmp_path / "ran"
    for planted in (pickle.dumps(_Payload(marker)), _dotted_global(marker)):
        entry.write_bytes(header + b"\n" + planted)
        assert load_catalog(data_root, recipe=RING, cached=True).recipe(RING).id == RING
        assert not marker.exists()


def _dotted_global(marker: Path) -> bytes:
    """A pickle calling ``os.mkdir(marker)`` named through a catalog module that imports os."""
    module, name, arg = b"printpharm.catalog.loader", b"os.mkdir", str(marker).encode()
    strings = b"".join(b"\x8c" + bytes([len(s)]) + s for s in (module, name))
    return b"\x80\x04" + strings + b"\x93\x8c" + bytes([len(arg)]) + arg + b"\x85R."


def test_a_cache_folder_that_cannot_be_written_is_no_error(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(_cache.CACHE_DIR_ENV, str(blocker / "cache"))
    for _ in range(2):
        assert load_catalog(data_root, recipe=RING, cached=True).recipe(RING).id == RING


_PROBE = """
import json, sys
from printpharm.launch import main
code = main(sys.argv[1:])
import pydantic
from printpharm.catalog import _models, _quantity, _recipes
models = [v for m in (_models, _quantity, _recipes) for v in vars(m).values()]
built = sorted(v.__name__ for v in models if isinstance(v, type)
               and issubclass(v, pydantic.BaseModel) and v.__pydantic_complete__)
sys.stderr.write("\\nPROBE " + json.dumps([code, built, "importlib.metadata" in sys.modules]))
"""


def test_plan_with_unchanged_files_builds_no_validator(tmp_path: Path) -> None:
    """What makes the second ``printpharm plan`` fast: no model schema is built at all."""
    argv = ["plan", "--recipe", RING, "--dose-mg", "7", "--units", "1"]
    env = {**os.environ, _cache.CACHE_DIR_ENV: str(tmp_path / "cache")}
    runs = []
    for n in (1, 2):
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, *argv, "--out", str(tmp_path / f"{n}.gcode")],
            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
        )  # fmt: skip
        runs.append(json.loads(proc.stderr.rsplit("\nPROBE ", 1)[1]))
        assert runs[-1][0] == 0, proc.stdout + proc.stderr
    (_, built_first, _), (_, built_then, metadata_then) = runs
    assert "Recipe" in built_first  # the first process validated the files
    assert built_then == [] and not metadata_then
    assert (tmp_path / "1.gcode").read_bytes() == (tmp_path / "2.gcode").read_bytes()


def test_defaults_made_without_validation_pass_validation() -> None:
    """Defaults are built with ``model_construct`` (no validator at import): still valid."""
    from printpharm.catalog._models import ProcessLayer, Variability
    from printpharm.catalog._recipes import ControlSettings, FormBounds
    from printpharm.catalog.stack import PROCESS_DEFAULTS

    for model in (ProcessLayer, Variability, ControlSettings, FormBounds):
        default = model()
        assert model.model_validate(default.model_dump()) == default
    written = PROCESS_DEFAULTS.model_dump(exclude_unset=True)
    assert ProcessLayer.model_validate(written) == PROCESS_DEFAULTS
    assert (
        ProcessLayer.model_validate(written).model_fields_set == PROCESS_DEFAULTS.model_fields_set
    )
