"""The batch record as one CSV (private to :mod:`printpharm.services.records.export`).

Each row starts with its section (``batch``, ``unit``, ``alarm``, ``alarm_ack``,
``correction``, ``qc``, ``cu_sample``, ``cu_result``, ``signature``, ``audit``).
An ``alarm_ack`` row is one stored alarm with its acknowledgement (who, when, why;
``NOT ACKNOWLEDGED`` while nobody has given it). Text that a spreadsheet would
run as a formula (a reason typed as ``=HYPERLINK(...)``) is written with an
apostrophe in front, which the spreadsheet does not show (defusedcsv); numbers
are written as they are.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from defusedcsv import csv

from printpharm.core.calibration import weighting_text
from printpharm.services.records.flow_prior_text import noise_prior_text
from printpharm.services.run.calibration import MASS_BASIS_DISPENSED, predicted_mass_words
from printpharm.services.run.result import NOT_FOR_PATIENT_USE

if TYPE_CHECKING:
    from printpharm.services.records.record_view import BatchRecordView

__all__ = ["CALIBRATION_NOT_RECORDED", "assay_text", "calibration_text", "record_to_csv"]

#: The calibration section of a record written before calibrations were recorded.
CALIBRATION_NOT_RECORDED = (
    "not yet recorded: planning used the ink file's calibration (mass = a·V + b), "
    "not a calibration version fitted and signed on site"
)


def record_to_csv(view: BatchRecordView) -> str:
    """The record as one CSV: each row starts with its section (``batch``, ``unit``, ...)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    b, details = view.batch, view.batch.details
    recipe = details.get("recipe") or {}
    w.writerow(["section", "field", "value"])
    for key, value in (
        ("batch_id", b.batch_id), ("status", b.status), ("status_reason", b.status_reason),
        ("version", b.version), ("target_dose_mg", b.target_dose_mg),
        ("units_planned", b.units_count), ("research_mode", b.research_mode),
        ("patient_use", "yes" if view.patient_use else NOT_FOR_PATIENT_USE),
        ("patient_use_reason", view.patient_use_reason),
        ("dose_override", "" if view.dose_override is None else view.dose_override.describe()),
        ("recipe", recipe.get("id")), ("recipe_version", recipe.get("version")),
        ("recipe_sha256", recipe.get("sha256")),
        ("ink_lot", (recipe.get("ink") or {}).get("lot")),
        ("ink_expiry", (recipe.get("ink") or {}).get("expiry")),
        ("ink_lot_label", view.lot.get("label")),
        ("ink_lot_status_at_printing", view.lot.get("status_at_printing")),
        ("ink_lot_assay", assay_text(view.lot.get("assay"))),
        ("calibration", calibration_text(view.calibration, view.ink_dries)),
        ("calibration_version", view.calibration.get("version")),
        ("calibration_check", (view.calibration_check or {}).get("text")),
        ("flow_noise_prior", noise_prior_text(recipe)),
        ("content_uniformity", None if view.cu is None else view.cu.text()),
        ("created_by", b.created_by), ("created_at", b.created_at.isoformat()),
        ("signing_statement", view.signing_statement),
        ("audit_chain_ok", view.chain.ok),
        ("chain_head_seq", view.head.seq if view.head else None),
        ("chain_head_sha256", view.head.event_hash if view.head else None),
        ("site_key_fingerprint", view.head.key_fingerprint if view.head else None),
        ("exported_at", view.exported_at),
        ("exported_by", view.exported_by),
    ):  # fmt: skip
        w.writerow(["batch", key, "" if value is None else value])
    w.writerow(["unit", "n", "target_mg", "raw_reading", "reading_unit", "stable", "reading_at",
                "flow_pct", "deviation_pct", "verdict", "raw_line", "content_mg",
                "content_uncertainty_mg", "target_dose_mg", "e_scale",
                "correction_reason", "pressure_min_kpa", "pressure_mean_kpa",
                "pressure_max_kpa", "pressure_reports"])  # fmt: skip
    for line in view.units:
        u = line.reading
        w.writerow(["unit", u.unit_index, u.target_mass_mg, u.raw_reading, u.reading_unit,
                    u.reading_stable, u.reading_at.isoformat() if u.reading_at else "",
                    u.flow_correction, line.deviation_pct, line.verdict, u.raw_line,
                    line.content_mg, line.content_uncertainty_mg, b.target_dose_mg,
                    u.e_scale, u.correction_reason, *_pressure_cells(u.pressure)])  # fmt: skip
    for a in view.alarms:
        w.writerow(["alarm", a.get("at"), a.get("kind"), a.get("action"), a.get("decision"),
                    a.get("unit"), a.get("message")])  # fmt: skip
    _alarm_acks(w, view)
    for c in view.corrections:
        w.writerow(["correction", c.get("at"), c.get("for_unit"), c.get("previous_pct"),
                    c.get("applied_pct"), c.get("clamped"), c.get("command"),
                    c.get("estimate_pct"), c.get("estimate_se_pct"), c.get("reason")])  # fmt: skip
    qc = view.qc
    w.writerow(["qc", "verdict", str(qc.get("verdict", "not_evaluated")).upper(), qc.get("reason")])
    for t in qc.get("tests", []):
        w.writerow(["qc", t.get("test"), t.get("label"), t.get("result"), t.get("reason")])
    for sample in b.cu_samples:
        w.writerow(["cu_sample", sample.stage, " ".join(map(str, sample.units)), sample.seed,
                    sample.selected_by, sample.selected_at.isoformat()])  # fmt: skip
    for r in b.cu_results:
        w.writerow(["cu_result", r.unit_index, r.content_pct, r.content_mg, r.method, r.analyst,
                    r.entered_by, r.entered_at.isoformat()])  # fmt: skip
    for s in view.signatures:
        sig = s.signature
        w.writerow(["signature", sig.meaning, sig.signer_name, sig.signer_user_id, sig.signed_at,
                    sig.local_tz, sig.comment, "valid" if s.valid else s.problem])  # fmt: skip
    for e in view.events:
        w.writerow(["audit", e.seq, e.occurred_at, e.local_tz, e.user_id, e.user_name,
                    e.record_type, e.record_id, e.action, e.field, e.reason, e.old_value,
                    e.new_value, e.mode, e.event_hash])  # fmt: skip
    return out.getvalue()


def _pressure_cells(log: dict[str, Any] | None) -> list[Any]:
    """A unit's extrusion pressure: min and mean (steady), max, and its reports (kPa, ``;``)."""
    if not log:
        return ["", "", "", ""]
    reports = ";".join(str(x) for x in log.get("reports_kpa") or ())
    return [log.get("min_kpa"), log.get("mean_kpa"), log.get("max_kpa"), reports]


def _alarm_acks(w: Any, view: BatchRecordView) -> None:
    w.writerow(["alarm_ack", "alarm_id", "raised_at", "kind", "action", "message",
                "acknowledged_by", "acknowledged_name", "acknowledged_at", "local_tz", "reason",
                "state"])  # fmt: skip
    for a in view.alarm_register:
        k = a.ack
        state = "valid" if a.acknowledged else a.ack_text() if k is None else "ALARM CHANGED"
        w.writerow(["alarm_ack", a.alarm_id, a.raised_at.isoformat(), a.kind, a.severity,
                    a.message, k and k.acknowledged_by, k and k.acknowledged_name,
                    k and k.acknowledged_at.isoformat(), k and k.local_tz, k and k.reason,
                    state])  # fmt: skip


def assay_text(assay: Any) -> str | None:
    if not isinstance(assay, dict):
        return None
    unit = "mg/g" if assay.get("basis") == "mg_per_g" else "% of label claim"
    spread = f" ± {assay['uncertainty']}" if assay.get("uncertainty") is not None else ""
    kind = "assayed" if assay.get("measured") else "nominal, not an assay"
    who = f", {assay['analyst']}" if assay.get("analyst") else ""
    return f"{assay.get('value')}{spread} {unit} ({kind}; {assay.get('method')}{who})"


def calibration_text(cal: Any, dries: bool = False) -> str:
    """The calibration a batch was planned with, in one line (older records: not recorded).

    ``dries``: the recorded ink's wet and dried masses differ; the predicted mass is
    then named by the record's ``mass_basis`` (wet as dispensed, or dried printlet).
    """
    if not isinstance(cal, dict) or not cal:
        return CALIBRATION_NOT_RECORDED
    b = Decimal(str(cal.get("b_mg")))
    text = (
        f"{cal.get('label')}; mass = {cal.get('a_mg_per_mm3')} mg/mm³ · V "
        f"{'−' if b < 0 else '+'} {abs(b)} mg for {cal.get('v_min_mm3')}–{cal.get('v_max_mm3')} mm³"
    )
    if cal.get("r2") is not None:
        text += (
            f"; n = {cal.get('n')}, R² {cal.get('r2')}, residual SD {cal.get('residual_sd_mg')} mg"
        )
        if cal.get("residual_sd_rel") is not None:
            rel = Decimal(str(cal["residual_sd_rel"])) * 100
            text += f" (relative residual SD {rel:.3f} %)"
        # records from before weighting existed were fitted by ordinary least squares
        text += f"; fit: {weighting_text(str(cal.get('weighting') or 'unweighted'))}"
    if cal.get("predicted_mass_mg") is not None:
        basis = cal.get("mass_basis")
        fitted = basis == MASS_BASIS_DISPENSED if basis else cal.get("source") == "site"
        words = predicted_mass_words(fitted, dries)
        text += f"; {words} {Decimal(str(cal['predicted_mass_mg'])):.2f} mg"
        interval = cal.get("prediction_interval_mg")
        text += (
            " (no prediction interval)"
            if not interval
            else f" (95 % PI {Decimal(str(interval[0])):.2f}–{Decimal(str(interval[1])):.2f} mg)"
        )
    return text
