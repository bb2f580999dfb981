"""Discover, parse, migrate, inherit and validate the catalog files.

Public API (stable; other layers rely on it)::

    load_catalog(root: Path | None = None) -> Catalog
    Catalog.ink(id) -> Ink                      Catalog.inks() -> tuple[Ink, ...]
    Catalog.recipe(id) -> Recipe                Catalog.recipes() -> tuple[Recipe, ...]
    Catalog.printer(id) -> PrinterDefinition    Catalog.printers() -> tuple[PrinterDefinition, ...]
    Catalog.resolve(recipe_id, overrides=None) -> ResolvedSettings
    Catalog.file_sha256(kind, id) -> str        SHA-256 (hex) of that file's bytes
    Catalog.sources(kind, id) -> tuple[SourceFile, ...]   the file, then its inherits chain
    Catalog.files() -> dict[str, str]           every loaded file: relative path -> SHA-256
    Catalog.source_files() -> dict[str, str]    the same, with the files they inherit from
    Catalog.origin(kind, id) -> Mapping[str, str]  dotted key -> file that set it (after inherits)
    file_sha256(path) -> str

``kind`` is ``"ink"``, ``"recipe"`` or ``"printer"``. The data root holds
``inks/``, ``recipes/`` and ``gcode/printers/``; by default it is the
environment variable ``PRINTPHARM_DATA_DIR`` or else the directory above the
``printpharm`` package (the repository or installed data). Every problem is a
:class:`~printpharm.errors.CatalogError` naming the file, key, value and limit;
an unknown id lists the known ids. Abstract files (``abstract = true``) are
bases for ``inherits`` only and are not returned by ``ink()``/``inks()``.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from printpharm.catalog._checks import check_references
from printpharm.catalog._errors import describe_errors
from printpharm.catalog._models import Ink, PrinterDefinition, Versioned
from printpharm.catalog._recipes import Recipe
from printpharm.catalog.migrations import MIGRATIONS, MigrationRegistry
from printpharm.catalog.stack import ResolvedSettings, resolve_recipe
from printpharm.errors import CatalogError, InputError

__all__ = [
    "validate_model",
    "DATA_DIR_ENV",
    "KIND_DIRS",
    "Catalog",
    "Kind",
    "SourceFile",
    "default_data_root",
    "file_sha256",
    "load_catalog",
]

Kind = Literal["ink", "recipe", "printer"]
#: Where each kind of file lives, relative to the data root.
KIND_DIRS: dict[Kind, str] = {"ink": "inks", "recipe": "recipes", "printer": "gcode/printers"}
_MODELS: dict[Kind, type[Versioned]] = {"ink": Ink, "recipe": Recipe, "printer": PrinterDefinition}
#: Environment variable naming another data root.
DATA_DIR_ENV = "PRINTPHARM_DATA_DIR"
#: Keys a child never takes from its parent.
_NOT_INHERITED = ("id", "inherits", "abstract")

_M = TypeVar("_M", bound=Versioned)


@dataclass(frozen=True)
class SourceFile:
    """One loaded file: its kind, id, path, path relative to the data root, SHA-256."""

    kind: Kind
    id: str
    path: Path
    relpath: str
    sha256: str


@dataclass(frozen=True)
class _Parsed:
    source: SourceFile
    data: dict[str, Any]


def file_sha256(path: Path) -> str:
    """SHA-256 (lower-case hex) of a file's bytes.

    Raises
    ------
    CatalogError
        If the file cannot be read.
    """
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot be read ({exc.strerror})") from exc


def default_data_root() -> Path:
    """``$PRINTPHARM_DATA_DIR`` if set, else the directory above the ``printpharm`` package."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent


#: Deepest nesting of tables and arrays a catalog file may have (the schema needs 4).
MAX_DEPTH = 16
#: Most digits of an integer in a catalog file (counts and versions need a few).
MAX_INT_DIGITS = 18


def _check_shape(data: dict[str, Any], rel: str) -> None:
    """Refuse nesting and integers no catalog file needs (checked without recursion).

    Raises
    ------
    CatalogError
        A value nested deeper than :data:`MAX_DEPTH`, or an integer longer than
        :data:`MAX_INT_DIGITS` digits.
    """
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        where, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise CatalogError(f"{rel}: {where or 'a value'} is nested deeper than {MAX_DEPTH}")
        if isinstance(value, dict):
            stack += [(f"{where}.{k}" if where else str(k), v, depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(f"{where}[{i}]", v, depth + 1) for i, v in enumerate(value)]
        elif isinstance(value, int) and not isinstance(value, bool):
            if abs(value) >= 10**MAX_INT_DIGITS:
                raise CatalogError(
                    f"{rel}: {where} is an integer of more than {MAX_INT_DIGITS} digits"
                )


def _parse(kind: Kind, path: Path, root: Path, registry: MigrationRegistry) -> _Parsed:
    rel = path.relative_to(root).as_posix()
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{rel}: not a valid UTF-8 TOML file ({exc})") from exc
    except ValueError as exc:  # an integer beyond Python's digit limit (4300)
        raise CatalogError(f"{rel}: a number is too long to read ({exc})") from exc
    except RecursionError as exc:  # tomllib parses arrays and inline tables recursively
        raise CatalogError(f"{rel}: values are nested too deeply to read") from exc
    _check_shape(data, rel)
    data = registry.migrate(data, file=rel)
    if data.get("id") != path.stem:
        raise CatalogError(f"{rel}: id = {data.get('id')!r} must equal the file name {path.stem!r}")
    digest = hashlib.sha256(raw).hexdigest()
    return _Parsed(SourceFile(kind, path.stem, path, rel, digest), data)


def _is_leaf(value: Any) -> bool:
    """Quantities, spans and non-tables replace a parent's value whole."""
    return not isinstance(value, dict) or "unit" in value


def _merge(
    base: dict[str, Any], top: dict[str, Any], origin: dict[str, str], rel: str, prefix: str = ""
) -> dict[str, Any]:
    """Deep-merge ``top`` over ``base``, recording in ``origin`` which file set each leaf."""
    out = dict(base)
    for key, value in top.items():
        path = f"{prefix}{key}"
        if not _is_leaf(value) and isinstance(out.get(key), dict) and not _is_leaf(out[key]):
            out[key] = _merge(out[key], value, origin, rel, path + ".")
        else:
            out[key] = value
            for stale in [k for k in origin if k.startswith(path + ".")]:
                del origin[stale]
            _record(value, origin, rel, path)
    return out


def _record(value: Any, origin: dict[str, str], rel: str, path: str) -> None:
    if _is_leaf(value):
        origin[path] = rel
    else:
        for key, sub in value.items():
            _record(sub, origin, rel, f"{path}.{key}")


def _chain(kind: Kind, start: str, parsed: Mapping[str, _Parsed]) -> list[_Parsed]:
    """The file and its ancestors, child first; refuses cycles and missing parents."""
    chain = [parsed[start]]
    seen = [start]
    while (parent := chain[-1].data.get("inherits")) is not None:
        rel = chain[-1].source.relpath
        if not isinstance(parent, str) or parent not in parsed:
            raise CatalogError(
                f"{rel}: inherits = {parent!r}: no {kind} with that id "
                f"(known: {', '.join(sorted(parsed))})"
            )
        if parent in seen:
            loop = " → ".join([*seen[seen.index(parent) :], parent])
            raise CatalogError(f"{rel}: inherits = {parent!r} makes a cycle: {loop}")
        seen.append(parent)
        chain.append(parsed[parent])
    return chain


def _inherit(chain: list[_Parsed]) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge a chain (child first) from the root ancestor down; return data and key origins."""
    origin: dict[str, str] = {}
    merged: dict[str, Any] = {}
    for link in reversed(chain):
        own = {k: v for k, v in link.data.items() if k not in _NOT_INHERITED}
        merged = _merge(merged, own, origin, link.source.relpath)
    merged.update({k: chain[0].data[k] for k in _NOT_INHERITED if k in chain[0].data})
    return merged, origin


def _validate(model: type[_M], data: dict[str, Any], rel: str, abstract: bool) -> _M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        message = describe_errors(exc, rel, skip_missing=abstract, model=model)
        if message is None:
            return None
        raise CatalogError(message) from exc


class Catalog:
    """The validated inks, recipes and printer definitions of one data root.

    Build it with :func:`load_catalog`. Immutable after loading.
    """

    def __init__(
        self,
        root: Path,
        models: Mapping[Kind, Mapping[str, Versioned]],
        sources: Mapping[tuple[Kind, str], tuple[SourceFile, ...]],
        origins: Mapping[tuple[Kind, str], Mapping[str, str]],
    ) -> None:
        self.root = root
        self._models = models
        self._sources = sources
        self._origins = origins
        self._resolved: dict[str, ResolvedSettings] = {}  # without overrides, by recipe id

    def _get(self, kind: Kind, id_: str, model: type[_M]) -> _M:
        found = self._models[kind].get(id_)
        if found is None:
            known = ", ".join(sorted(self._models[kind])) or "none"
            extra = " (an abstract base)" if (kind, id_) in self._sources else ""
            raise CatalogError(f"unknown {kind} id {id_!r}{extra}; known {kind}s: {known}")
        assert isinstance(found, model)
        return found

    def ink(self, id_: str) -> Ink:
        """The ink ``id_``. Raises CatalogError (listing known ids) if unknown."""
        return self._get("ink", id_, Ink)

    def recipe(self, id_: str) -> Recipe:
        """The recipe ``id_``. Raises CatalogError (listing known ids) if unknown."""
        return self._get("recipe", id_, Recipe)

    def printer(self, id_: str) -> PrinterDefinition:
        """The printer definition ``id_``. Raises CatalogError (listing known ids) if unknown."""
        return self._get("printer", id_, PrinterDefinition)

    def _all(self, kind: Kind, model: type[_M]) -> tuple[_M, ...]:
        return tuple(self._get(kind, i, model) for i in sorted(self._models[kind]))

    def inks(self) -> tuple[Ink, ...]:
        """Every concrete ink, by id."""
        return self._all("ink", Ink)

    def recipes(self) -> tuple[Recipe, ...]:
        """Every concrete recipe, by id."""
        return self._all("recipe", Recipe)

    def printers(self) -> tuple[PrinterDefinition, ...]:
        """Every concrete printer definition, by id."""
        return self._all("printer", PrinterDefinition)

    def sources(self, kind: Kind, id_: str) -> tuple[SourceFile, ...]:
        """The file of ``id_`` followed by the files it inherits from (abstract ones too).

        Raises
        ------
        CatalogError
            If no file of that kind has that id.
        """
        found = self._sources.get((kind, id_))
        if found is None:
            known = ", ".join(sorted(i for k, i in self._sources if k == kind))
            raise CatalogError(f"unknown {kind} id {id_!r}; known {kind}s: {known}")
        return found

    def file_sha256(self, kind: Kind, id_: str) -> str:
        """SHA-256 (hex) of the bytes of the file that defines ``id_`` (as loaded)."""
        return self.sources(kind, id_)[0].sha256

    def files(self) -> dict[str, str]:
        """Every loaded file: path relative to the data root → SHA-256."""
        return {s[0].relpath: s[0].sha256 for s in self._sources.values()}

    def source_files(self) -> dict[str, str]:
        """Every loaded file and every file they inherit from: relative path → SHA-256."""
        return {s.relpath: s.sha256 for chain in self._sources.values() for s in chain}

    def origin(self, kind: Kind, id_: str) -> Mapping[str, str]:
        """Which file set each (dotted) key of ``id_`` after inheritance."""
        self.sources(kind, id_)
        return self._origins[(kind, id_)]

    def resolve(
        self, recipe_id: str, overrides: Mapping[str, Any] | None = None
    ) -> ResolvedSettings:
        """Resolve the process of ``recipe_id``: override → recipe → ink → printer → defaults.

        Parameters
        ----------
        recipe_id
            A concrete recipe id.
        overrides
            Batch overrides as file-style values, e.g.
            ``{"print_speed": {"value": Decimal("8"), "unit": "mm/s"}}``, or ``None``.

        Raises
        ------
        CatalogError
            Unknown recipe, or a process value missing from every layer.
        InputError
            An override that is not a valid process setting (unit, limits, key).
        DesignSpaceError
            A resolved temperature outside the recipe's validated window.
        """
        if not overrides and recipe_id in self._resolved:
            return self._resolved[recipe_id]  # immutable, and the catalog is too
        recipe = self.recipe(recipe_id)
        ink, printer = self.ink(recipe.ink), self.printer(recipe.printer)
        files: dict[str, str] = {}
        parts: tuple[tuple[Kind, str], ...] = (
            ("recipe", recipe.id),
            ("ink", ink.id),
            ("printer", printer.id),
        )
        for kind, id_ in parts:
            files.update({s.relpath: s.sha256 for s in self.sources(kind, id_)})
        resolved = resolve_recipe(
            recipe,
            ink,
            printer,
            origins={
                "recipe": self._origins[("recipe", recipe.id)],
                "ink": self._origins[("ink", ink.id)],
                "printer": self._origins[("printer", printer.id)],
            },
            files=files,
            overrides=overrides,
            recipe_file=self.sources("recipe", recipe.id)[0].relpath,
        )
        if not overrides:
            self._resolved[recipe_id] = resolved
        return resolved


class _Files(Mapping[str, _Parsed]):
    """The files of one kind by id, each parsed when first asked for (ids are file names)."""

    def __init__(self, kind: Kind, root: Path, registry: MigrationRegistry) -> None:
        directory = root / KIND_DIRS[kind]
        if not directory.is_dir():
            raise CatalogError(f"{directory}: catalog directory not found (set {DATA_DIR_ENV})")
        self._kind, self._root, self._registry = kind, root, registry
        self._paths = {p.stem: p for p in sorted(directory.glob("*.toml"))}
        self._parsed: dict[str, _Parsed] = {}

    def __getitem__(self, id_: str) -> _Parsed:
        if id_ not in self._parsed:
            self._parsed[id_] = _parse(self._kind, self._paths[id_], self._root, self._registry)
        return self._parsed[id_]

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


class _Loaded:
    """Validated models, sources and key origins, filled kind by kind, id by id."""

    def __init__(self) -> None:
        self.models: dict[Kind, dict[str, Versioned]] = {kind: {} for kind in KIND_DIRS}
        self.sources: dict[tuple[Kind, str], tuple[SourceFile, ...]] = {}
        self.origins: dict[tuple[Kind, str], dict[str, str]] = {}

    def add(self, kind: Kind, id_: str, files: _Files) -> Versioned | None:
        """Inherit, validate and keep ``id_``; its model, or None for an abstract base."""
        chain = _chain(kind, id_, files)
        merged, origin = _inherit(chain)
        abstract = chain[0].data.get("abstract") is True
        model = _validate(_MODELS[kind], merged, chain[0].source.relpath, abstract)
        if model is not None and not abstract:
            self.models[kind][id_] = model
        self.sources[(kind, id_)] = tuple(link.source for link in chain)
        self.origins[(kind, id_)] = origin
        return model if not abstract else None

    def catalog(self, root: Path) -> Catalog:
        catalog = Catalog(root, self.models, self.sources, self.origins)
        check_references(catalog)
        return catalog


def load_catalog(
    root: Path | None = None,
    *,
    registry: MigrationRegistry = MIGRATIONS,
    recipe: str | None = None,
) -> Catalog:
    """Load and check every ink, recipe and printer file under ``root`` (or one recipe's).

    Parameters
    ----------
    root
        Data root holding ``inks/``, ``recipes/`` and ``gcode/printers/``; default
        :func:`default_data_root`.
    registry
        schema_version migrators (tests pass their own).
    recipe
        Load only this recipe with its ink and printer (and the files they inherit
        from), checked exactly as in a full load: what a command about one recipe
        needs (``printpharm plan``), without parsing and validating every file. An
        unknown id, an abstract one or a missing ink or printer falls back to the
        full load, whose error lists the known ids.

    Raises
    ------
    CatalogError
        A missing directory, or a file that is not valid TOML, has the wrong
        schema_version, an id that differs from its file name, a broken
        ``inherits``, a key/value the schema refuses, or a reference to an
        unknown/mismatched ink or printer.
    """
    root = default_data_root() if root is None else root
    if recipe is not None:
        recipes = _Files("recipe", root, registry)
        if recipe in recipes:
            loaded = _Loaded()
            model = loaded.add("recipe", recipe, recipes)
            inks, printers = _Files("ink", root, registry), _Files("printer", root, registry)
            if isinstance(model, Recipe) and model.ink in inks and model.printer in printers:
                loaded.add("ink", model.ink, inks)
                loaded.add("printer", model.printer, printers)
                return loaded.catalog(root)
    loaded = _Loaded()
    for kind in KIND_DIRS:  # in this order: a bad ink is reported before a missing folder
        files = _Files(kind, root, registry)
        for id_ in files:
            loaded.add(kind, id_, files)
    return loaded.catalog(root)


def validate_model(kind: Literal["recipe", "ink"], data: Mapping[str, Any]) -> Recipe | Ink:
    """Validate a stored recipe or ink (e.g. a library version's content) against the schema.

    Raises
    ------
    InputError
        The data break the schema; the message names each offending key and why.
    """
    model_type: type[Recipe] | type[Ink] = Recipe if kind == "recipe" else Ink
    try:
        return model_type.model_validate(data)
    except ValidationError as exc:
        label = f"{kind} {data.get('id')!r}"
        problems = describe_errors(exc, label, model=model_type) or label
        raise InputError(f"{label} breaks the schema:\n{problems}") from exc
