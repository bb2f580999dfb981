"""The batch record as a PDF for people (reportlab): what a pharmacist and an inspector read.

Sections: status box (status, patient use, signing statement, audit chain),
prescription and dose calculation, recipe/ink/devices, preflight, units with raw
masses and verdicts, alarms and corrections, every alarm's acknowledgement (who,
when, why), QC with the pharmacopoeia tests,
signatures (printed name, date and time with zone, meaning), changes after
original entry and the audit excerpt. Every page carries the batch id, page
number and the export's who/when.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, SimpleDocTemplate, Spacer, Table

from printpharm import __version__
from printpharm.core.bsa import BSA_FORMULA_LABELS
from printpharm.core.units import format_decimal
from printpharm.services.records._alarms_pdf import acknowledgements_section
from printpharm.services.records._batch_csv import assay_text, calibration_text
from printpharm.services.records._controls_pdf import controls_section
from printpharm.services.records._pdf_parts import (
    _FONT,
    _GREEN,
    _RED,
    _esc,
    _fonts,
    _heading,
    _p,
    _pairs,
    _table,
    _time,
)
from printpharm.services.records.flow_prior_text import noise_prior_text
from printpharm.services.records.record_view import BatchRecordView
from printpharm.services.run.pressure import pressure_text
from printpharm.services.run.result import NOT_FOR_PATIENT_USE
from printpharm.storage.batches import UnitReading

__all__ = ["render_pdf"]


def _status_box(v: BatchRecordView) -> Table:
    b = v.batch
    use_color = _GREEN if v.patient_use else _RED
    use = "For patient use" if v.patient_use else NOT_FOR_PATIENT_USE
    signed_color = _RED if v.changed_after_signing else colors.black
    chain = (
        f"intact ({v.chain.events} events verified at export)"
        if v.chain.ok
        else f"BROKEN at event {v.chain.first_broken.seq if v.chain.first_broken else '?'}"
    )
    rows = [
        ("Status", _p(f"{b.status.upper()} — {b.status_reason or ''}", 9, True)),
        ("Patient use", _p(f"{use} — {v.patient_use_reason}", 9, True, use_color)),
        ("Mode", "research mode" if b.research_mode else "locked mode (validated recipes only)"),
        ("Signatures", "; ".join(s.text for s in v.signatures) or "none yet"),
        ("After signing", _p(v.signing_statement, 8, v.changed_after_signing, signed_color)),
        ("Audit trail", _p(chain, 8, not v.chain.ok, colors.black if v.chain.ok else _RED)),
        ("Chain head", _p(_head(v), 7.5)),
    ]
    return _pairs(rows)


def _head(v: BatchRecordView) -> str:
    """The chain head this record was made at and the site key fingerprint (issue 13)."""
    return v.head.line() if v.head is not None else "not recorded"


def _prescription(v: BatchRecordView) -> list[Any]:
    d = v.batch.details
    dose = d.get("dose") or {}
    recipe = d.get("recipe") or {}
    amount = f"{dose.get('amount', '')} {dose.get('amount_unit', '')}".strip()
    rows = [
        ("Patient (pseudonym)", dose.get("patient_id")),
        ("Prescriber", dose.get("prescriber")),
        ("Drug", recipe.get("api")),
        ("Dose rule", f"{dose.get('rule', '—')}: {amount}" if amount else dose.get("rule")),
        ("Height / weight",
         f"{dose.get('height_cm') or '—'} cm / {dose.get('weight_kg') or '—'} kg"),
        ("BSA", _bsa_text(dose)),
        ("Cap / rounding step",
         f"{dose.get('cap_mg') or '—'} mg / {dose.get('dose_step_mg') or '—'} mg"),
        ("Dose per unit", _p(f"{v.batch.target_dose_mg} mg", 9, True)),
        ("Units planned", v.batch.units_count),
    ]  # fmt: skip
    out: list[Any] = [_heading("1. Prescription and dose calculation"), _pairs(rows)]
    if v.dose_override is not None:
        out.append(_p(v.dose_override.describe(), 9, True, _RED))
    steps = dose.get("explanation") or []
    if steps:
        out.append(_p("Calculation: " + "; ".join(str(s) for s in steps), 7.5))
    for w in dose.get("warnings") or []:
        out.append(_p(f"Warning: {w}", 7.5, True, _RED))
    return out


def _recipe_devices(v: BatchRecordView) -> list[Any]:
    d = v.batch.details
    r = d.get("recipe") or {}
    ink = r.get("ink") or {}
    tol = r.get("tolerances") or {}
    printer, balance = d.get("printer") or {}, d.get("balance") or {}
    rows = [
        ("Recipe", f"{r.get('name', '—')} [{r.get('id', '—')}]"),
        ("Recipe version", r.get("version")),
        ("Recipe file SHA-256", _p(r.get("sha256"), 7)),
        ("Validation status", r.get("validation_status")),
        ("Tolerances", f"unit mass ±{tol.get('unit_mass_pct', '—')} %, mean mass "
                       f"±{tol.get('mean_mass_pct', '—')} %, flow correction "
                       f"{_span(tol.get('flow_correction_pct'))} %; alarm policy "
                       f"{r.get('alarm_policy', '—')}"),
        ("Flow control", noise_prior_text(r)),
        ("Ink", f"{ink.get('id', '—')}: {ink.get('drug_load_mg_per_g', '—')} mg/g, "
                f"density {ink.get('density_g_per_cm3', '—')} g/cm³"),
        ("Ink lot", _p(_lot_text(v), 8, True)),
        ("Lot assay", assay_text(v.lot.get("assay")) or "—"),
        ("Calibration", calibration_text(v.calibration, v.ink_dries)),
        ("Calibration check", (v.calibration_check or {}).get("text") or "—"),
        ("Printer", f"{printer.get('firmware', '—')} {printer.get('machine_type', '')} "
                    f"UUID {printer.get('uuid') or '—'} on {printer.get('port', '—')}"),
        ("Balance", f"{balance.get('model', '—')} serial {balance.get('serial_number', '—')} "
                    f"on {balance.get('port', '—')}"),
        ("Started", f"{d.get('started_at', '—')} by {v.batch.created_by}"),
    ]  # fmt: skip
    out: list[Any] = [_heading("2. Recipe, ink and devices"), _pairs(rows)]
    checks = d.get("preflight") or []
    if checks:
        rows2 = [("Preflight check", "Result", "Detail")] + [
            (c.get("name"), "pass" if c.get("passed") else "FAIL", c.get("detail")) for c in checks
        ]
        out += [Spacer(1, 2 * mm), _table(rows2, (32, 12, 136))]
    return out


def _lot_text(v: BatchRecordView) -> str:
    lot = v.lot
    ink = (v.batch.details.get("recipe") or {}).get("ink") or {}
    if not lot:
        return f"lot {ink.get('lot', '—')}, expires {ink.get('expiry', '—')}"
    left = ""
    if lot.get("quantity_remaining") is not None:
        left = f"; {lot['quantity_remaining']} {lot.get('quantity_unit')} left before this batch"
    return (
        f"{lot.get('label')}: status at printing {lot.get('status_at_printing')}, beyond-use "
        f"date {lot.get('beyond_use_date')}{left}"
    )


def _material(u: UnitReading) -> Decimal | None:
    """Flow factor (M221, %) × the E factor of the unit's G-code: material vs the plan, %."""
    if u.flow_correction is None:
        return None
    return (u.flow_correction * (u.e_scale or 1)).quantize(Decimal("0.01"))


def _units(v: BatchRecordView) -> list[Any]:
    days = sorted({u.reading.reading_at.date() for u in v.units if u.reading.reading_at})
    day = f", {days[0]}" if len(days) == 1 else ""
    rows: list[Sequence[Any]] = [
        ("#", "Target mass mg", "Measured mass mg", "Dev. %", "Verdict",
         f"Content mg (dose {v.batch.target_dose_mg})", "Material %", "Stable",
         f"Weighed (UTC{day})", "Raw balance line; extrusion pressure"),
    ]  # fmt: skip
    for line in v.units:
        u = line.reading
        verdict = _p(line.verdict.upper(), 7.5, line.verdict != "pass",
                     _RED if line.verdict != "pass" else colors.black)  # fmt: skip
        stable = "—" if u.reading_stable is None else ("yes" if u.reading_stable else "NO")
        at = u.reading_at.strftime("%H:%M:%S") if u.reading_at else "—"
        content = line.content_mg
        if content is not None and line.content_uncertainty_mg is not None:
            content = f"{content} ± {line.content_uncertainty_mg}"
        pressure = pressure_text(u.pressure)
        raw = u.raw_line if pressure is None else f"{u.raw_line or '—'}; pressure {pressure}"
        rows.append((u.unit_index, u.target_mass_mg, u.raw_reading, line.deviation_pct,
                     verdict, content, _material(u), stable, at, _p(raw, 6.5)))  # fmt: skip
    masses = [u.reading.raw_reading for u in v.units if u.reading.raw_reading is not None]
    ink = ((v.batch.details.get("recipe") or {}).get("ink") or {}).get("drug_load_mg_per_g")
    summary = (
        f"Masses are of the whole printed unit (drug-loaded ink, {ink or '?'} mg/g; "
        f"{v.batch.target_dose_mg} mg drug per unit). "
        f"{len(masses)} of {v.batch.units_count} planned units weighed"
    )
    assay = assay_text(v.lot.get("assay"))
    if assay:
        summary = f"{summary}. Content = measured mass × the lot's assay {assay}"
    if masses:
        mean = (sum(masses, Decimal(0)) / len(masses)).quantize(Decimal("0.001"))
        summary += f"; mean {mean} mg, min {min(masses)} mg, max {max(masses)} mg"
    fails = sum(1 for u in v.units if u.verdict != "pass")
    summary += f"; {fails} unit(s) not passing"
    widths = (7, 16, 17, 12, 14, 26, 14, 11, 17, 46)
    return [_heading("3. Units (raw balance readings)"), _p(summary, 8, True), _table(rows, widths)]


def _bsa_text(dose: dict[str, Any]) -> str:
    """``0.7619 m² (Mosteller)``, and the BSA the dose used when it was rounded first.

    With ``--bsa-round-dp 2`` the dose is 20 mg/m² × 0.76 m², not × 0.7619: the row
    must not show only the figure the dose was not computed from.
    """
    formula = dose.get("formula")
    named = BSA_FORMULA_LABELS.get(formula, formula) if isinstance(formula, str) else "—"
    text = f"{dose.get('bsa_m2') or dose.get('bsa_used_m2') or '—'} m² ({named})"
    used, places = dose.get("bsa_used_m2"), dose.get("bsa_round_dp")
    if used is not None and places is not None:
        text += f", rounded to {places} dp before dosing: {format_decimal(Decimal(str(used)))} m²"
    return text


def _alarms(v: BatchRecordView) -> list[Any]:
    out: list[Any] = [_heading("4. Alarms and flow corrections")]
    rows: list[Sequence[Any]]
    if not v.alarms and not v.corrections:
        return [*out, _p("No alarms were raised and the flow was never corrected.")]
    if v.alarms:
        rows = [("Time (UTC)", "Kind", "Unit", "Action", "Decision", "Message")]
        rows += [
            (_time(a.get("at")), str(a.get("kind", "")).replace("_", " "), a.get("unit"),
             a.get("action"), a.get("decision"), a.get("message"))
            for a in v.alarms
        ]  # fmt: skip
        out.append(_table(rows, (30, 28, 9, 14, 16, 83)))
    if v.corrections:
        rows = [
            (
                "For unit",
                "Measured / target mg",
                "Material %",
                "Requested %",
                "Bounds %",
                "Clamped",
                "Why",
            )
        ]
        rows += [
            (c.get("for_unit"), f"{c.get('measured_mg')} / {c.get('target_mg')}",
             f"{c.get('previous_pct')} -> {c.get('applied_pct')}", c.get("requested_pct"),
             _span(c.get("bounds_pct")), "yes" if c.get("clamped") else "no",
             _p(c.get("reason") or c.get("command"), 6.5))
            for c in v.corrections
        ]  # fmt: skip
        out += [Spacer(1, 2 * mm), _table(rows, (14, 32, 26, 18, 20, 17, 53))]
    return out


def _qc(v: BatchRecordView) -> list[Any]:
    r = v.batch.details.get("recipe") or {}
    qc = v.qc
    policy = (
        f"Pharmacopoeia policy of the recipe: tests {', '.join(r.get('qc_tests') or []) or '—'} "
        f"(Ph. Eur. 2.9.5 uniformity of mass, 2.9.40 uniformity of dosage units), "
        f"{r.get('qc_units_count', '—')} units."
    )
    verdict = str(qc.get("verdict", "not evaluated")).upper().replace("_", " ")
    color = {"PASS": _GREEN, "LOCAL SPEC ONLY": colors.black}.get(verdict, _RED)
    out: list[Any] = [
        _heading("5. Quality control"),
        _p(policy),
        _p(f"QC verdict: {verdict} — {qc.get('reason', 'the run has not finished')}", 9, True,
           color),
    ]  # fmt: skip
    tests = qc.get("tests") or []
    if tests:
        rows = [("Test", "Applied", "Result", "Why")] + [
            (f"{t.get('test')} {t.get('label', '')}", "yes" if t.get("applied") else "no",
             str(t.get("result", "")).replace("_", " ").replace("NOT APPLICABLE", "n/a"),
             t.get("reason"))
            for t in tests
        ]  # fmt: skip
        out.append(_table(rows, (48, 14, 24, 94)))
    return out + _content_uniformity(v)


def _content_uniformity(v: BatchRecordView) -> list[Any]:
    if v.cu is None:
        return []
    out: list[Any] = [Spacer(1, 2 * mm), _p(v.cu.text(), 8.5, True)]
    for sample in v.cu.samples:
        out.append(_p(
            f"Stage {sample.stage}: units {', '.join(map(str, sample.units))} chosen at random "
            f"by printpharm for {sample.selected_by} at {sample.selected_at:%Y-%m-%d %H:%M} UTC "
            f"(seed {sample.seed}; rank by SHA-256 of seed:unit)", 7.5))  # fmt: skip
    if v.cu.results:
        rows: list[Sequence[Any]] = [("Unit", "% of label claim", "mg", "Method", "Analyst",
                                      "Entered by (UTC)")]  # fmt: skip
        for r in v.cu.results:
            when = f"{r.entered_by} {r.entered_at:%Y-%m-%d %H:%M}"
            rows.append((r.unit_index, r.content_pct, r.content_mg, r.method, r.analyst, when))
        out.append(_table(rows, (12, 26, 18, 58, 30, 36)))
    return out


def _signatures(v: BatchRecordView) -> list[Any]:
    out: list[Any] = [_heading("6. Electronic signatures"), _p(v.signing_statement, 8, True)]
    if v.signatures:
        rows: list[Sequence[Any]] = [
            ("Meaning", "Printed name (user ID)", "Date and time (zone)", "Comment", "Check")
        ]
        for s in v.signatures:
            sig = s.signature
            local = s.text.split(" on ", 1)[-1]
            check = _p("matches the record" if s.valid else f"INVALID: {s.problem}", 7.5,
                       not s.valid, colors.black if s.valid else _RED)  # fmt: skip
            rows.append((sig.meaning.capitalize(), f"{sig.signer_name} ({sig.signer_user_id})",
                         f"{local} (UTC {sig.signed_at})", sig.comment, check))  # fmt: skip
        out.append(_table(rows, (20, 36, 48, 44, 32)))
    return out


def _changes(v: BatchRecordView) -> list[Any]:
    out: list[Any] = [_heading("7. Changes after original entry (Annex 11 §8.2)")]
    if v.unaudited_units:
        units = ", ".join(str(n) for n in v.unaudited_units)
        out.append(_p(f"UNIT(S) {units} HAVE NO AUDIT EVENT: stored outside printpharm's "
                      "audited path; treat the record as altered.", 8, True, _RED))  # fmt: skip
    if v.changed_after_signing:
        out.append(_p("The signatures in section 6 show that the record changed after signing.",
                      8, True, _RED))  # fmt: skip
    if not v.changes:
        if v.unaudited_units or v.changed_after_signing:
            return [*out, _p("No modification event was recorded for these changes.")]
        return [*out, _p("No recorded data were changed after their original entry.")]
    rows = [("Event", "Time (UTC)", "By", "Action", "Reason", "Old -> new")] + [
        (e.seq, e.occurred_at, e.user_id or "system", e.action, e.reason,
         f"{e.old_value or '—'} -> {e.new_value or '—'}")
        for e in v.changes
    ]  # fmt: skip
    return [*out, _table(rows, (11, 30, 18, 14, 50, 57))]


def _span(value: Any) -> str:
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = (str(x) for x in value)
        return f"{low} to {high if high.startswith('-') else '+' + high}"
    return _esc(value)


def _record(event: Any, batch_id: str) -> str:
    rid = event.record_id or ""
    if rid == batch_id:
        rid = ""
    elif rid.startswith(batch_id + "/"):
        rid = "#" + rid[len(batch_id) + 1 :]
    return f"{event.record_type} {rid}".strip()


def _short(event_value: str | None, limit: int = 110) -> str:
    if not event_value:
        return ""
    try:
        value = json.loads(event_value)
    except ValueError:
        return event_value[:limit]
    if isinstance(value, dict):
        keep = ("status", "verdict", "measured_mg", "message", "meaning", "format", "reason")
        value = {k: value[k] for k in keep if k in value} or value
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _audit(v: BatchRecordView) -> list[Any]:
    rows = [("Seq", "Time (UTC)", "User", "Action", "Record", "Detail / reason")] + [
        (e.seq, e.occurred_at.replace("T", " ").rstrip("Z"), e.user_id or "system",
         e.action + ("" if e.mode == "locked" else f" [{e.mode}]"), _record(e, v.batch.batch_id),
         (f"reason: {e.reason}; " if e.reason else "") + _short(e.new_value))
        for e in v.events
    ]  # fmt: skip
    return [
        _heading("8. Audit trail of this batch"),
        _p(f"{len(v.events)} events; the whole chain was verified at export: "
           f"{'intact' if v.chain.ok else 'BROKEN'}. This record was {_head(v)}."),
        _table(rows, (10, 31, 16, 18, 40, 65), size=6.5),
    ]  # fmt: skip


def render_pdf(view: BatchRecordView) -> bytes:
    """Render the batch record as PDF bytes (A4)."""
    _fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm, topMargin=18 * mm,
        bottomMargin=16 * mm, title=f"Batch record {view.batch.batch_id}",
        author="printpharm", subject="batch record", invariant=1,
    )  # fmt: skip
    footer = (
        f"printpharm {__version__} · exported {view.exported_at} by {view.exported_by} · "
        f"batch record version {view.batch.version}"
    )

    def decorate(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(_FONT, 7.5)
        width, height = A4
        canvas.drawString(14 * mm, height - 11 * mm, f"Batch record {view.batch.batch_id}")
        canvas.drawRightString(width - 14 * mm, height - 11 * mm, f"page {document.page}")
        canvas.drawString(14 * mm, 9 * mm, _esc(footer).replace("&amp;", "&"))
        canvas.restoreState()

    gap = Spacer(1, 3 * mm)
    story: list[Any] = [
        _p("Batch record", 15, True),
        _p(view.batch.batch_id, 11, True),
        gap,
        _status_box(view),
    ]
    parts = (_prescription, _recipe_devices, controls_section, _units, _alarms,
             acknowledgements_section, _qc, _signatures, _changes)  # fmt: skip
    for part in parts:
        items = part(view)
        if not items:
            continue
        story += [gap, KeepTogether(items[:2]), *items[2:]]
    story += [gap, *_audit(view)]
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
