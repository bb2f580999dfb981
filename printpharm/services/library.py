"""The validated recipe library: import, edit, validate, lock, retire; locked-mode enforcement.

The shipped ``recipes/`` and ``inks/`` files are imported as versions holding the
resolved model (after ``inherits``), the file's SHA-256 and the hashes of the
files it inherits from. Re-importing an unchanged file does nothing; a changed
file becomes a new *draft* version (a locked version is never overwritten).
Editing creates a new draft version too. Validating and then locking a version
each need a supervisor's electronic signature (meaning ``approved``, bound to
the version's content hash); the person who edited a version cannot sign it.
Locking a version retires the version locked before it.

Locked mode (the default) accepts a batch only with a locked recipe version and
a locked ink version whose content equals what is about to be printed, a dose
inside the validated range and on its step, and no process overrides. In
research mode anything goes, but the batch is *not for patient use* unless it
meets the same conditions (:class:`BatchAuthorisation`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from printpharm.catalog import Catalog
from printpharm.catalog.schema import Ink, Recipe
from printpharm.errors import DesignSpaceError, InputError, RecordError
from printpharm.services.auth import AuthService, UserSession
from printpharm.services.permissions import Operation
from printpharm.services.records import Meaning, RecordsService, SignableRecord
from printpharm.services.run_preflight import LockStatus
from printpharm.storage.audit import AuditEntry, canonical_json, sha256_hex
from printpharm.storage.library import LibraryKind, LibraryVersion, library
from printpharm.storage.repositories import SignatureRecord, UnitOfWork

__all__ = [
    "NOT_FOR_PATIENT_USE",
    "BatchAuthorisation",
    "ImportOutcome",
    "LibraryService",
    "model_content",
    "model_from_content",
]

#: The tag printed on batches that may not be given to a patient.
NOT_FOR_PATIENT_USE = "NOT FOR PATIENT USE"

_MODELS: dict[str, type[BaseModel]] = {"recipe": Recipe, "ink": Ink}


def model_content(model: Recipe | Ink) -> dict[str, Any]:
    """The canonical form of a catalog model stored in a version (``None`` fields left out)."""
    return json.loads(canonical_json(model.model_dump(exclude_none=True)))  # type: ignore[no-any-return]


def _revive(value: Any) -> Any:
    """Turn the string numbers of Quantity/Span tables back into Decimals."""
    if isinstance(value, list):
        return [_revive(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _revive(v) for k, v in value.items()}
    if "unit" in out:
        for key in ("value", "min", "max"):
            if isinstance(out.get(key), str):
                out[key] = Decimal(out[key])
        if isinstance(out.get("values"), list):
            out["values"] = [Decimal(v) if isinstance(v, str) else v for v in out["values"]]
    return out


def model_from_content(kind: str, data: Mapping[str, Any]) -> Recipe | Ink:
    """Rebuild the catalog model from a version's stored ``model`` mapping.

    Raises
    ------
    InputError
        The data break the catalog schema (the first problems are named).
    """
    try:
        model = _MODELS[kind].model_validate(_revive(dict(data)))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3]
        )
        raise InputError(f"{kind} {data.get('id')!r} breaks the schema: {problems}") from exc
    assert isinstance(model, Recipe | Ink)
    return model


def _model_sha256(model_data: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_json(model_data))


@dataclass(frozen=True)
class ImportOutcome:
    """What importing one shipped file did: ``created``, ``new-draft`` or ``unchanged``."""

    kind: LibraryKind
    item_id: str
    version: int
    action: str
    status: str
    file: str
    file_sha256: str


@dataclass(frozen=True)
class BatchAuthorisation:
    """Whether a batch may be made, in which mode, and whether it is for patient use.

    ``problems`` says why it is not for patient use (empty when it is).
    """

    mode: str
    patient_use: bool
    recipe_version: str | None
    ink_version: str | None
    dose_mg: Decimal
    problems: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``for patient use`` or :data:`NOT_FOR_PATIENT_USE`."""
        return "for patient use" if self.patient_use else NOT_FOR_PATIENT_USE


def _source(catalog: Catalog, kind: LibraryKind, item_id: str) -> dict[str, Any]:
    files = catalog.sources(kind, item_id)
    return {
        "file": files[0].relpath,
        "file_sha256": files[0].sha256,
        "inherits": [{"file": f.relpath, "sha256": f.sha256} for f in files[1:]],
    }


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> Any:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise InputError(f"change {dotted!r}: {key!r} is not a table")
        node = child
    old = node.get(keys[-1])
    node[keys[-1]] = value
    return old


class LibraryService:
    """The recipe and ink library of one database (permissions via ``auth``)."""

    def __init__(self, auth: AuthService, records: RecordsService) -> None:
        self._auth = auth
        self._records = records

    # -- reading ------------------------------------------------------------------------
    def versions(
        self, kind: LibraryKind | None = None, item_id: str | None = None
    ) -> list[LibraryVersion]:
        """Every version (optionally of one kind / item), recipes first.

        The library holds no personal data; reading it needs no login (as ``audit show``).
        """
        kinds: tuple[LibraryKind, ...] = ("recipe", "ink") if kind is None else (kind,)
        with self._auth.uow(write=False) as uow:
            return [v for k in kinds for v in library(uow).versions(k, item_id)]

    def get(self, kind: LibraryKind, item_id: str, version: int) -> LibraryVersion:
        """Return one version.

        Raises
        ------
        RecordError
            No such version.
        """
        with self._auth.uow(write=False) as uow:
            found = library(uow).get(kind, item_id, version)
        if found is None:
            raise RecordError(f"{kind} {item_id} v{version} does not exist in the library")
        return found

    # -- import and edit --------------------------------------------------------------
    def import_catalog(self, session: UserSession, catalog: Catalog) -> list[ImportOutcome]:
        """Import every shipped recipe and ink file (one transaction).

        Raises
        ------
        PermissionDenied
            The role may not edit the library.
        """
        live = self._auth.require(session, Operation.EDIT_LIBRARY)
        outcomes: list[ImportOutcome] = []
        with self._auth.uow() as uow:
            repo = library(uow)
            models: list[tuple[LibraryKind, Recipe | Ink]] = [
                *(("recipe", r) for r in catalog.recipes()),
                *(("ink", i) for i in catalog.inks()),
            ]
            for kind, model in models:
                source = _source(catalog, kind, model.id)
                same = [v for v in repo.versions(kind, model.id) if v.content["source"] == source]
                if same:
                    v = same[-1]
                    outcomes.append(
                        ImportOutcome(
                            kind, v.item_id, v.version, "unchanged", v.status,
                            source["file"], source["file_sha256"],
                        )
                    )  # fmt: skip
                    continue
                outcomes.append(self._import_one(uow, live, kind, model, source))
        return outcomes

    def _import_one(
        self,
        uow: UnitOfWork,
        live: UserSession,
        kind: LibraryKind,
        model: Recipe | Ink,
        source: dict[str, Any],
    ) -> ImportOutcome:
        repo = library(uow)
        first = not repo.versions(kind, model.id)
        extra: dict[str, Any] = {}
        if isinstance(model, Ink):
            extra = {
                "drug_load_mg_per_g": model.drug_load.value,
                "density_g_per_ml": model.density.value,
                "api": model.api,
            }
        repo.ensure_item(kind, model.id, model.name, uow.now(), **extra)
        data = model_content(model)
        content = {
            "kind": kind,
            "id": model.id,
            "model": data,
            "model_sha256": _model_sha256(data),
            "source": source,
            "based_on": None,
        }
        v = repo.add_version(kind, model.id, content, live.user_id, uow.now())
        action = "created" if first else "new-draft"
        uow.audit.append(
            AuditEntry(
                kind,
                "import",
                v.record_id,
                live.user_id,
                live.full_name,
                new={"version": v.version, "status": v.status, **source,
                     "content_sha256": v.content_sha256, "outcome": action},
            )
        )  # fmt: skip
        return ImportOutcome(
            kind, v.item_id, v.version, action, v.status, source["file"], source["file_sha256"]
        )

    def edit(
        self,
        session: UserSession,
        kind: LibraryKind,
        item_id: str,
        base_version: int,
        changes: Mapping[str, Any],
        reason: str,
    ) -> LibraryVersion:
        """Create a new draft version from ``base_version`` with ``changes`` applied.

        ``changes`` maps dotted keys of the model to new values, e.g.
        ``{"process.print_speed": {"value": Decimal("7"), "unit": "mm/s"}}``.

        Raises
        ------
        PermissionDenied
            The role may not edit the library.
        InputError
            No reason, no changes, the id changed, or the result breaks the schema.
        RecordError
            No such base version.
        """
        live = self._auth.require(session, Operation.EDIT_LIBRARY)
        if not reason or not reason.strip():
            raise InputError(f"a reason is required to edit {kind} {item_id}")
        if not changes:
            raise InputError(f"edit of {kind} {item_id}: no changes given")
        base = self.get(kind, item_id, base_version)
        data = json.loads(json.dumps(base.content["model"]))
        old = {
            key: _set_path(data, key, json.loads(canonical_json(v))) for key, v in changes.items()
        }
        if data.get("id") != item_id:
            raise InputError(f"edit of {kind} {item_id}: the id cannot change")
        new_data = model_content(model_from_content(kind, data))
        content = {
            "kind": kind,
            "id": item_id,
            "model": new_data,
            "model_sha256": _model_sha256(new_data),
            "source": None,
            "based_on": base_version,
        }
        with self._auth.uow() as uow:
            v = library(uow).add_version(kind, item_id, content, live.user_id, uow.now())
            uow.audit.append(
                AuditEntry(
                    kind,
                    "modify",
                    v.record_id,
                    live.user_id,
                    live.full_name,
                    field=", ".join(sorted(changes)),
                    reason=reason,
                    old={"version": base_version, "values": old},
                    new={"version": v.version, "values": dict(changes),
                         "content_sha256": v.content_sha256},
                )
            )  # fmt: skip
        return v

    # -- validate, lock, retire ---------------------------------------------------------
    def validate(
        self,
        session: UserSession,
        kind: LibraryKind,
        item_id: str,
        version: int,
        user_id: str,
        password: str,
        comment: str | None = None,
    ) -> SignatureRecord:
        """Validate a draft version with a supervisor's e-signature (meaning ``approved``).

        Raises
        ------
        PermissionDenied
            The role may not validate, or the signer edited this version.
        RecordError
            No such version, or it is not a draft.
        SignatureError, AuthenticationFailed, AccountLocked, SessionExpired
            As for :meth:`RecordsService.sign`.
        """
        return self._signed_move(
            session, kind, item_id, version, "validated", user_id, password, comment
        )

    def lock(
        self,
        session: UserSession,
        kind: LibraryKind,
        item_id: str,
        version: int,
        user_id: str,
        password: str,
        comment: str | None = None,
    ) -> SignatureRecord:
        """Lock a validated version with a supervisor's e-signature; retire the previous lock.

        Raises
        ------
        PermissionDenied, RecordError, SignatureError, AuthenticationFailed
            As for :meth:`validate` (the version must be ``validated``).
        """
        return self._signed_move(
            session, kind, item_id, version, "locked", user_id, password, comment
        )

    def _signed_move(
        self,
        session: UserSession,
        kind: LibraryKind,
        item_id: str,
        version: int,
        target: str,
        user_id: str,
        password: str,
        comment: str | None,
    ) -> SignatureRecord:
        operation = Operation.VALIDATE_LIBRARY if target == "validated" else Operation.LOCK_LIBRARY
        live = self._auth.require(session, operation)
        action = "validate" if target == "validated" else "lock"
        v = self.get(kind, item_id, version)
        needed = "draft" if target == "validated" else "validated"
        if v.status != needed:
            raise RecordError(f"{kind} {v.label} is {v.status}; only a {needed} version "
                              f"can be {target}")  # fmt: skip
        if not v.intact():
            raise RecordError(f"{kind} {v.label}: stored content does not match its hash")
        author = v.created_by if v.content.get("source") is None else None
        record = SignableRecord(
            f"{kind}_version",
            v.record_id,
            v.version,
            {"content_sha256": v.content_sha256, "step": target},
            author,
        )

        def move(uow: UnitOfWork) -> None:
            repo = library(uow)
            if target == "locked":
                for old in repo.versions(kind, item_id, status="locked"):
                    repo.set_status(kind, item_id, old.version, "retired")
                    uow.audit.append(
                        AuditEntry(kind, "retire", old.record_id, live.user_id, live.full_name,
                                   reason=f"superseded by v{version}",
                                   old={"status": "locked"}, new={"status": "retired"})
                    )  # fmt: skip
            repo.set_status(kind, item_id, version, target)
            uow.audit.append(
                AuditEntry(
                    kind, action, v.record_id, live.user_id, live.full_name, reason=comment,
                    old={"status": v.status},
                    new={"status": target, "content_sha256": v.content_sha256},
                )
            )  # fmt: skip

        text = f"{'validation' if action == 'validate' else 'lock'} of {kind} {v.label}"
        full = f"{text}: {comment}" if comment else text
        return self._records.sign(session, record, Meaning.APPROVED, user_id, password, full, move)

    def retire(
        self, session: UserSession, kind: LibraryKind, item_id: str, version: int, reason: str
    ) -> LibraryVersion:
        """Retire a version (it stays readable; it can no longer be used or locked).

        Raises
        ------
        PermissionDenied
            The role may not lock library versions.
        InputError
            No reason.
        RecordError
            No such version, or it is retired already.
        """
        live = self._auth.require(session, Operation.LOCK_LIBRARY)
        if not reason or not reason.strip():
            raise InputError(f"a reason is required to retire {kind} {item_id} v{version}")
        with self._auth.uow() as uow:
            before = library(uow).get(kind, item_id, version)
            v = library(uow).set_status(kind, item_id, version, "retired")
            uow.audit.append(
                AuditEntry(kind, "retire", v.record_id, live.user_id, live.full_name,
                           reason=reason, old={"status": before.status if before else None},
                           new={"status": "retired"})
            )  # fmt: skip
        return v

    # -- enforcement --------------------------------------------------------------------
    def locked_version(self, kind: LibraryKind, model: Recipe | Ink) -> LibraryVersion | None:
        """The locked version whose content equals ``model`` (as it is about to be used)."""
        wanted = _model_sha256(model_content(model))
        with self._auth.uow(write=False) as uow:
            locked = library(uow).versions(kind, model.id, status="locked")
        matches = [v for v in locked if v.intact() and v.content["model_sha256"] == wanted]
        return matches[-1] if matches else None

    def lock_policy(self) -> Callable[[Recipe, str], LockStatus]:
        """A run lock policy (``RunOptions.lock_policy``): the recipe must be a locked version."""

        def policy(recipe: Recipe, file_sha256: str) -> LockStatus:
            found = self.locked_version("recipe", recipe)
            if found is None:
                return LockStatus(
                    False,
                    "not in the library",
                    f"recipe {recipe.id} (file sha256:{file_sha256[:12]}…) is not a locked "
                    "library version; import it and have it validated and locked",
                )
            return LockStatus(
                True,
                f"library:{found.label}",
                f"locked library version {found.label}, content sha256:{found.content_sha256}",
            )

        return policy

    def authorise_batch(
        self,
        session: UserSession,
        recipe: Recipe,
        ink: Ink,
        dose_mg: Decimal,
        overrides: Mapping[str, Any] | None = None,
    ) -> BatchAuthorisation:
        """Decide whether a batch may be made now, and whether it will be for patient use.

        Raises
        ------
        DesignSpaceError
            Locked mode and any condition fails (no locked recipe/ink version
            equal to what would be printed, dose outside the validated range or
            off its step, process overrides); the message names each limit.
        PermissionDenied
            The role may not run prints.
        """
        self._auth.require(session, Operation.RUN_PRINT)
        with self._auth.uow(write=False) as uow:
            mode = uow.mode()
        recipe_v = self.locked_version("recipe", recipe)
        ink_v = self.locked_version("ink", ink)
        problems = []
        if recipe_v is None:
            problems.append(f"recipe {recipe.id} as given is not a locked library version")
        if ink_v is None:
            problems.append(f"ink {ink.id} as given is not a locked library version")
        problems += _dose_problems(recipe, dose_mg)
        if overrides:
            problems.append(
                f"process parameters are read-only in locked mode (overrides: "
                f"{', '.join(sorted(overrides))})"
            )
        if mode == "locked" and problems:
            raise DesignSpaceError("locked mode refuses this batch: " + "; ".join(problems))
        return BatchAuthorisation(
            mode,
            not problems,
            None if recipe_v is None else recipe_v.label,
            None if ink_v is None else ink_v.label,
            dose_mg,
            tuple(problems),
        )

    def record_authorisation(
        self, session: UserSession, batch_id: str, authorisation: BatchAuthorisation
    ) -> None:
        """Write the authorisation into the batch's audit trail (read by the batch record)."""
        live = self._auth.require(session, Operation.RUN_PRINT)
        with self._auth.uow() as uow:
            uow.audit.append(
                AuditEntry("batch", "authorise", batch_id, live.user_id, live.full_name,
                           new=authorisation, batch_id=batch_id)
            )  # fmt: skip


def _dose_problems(recipe: Recipe, dose_mg: Decimal) -> list[str]:
    if recipe.dose is None:
        return [f"recipe {recipe.id} is a calibration recipe, not a medicine"]
    span, step = recipe.dose.range, recipe.dose.step.value
    if not span.min <= dose_mg <= span.max:
        return [f"dose {dose_mg} mg is outside the validated range {span.min}–{span.max} mg"]
    if dose_mg % step != 0:
        return [f"dose {dose_mg} mg is not on the validated step of {step} mg"]
    return []
