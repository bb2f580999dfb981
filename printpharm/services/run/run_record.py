"""The record part of a print run: what is written about the batch — its header, QC and result.

It reads the run's :class:`~printpharm.services.run.parts.RunLedger` (units,
alarms, corrections, preflight checks, printer identity) and the request; it
decides nothing about the run itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from printpharm.services.run.calibration import calibration_check
from printpharm.services.run.noise_prior import NoisePrior
from printpharm.services.run.parts import Clock, RunLedger, run_lot
from printpharm.services.run.qc import QcInputs, evaluate_qc
from printpharm.services.run.request import RunDevices, RunOptions, RunRequest
from printpharm.services.run.result import BatchHeader, BatchResult, QcReport, RunStatus

__all__ = ["RunRecord"]


class RunRecord:
    """Assembles what is recorded about one run from its request and its ledger."""

    def __init__(
        self,
        req: RunRequest,
        devices: RunDevices,
        options: RunOptions,
        ledger: RunLedger,
        clock: Clock,
        noise_prior: NoisePrior | None = None,
    ) -> None:
        self.req, self.devices, self.options, self.ledger, self.clock = (
            req, devices, options, ledger, clock,
        )  # fmt: skip
        #: The flow controller's noise prior and why (recorded with the recipe's limits).
        self.noise_prior = noise_prior

    def header(self) -> BatchHeader:
        """The batch as recorded when it starts."""
        ledger = self.ledger
        return BatchHeader(
            batch_id=ledger.batch_id,
            recipe=self.recipe_record(),
            dose=self.dose_record(),
            printer=dict(ledger.printer_record),
            balance=self.balance_record(),
            preflight=self.check_records(),
            units_planned=len(self.req.program.units),
            started_at=ledger.started_at,
        )

    def recipe_record(self) -> dict[str, Any]:
        """The recipe, ink lot and limits as recorded with the batch."""
        r, ink = self.req.recipe, self.req.ink
        tol = r.tolerances
        lot = run_lot(self.req, self.options)
        need = self.req.ink_need
        lock = self.ledger.lock
        return {
            "id": r.id,
            "name": r.name,
            "version": lock.version if lock else "",
            "sha256": self.req.recipe_sha256,
            "validation_status": r.validation_status,
            "alarm_policy": r.alarm_policy,
            "api": r.api,
            "form": self.dosage_form(),
            "ink": {
                "id": ink.id,
                "lot": lot.lot_number,
                "expiry": lot.beyond_use_date,
                "lot_record": lot.record(),
                "need": None if need is None else need.record(),
                "drug_load_mg_per_g": ink.drug_load.value,
                "dried_drug_load_mg_per_g": (
                    ink.dried_drug_load.value if ink.dried_drug_load is not None else None
                ),
                "density_g_per_cm3": ink.density.value,
            },
            "tolerances": {
                "unit_mass_pct": tol.unit_mass.value,
                "mean_mass_pct": tol.mean_mass.value,
                "flow_correction_pct": [tol.flow_correction.min, tol.flow_correction.max],
            },
            "qc_tests": list(r.qc.tests),
            "qc_units_count": r.qc.units_count,
            "calibration": None if self.req.prediction is None else self.req.prediction.record(),
            "flow_noise_prior": None if self.noise_prior is None else self.noise_prior.record(),
        }

    def dose_record(self) -> dict[str, Any]:
        """Dose per unit (mg) and how it was reached."""
        return {"dose_mg": self.req.dose_mg, **dict(self.req.dose_record)}

    def balance_record(self) -> dict[str, Any]:
        """Balance port and identity."""
        return {"port": self.devices.balance_port, **dict(self.devices.balance_identity)}

    def check_records(self) -> tuple[Mapping[str, Any], ...]:
        """Preflight checks as plain mappings."""
        return tuple(
            {"name": c.name, "passed": c.passed, "detail": c.detail} for c in self.ledger.checks
        )

    def dosage_form(self) -> Literal["tablet", "capsule"]:
        """The form the pharmacopoeia tests judge: a capsule fill, or a tablet."""
        return "capsule" if self.req.recipe.form.template == "capsule_fill" else "tablet"

    def qc(self, status: RunStatus, reason: str) -> QcReport:
        """QC of a completed run, else ``not_evaluated``."""
        if status != "completed":
            return QcReport("not_evaluated", f"run {status}: {reason}")
        r, ink, units = self.req.recipe, self.req.ink, self.ledger.units
        lot = run_lot(self.req, self.options)
        label_claim = ink.drug_load.value  # in-line masses are as dispensed (wet)
        assay = lot.assay.pct_of_label_claim(label_claim) if lot.assay else ink.assay.value
        inputs = QcInputs(
            r.qc.tests,
            self.dosage_form(),
            self.req.dose_mg,
            label_claim,
            assay,
            r.tolerances.unit_mass.value,
            r.tolerances.mean_mass.value,
            self.options.mass_policy,
            assay_is_measured=lot.assay_is_measured,
            selection_seed=self.options.qc_seed,
            local_spec_release=self.options.local_spec_release,
            finished_load_mg_per_g=ink.weighed_drug_load().value,
        )
        report = evaluate_qc(inputs, units)
        notes = []
        if len(units) != r.qc.units_count:
            notes.append(f"QC plan: {r.qc.units_count} units; {len(units)} made")
        if ink.dried_drug_load is not None:
            notes.append("masses weighed wet in line; weigh the dried printlets for release")
        if notes:
            report = QcReport(report.verdict, f"{report.reason} ({'; '.join(notes)})", report.tests)
        return report

    def result(self, status: RunStatus, reason: str) -> BatchResult:
        """Assemble the batch result."""
        ledger = self.ledger
        return BatchResult(
            batch_id=ledger.batch_id,
            status=status,
            reason=reason,
            recipe=self.recipe_record(),
            dose=self.dose_record(),
            printer=dict(ledger.printer_record),
            balance=self.balance_record(),
            preflight=self.check_records(),
            units=tuple(ledger.units),
            alarms=tuple(ledger.alarms),
            corrections=tuple(ledger.corrections),
            qc=self.qc(status, reason),
            units_planned=len(self.req.program.units),
            started_at=ledger.started_at,
            finished_at=self.clock.now(),
            calibration_check=calibration_check(self.req.prediction, status, ledger.units),
        )
