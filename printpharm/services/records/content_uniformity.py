"""Content uniformity of a batch (Ph. Eur. 2.9.40): units chosen at random, assays, verdict.

Where mass variation may not replace it (a unit below 25 mg or 25 % w/w of drug,
pharmacopoeia.md §0), a batch needs the individual assays of 10 units (and, if
the acceptance value of those is above 15.0, of 20 more) before it may be
released. printpharm chooses the units, from an unpredictable seed it records
(:func:`printpharm.core.sampling.select_units` re-derives them), and audits the
choice before any result can be entered; results for other units are refused.
Each result is tied to its unit number, the analytical method, the analyst and
who entered it; the acceptance value and verdict come from the pharmacopoeial
engine (:func:`printpharm.core.uniformity.acceptance_value`).
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from printpharm.core.sampling import select_units
from printpharm.core.uniformity import AcceptanceValueResult, acceptance_value
from printpharm.errors import InputError, RecordError, UniformityInputError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.run.qc import cu_requirement as run_cu_requirement
from printpharm.services.run.qc import with_content_uniformity
from printpharm.storage.audit import AuditEntry
from printpharm.storage.batches import BatchRow
from printpharm.storage.content_uniformity import CuResult, CuSample

__all__ = [
    "STAGE_SIZES",
    "CuEntry",
    "CuService",
    "CuStatus",
    "batch_qc",
    "cu_requirement",
    "cu_requirement_of",
    "cu_status",
    "parse_cu_csv",
]

#: Units chosen at each stage: 10, then 20 more.
STAGE_SIZES = {1: 10, 2: 20}
CuState = Literal["NOT_NEEDED", "SELECT", "PENDING", "STAGE2_REQUIRED", "PASS", "FAIL"]


@dataclass(frozen=True)
class CuEntry:
    """One assay result as entered: the unit, its content and whether it is mg or %."""

    unit: int
    value: Decimal
    basis: Literal["pct", "mg"]


@dataclass(frozen=True)
class CuStatus:
    """Where a batch stands with content uniformity, and the verdict once complete."""

    needed: bool
    why: str
    state: CuState
    samples: tuple[CuSample, ...]
    results: tuple[CuResult, ...]
    missing: tuple[int, ...] = ()
    av: AcceptanceValueResult | None = None

    @property
    def passed(self) -> bool:
        """Whether CU is not needed or passed."""
        return self.state in ("NOT_NEEDED", "PASS")

    def text(self) -> str:
        """One line for people."""
        if self.state == "NOT_NEEDED":
            return f"content uniformity not needed: {self.why}"
        if self.state == "SELECT":
            return (
                "content uniformity needed: choose the units to assay (printpharm qc cu --select)"
            )
        if self.state == "PENDING":
            listing = ", ".join(str(n) for n in self.missing)
            return f"content uniformity: results missing for unit(s) {listing}"
        assert self.av is not None
        return f"content uniformity {self.state}: {self.av.reason}"

    def outcome(self) -> dict[str, Any]:
        """The ``2.9.40-cu`` QC line (see ``services.run.qc.with_content_uniformity``)."""
        result = {"PASS": "PASS", "FAIL": "FAIL"}.get(self.state, "PENDING")
        detail: dict[str, Any] = {
            "state": self.state,
            "units": [r.unit_index for r in self.results],
        }
        if self.av is not None:
            stage = self.av.stage2 or self.av.stage1
            detail.update(
                n=stage.n,
                av=stage.av_reported_1dp,
                mean_pct=stage.mean,
                s_pct=stage.s,
                final=self.av.final,
            )
        return {"result": result, "reason": self.text(), "detail": detail}


def cu_requirement(row: BatchRow) -> tuple[bool, str]:
    """Whether the batch needs content uniformity, and why (Table 2.9.40.-1).

    A record that does not state its ink's drug load cannot show that mass
    variation applies, so it needs content uniformity.
    """
    return cu_requirement_of(row.target_dose_mg, row.details.get("recipe"))


def cu_requirement_of(dose_mg: Decimal, recipe: Any) -> tuple[bool, str]:
    """:func:`cu_requirement` from the dose per unit and the run's recipe record.

    The rule is the run's (:func:`printpharm.services.run.qc.cu_requirement`), applied
    to the drug load of the finished unit the record states (dried where the ink dries).
    """
    ink = recipe.get("ink") if isinstance(recipe, dict) else None
    load = None
    if isinstance(ink, dict):
        load = ink.get("dried_drug_load_mg_per_g") or ink.get("drug_load_mg_per_g")
    named = recipe.get("form") if isinstance(recipe, dict) else None
    form: Literal["tablet", "capsule", "other"] = (
        "capsule" if named == "capsule" else "tablet" if named in (None, "tablet") else "other"
    )
    return run_cu_requirement(dose_mg, None if load is None else Decimal(str(load)), form)


def batch_qc(run_qc: Mapping[str, Any], status: CuStatus | None) -> dict[str, Any]:
    """The batch's QC as its record states it, and as release judges it.

    The run's QC (its ``finish`` event), completed by the content uniformity where it
    is needed or was begun (:func:`printpharm.services.run.qc.with_content_uniformity`).
    """
    qc = dict(run_qc)
    if status is None or status.state == "NOT_NEEDED" or not qc:
        return qc
    return with_content_uniformity(qc, status.outcome())


def _pct(results: Sequence[CuResult], units: Sequence[int]) -> list[Decimal]:
    by_unit = {r.unit_index: r.content_pct for r in results}
    return [by_unit[n] for n in units]


def cu_status(row: BatchRow) -> CuStatus:
    """The batch's content-uniformity status from its record (samples, results)."""
    needed, why = cu_requirement(row)
    samples, results = row.cu_samples, row.cu_results
    if not needed and not samples:
        return CuStatus(False, why, "NOT_NEEDED", samples, results)
    if not samples:
        return CuStatus(needed, why, "SELECT", samples, results)
    done = {r.unit_index for r in results}
    stage1 = samples[0].units
    missing = tuple(n for n in stage1 if n not in done)
    if missing:
        return CuStatus(needed, why, "PENDING", samples, results, missing)
    av = acceptance_value(_pct(results, stage1))
    if av.final == "STAGE2_REQUIRED" and len(samples) > 1:
        stage2 = samples[1].units
        missing = tuple(n for n in stage2 if n not in done)
        if missing:
            return CuStatus(needed, why, "PENDING", samples, results, missing, av)
        av = acceptance_value(_pct(results, (*stage1, *stage2)))
    state: CuState = {"PASS_STAGE1": "PASS", "PASS_STAGE2": "PASS", "FAIL": "FAIL"}.get(
        av.final, "STAGE2_REQUIRED"
    )  # type: ignore[assignment]
    return CuStatus(needed, why, state, samples, results, (), av)


def parse_cu_csv(text: str, source: str = "results") -> list[CuEntry]:
    """Read ``unit,content_pct`` or ``unit,content_mg`` rows (a header is required).

    Raises
    ------
    UniformityInputError
        No header naming ``unit`` and ``content_pct`` or ``content_mg``, a unit that is
        not a whole number, a content that is not a number >= 0, or a unit given twice.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows = [r for r in reader if r and any(c.strip() for c in r) and not r[0].startswith("#")]
    if not rows:
        raise UniformityInputError(f"{source}: no rows")
    header = [c.strip().lower() for c in rows[0]]
    column = next((c for c in ("content_pct", "content_mg") if c in header), None)
    if "unit" not in header or column is None:
        raise UniformityInputError(
            f"{source}: the first row must name the columns: unit and content_pct (or content_mg)"
        )
    basis: Literal["pct", "mg"] = "pct" if column == "content_pct" else "mg"
    out: list[CuEntry] = []
    for number, row in enumerate(rows[1:], start=2):
        cells = dict(zip(header, (c.strip() for c in row), strict=False))
        unit_text, value_text = cells.get("unit", ""), cells.get(column, "")
        if not unit_text.isdigit():
            raise UniformityInputError(
                f"{source} row {number}: unit {unit_text!r} is not a unit number"
            )
        try:
            value = Decimal(value_text)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite() or value < 0:
            raise UniformityInputError(
                f"{source} row {number}: {column} {value_text!r} is not a number >= 0"
            )
        out.append(CuEntry(int(unit_text), value, basis))
    units = [e.unit for e in out]
    twice = sorted({n for n in units if units.count(n) > 1})
    if twice:
        raise UniformityInputError(f"{source}: unit(s) {twice} are given more than once")
    return out


class CuService:
    """Chooses the units to assay, takes their results and reports the verdict."""

    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    def status(self, session: UserSession, batch_id: str) -> CuStatus:
        """The batch's content-uniformity status.

        Raises
        ------
        PermissionDenied
            The role may not view records.
        RecordError
            No such batch.
        """
        self._auth.require(session, Operation.VIEW_RECORDS)
        with self._auth.uow(write=False) as uow:
            return cu_status(uow.batches.require(batch_id))

    def select(self, session: UserSession, batch_id: str) -> CuSample:
        """Choose at random the units of the next stage (10, then 20 more), record and audit them.

        Raises
        ------
        PermissionDenied
            The role may not evaluate QC.
        InputError
            The batch does not need content uniformity, has too few weighed units, the
            stage-1 results are not all in, or stage 2 is not required.
        RecordError
            No such batch, or it is not ``completed``.
        """
        live = self._auth.require(session, Operation.EVALUATE_QC)
        with self._auth.uow() as uow:
            row = uow.batches.require(batch_id)
            if row.status != "completed":
                raise RecordError(
                    f"batch {batch_id} is {row.status}: only a completed batch is assayed"
                )
            status = cu_status(row)
            stage = _next_stage(status, batch_id)
            chosen = {n for s in status.samples for n in s.units}
            pool = [
                u.unit_index
                for u in row.units
                if u.raw_reading is not None and u.unit_index not in chosen
            ]
            size = STAGE_SIZES[stage]
            if len(pool) < size:
                raise InputError(
                    f"batch {batch_id}: stage {stage} assays {size} units, but only {len(pool)} "
                    f"weighed unit(s) are left to choose from"
                )
            seed = secrets.token_hex(16)
            sample = CuSample(stage, select_units(pool, size, seed), seed, live.user_id, uow.now())
            uow.cu.add_sample(batch_id, sample)
            uow.audit.append(
                AuditEntry(
                    "content_uniformity",
                    "select",
                    batch_id,
                    live.user_id,
                    live.full_name,
                    new={
                        "stage": stage,
                        "units": list(sample.units),
                        "seed": seed,
                        "from_units": pool,
                        "rule": "sha256(seed:unit), lowest",
                    },
                    batch_id=batch_id,
                )
            )
        return sample

    def enter(
        self,
        session: UserSession,
        batch_id: str,
        entries: Sequence[CuEntry],
        method: str,
        analyst: str | None = None,
        source: str | None = None,
    ) -> CuStatus:
        """Store assay results of chosen units; return the status (verdict once complete).

        Raises
        ------
        PermissionDenied
            The role may not evaluate QC.
        InputError
            No method, no results, or results for units that were not chosen (refused
            whole and audited).
        RecordError
            No such batch, it is final, or a unit has a result already.
        """
        live = self._auth.require(session, Operation.EVALUATE_QC)
        if not method or not method.strip():
            raise InputError("content uniformity results need their analytical method")
        if not entries:
            raise InputError(f"batch {batch_id}: no results given")
        with self._auth.uow() as uow:
            row = uow.batches.require(batch_id)
            chosen = {n for s in row.cu_samples for n in s.units}
            others = sorted(e.unit for e in entries if e.unit not in chosen)
        if others:
            self._refuse(live, batch_id, others, sorted(chosen), source)
        with self._auth.uow() as uow:
            now = uow.now()
            stamped = [
                _result(e, row.target_dose_mg, method.strip(), analyst, live.user_id, now)
                for e in entries
            ]
            uow.cu.add_results(batch_id, stamped)
            status = cu_status(uow.batches.require(batch_id))
            uow.audit.append(
                AuditEntry(
                    "content_uniformity",
                    "results",
                    batch_id,
                    live.user_id,
                    live.full_name,
                    new={
                        "method": method.strip(),
                        "analyst": analyst,
                        "source": source,
                        "results": [
                            {
                                "unit": r.unit_index,
                                "content_pct": r.content_pct,
                                "content_mg": r.content_mg,
                            }
                            for r in stamped
                        ],
                        "state": status.state,
                        "verdict": status.text(),
                    },
                    batch_id=batch_id,
                )
            )
        return status

    def _refuse(
        self,
        live: UserSession,
        batch_id: str,
        others: list[int],
        chosen: list[int],
        source: str | None,
    ) -> None:
        with self._auth.uow() as uow:
            uow.audit.append(
                AuditEntry(
                    "content_uniformity",
                    "results-refused",
                    batch_id,
                    live.user_id,
                    live.full_name,
                    reason="results for units that were not chosen",
                    new={"units": others, "chosen": chosen, "source": source},
                    batch_id=batch_id,
                )
            )
        if not chosen:
            raise InputError(
                f"batch {batch_id}: no units were chosen for assay yet; printpharm chooses them "
                "(printpharm qc cu BATCH --select) before results are entered"
            )
        raise InputError(
            f"batch {batch_id}: unit(s) {others} were not chosen for assay (chosen: {chosen}); "
            "results for other units are refused"
        )


def _next_stage(status: CuStatus, batch_id: str) -> int:
    if not status.needed and not status.samples:
        raise InputError(f"batch {batch_id} does not need content uniformity: {status.why}")
    if not status.samples:
        return 1
    if status.state == "STAGE2_REQUIRED" and len(status.samples) == 1:
        return 2
    if status.state == "PENDING":
        raise InputError(
            f"batch {batch_id}: enter the results of the units chosen first ({status.text()})"
        )
    raise InputError(f"batch {batch_id}: no further units are needed ({status.text()})")


def _result(
    entry: CuEntry, dose_mg: Decimal, method: str, analyst: str | None, user: str, at: datetime
) -> CuResult:
    if entry.basis == "mg":  # % of label claim to 4 decimals (stored alike on every back-end)
        pct = (entry.value * 100 / dose_mg).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        return CuResult(entry.unit, pct, method, user, at, entry.value, analyst)
    return CuResult(entry.unit, entry.value, method, user, at, None, analyst)
