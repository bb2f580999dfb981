"""End-of-run QC: the tests the recipe names, on the weighed unit masses.

* ``2.9.5`` — Ph. Eur. uniformity of mass; needs 20 units "taken at random": with
  more, 20 are chosen from a recorded seed (:func:`printpharm.core.sampling.select_units`,
  re-derivable) and the record says which.
* ``2.9.40-mv`` — acceptance value by mass variation; only where Table
  2.9.40.-1 allows it (≥ 25 mg and ≥ 25 % drug per unit), on 10 or 30 units.
  A is the recorded lot's bulk assay; with the ink file's nominal assay (a
  training run) the result is labelled an estimate (pharmacopoeia.md §2.2).
* ``2.9.40-cu-estimate`` — contents estimated from masses × drug load; an
  estimate, never 2.9.40 compliance.
* ``local`` — the pharmacy's own check of each unit and the mean against the
  target (recipe tolerances). Always run: it is the in-run mass check, so it is
  added (``named_by_recipe=False``) when the recipe does not name it.

A test that cannot apply says why and does not decide the verdict; the batch
passes only if at least one test applied and none failed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

from printpharm.core.sampling import select_units
from printpharm.core.uniformity import (
    Policy,
    acceptance_value,
    acceptance_value_mass_variation,
    applicable_uniformity_test,
    local_mass_check,
    uniformity_of_mass,
)
from printpharm.services.run.result import QcReport, QcTestOutcome, UnitRecord

__all__ = ["PENDING_CU", "QcInputs", "evaluate_qc", "with_content_uniformity"]

_N_295 = 20
_AV_COUNTS = (30, 10)


class QcInputs:
    """What the QC needs besides the masses.

    Parameters
    ----------
    tests : sequence of str
        The recipe's ``qc.tests``.
    form : {"tablet", "capsule"}
        Dosage form for the 2.9.5 band table and the 2.9.40 applicability.
    dose_mg : Decimal
        Label claim per unit in mg.
    drug_load_mg_per_g : Decimal
        Drug in the weighed unit (mg per g), for the 25 % rule and estimates.
    assay_pct : Decimal
        A, in % of label claim: the recorded lot's bulk assay, or the ink file's nominal one.
    unit_tolerance_pct, mean_tolerance_pct : Decimal
        The recipe's local tolerances in % of target.
    assay_is_measured : bool
        Whether ``assay_pct`` is an assay of the lot (not the file's nominal value).
    selection_seed : str, optional
        Seed of the random choice of the 2.9.5 units (drawn with :mod:`secrets` if None).
    """

    def __init__(
        self,
        tests: Sequence[str],
        form: Literal["tablet", "capsule"],
        dose_mg: Decimal,
        drug_load_mg_per_g: Decimal,
        assay_pct: Decimal,
        unit_tolerance_pct: Decimal,
        mean_tolerance_pct: Decimal,
        mass_policy: Policy = "strict",
        *,
        assay_is_measured: bool = False,
        selection_seed: str | None = None,
    ) -> None:
        self.tests = tuple(tests)
        self.form = form
        self.dose_mg = dose_mg
        self.drug_load_mg_per_g = drug_load_mg_per_g
        self.assay_pct = assay_pct
        self.unit_tolerance_pct = unit_tolerance_pct
        self.mean_tolerance_pct = mean_tolerance_pct
        self.mass_policy = mass_policy
        self.assay_is_measured = assay_is_measured
        self.selection_seed = selection_seed


def _na(test: str, label: str, reason: str, named: bool = True) -> QcTestOutcome:
    return QcTestOutcome(test, label, False, "NOT_APPLICABLE", reason, named_by_recipe=named)


def _test_295(inputs: QcInputs, units: Sequence[UnitRecord]) -> QcTestOutcome:
    label = "Ph. Eur. 2.9.5 uniformity of mass"
    if len(units) < _N_295:
        return _na("2.9.5", label, f"needs exactly {_N_295} units; {len(units)} were weighed")
    seed = None
    judged = list(units)
    if len(units) > _N_295:
        seed = inputs.selection_seed or secrets.token_hex(16)
        chosen = set(select_units((u.n for u in units), _N_295, seed))
        judged = [u for u in units if u.n in chosen]
    masses = [u.measured_mg for u in judged if u.measured_mg is not None]
    result = uniformity_of_mass(masses, form=inputs.form, policy=inputs.mass_policy)
    reason = result.reason
    if seed is not None:
        reason += (
            f" ({_N_295} of {len(units)} units taken at random, seed {seed}: units "
            f"{', '.join(str(u.n) for u in judged)})"
        )
    return QcTestOutcome(
        "2.9.5",
        label,
        True,
        "PASS" if result.result == "PASS" else "FAIL",
        reason,
        detail={
            "average_mass_mg": result.average_mass_mg,
            "limit_pct": result.limit_pct,
            "n_outside_limit": result.n_outside_limit,
            "n_outside_twice_limit": result.n_outside_twice_limit,
            "units_judged": [u.n for u in judged],
            "selection_seed": seed,
            "selection": "all units" if seed is None else "sha256(seed:unit), lowest 20",
            "policy": result.policy,
        },
    )


def _av_sample(units: Sequence[UnitRecord]) -> Sequence[UnitRecord] | None:
    for count in _AV_COUNTS:
        if len(units) >= count:
            return units[:count]
    return None


def _av_outcome(
    test: str, result_final: str, label: str, reason: str, detail: dict[str, object]
) -> QcTestOutcome:
    verdict: Literal["PASS", "FAIL"] = "PASS" if result_final.startswith("PASS") else "FAIL"
    return QcTestOutcome(test, label, True, verdict, reason, is_estimate=True, detail=detail)


def _test_mv(inputs: QcInputs, units: Sequence[UnitRecord]) -> QcTestOutcome:
    label = "Ph. Eur. 2.9.40 mass variation"
    fraction = inputs.drug_load_mg_per_g / 1000
    applicability = applicable_uniformity_test(inputs.dose_mg, fraction, inputs.form)
    if not applicability.mass_variation_allowed:
        return _na("2.9.40-mv", label, applicability.reason)
    sample = _av_sample(units)
    if sample is None:
        return _na("2.9.40-mv", label, f"needs 10 or 30 units; {len(units)} were weighed")
    masses = [u.measured_mg for u in sample if u.measured_mg is not None]
    result = acceptance_value_mass_variation(
        masses,
        inputs.assay_pct,
        unit_content_mg=inputs.dose_mg,
        drug_fraction=fraction,
        assay_is_measured=inputs.assay_is_measured,
    )
    detail: dict[str, object] = {
        "n": len(sample),
        "av_stage1": result.stage1.av_reported_1dp,
        "final": result.final,
        "assay_pct": inputs.assay_pct,
        "assay_is_measured": inputs.assay_is_measured,
    }
    outcome = _av_outcome("2.9.40-mv", result.final, result.label, result.reason, detail)
    if inputs.assay_is_measured and not result.is_estimate:
        outcome = QcTestOutcome(
            outcome.test, outcome.label, True, outcome.result, outcome.reason, False,
            detail=outcome.detail,
        )  # fmt: skip
    return outcome


def _test_cu_estimate(inputs: QcInputs, units: Sequence[UnitRecord]) -> QcTestOutcome:
    label = "2.9.40 content uniformity (estimate from masses)"
    sample = _av_sample(units)
    if sample is None:
        return _na("2.9.40-cu-estimate", label, f"needs 10 or 30 units; {len(units)} weighed")
    contents = [
        u.measured_mg * inputs.drug_load_mg_per_g / 1000 * inputs.assay_pct / inputs.dose_mg
        for u in sample
        if u.measured_mg is not None
    ]
    result = acceptance_value(contents)
    reason = f"{result.reason} (estimate, not 2.9.40 compliance: contents from mass × drug load)"
    detail: dict[str, object] = {"n": len(sample), "av_stage1": result.stage1.av_reported_1dp}
    return _av_outcome("2.9.40-cu-estimate", result.final, label, reason, detail)


def _test_local(inputs: QcInputs, units: Sequence[UnitRecord], named: bool) -> QcTestOutcome:
    masses = [u.measured_mg for u in units if u.measured_mg is not None]
    result = local_mass_check(
        masses,
        [u.target_mg for u in units],
        inputs.unit_tolerance_pct,
        inputs.mean_tolerance_pct,
    )
    return QcTestOutcome(
        "local",
        result.label,
        True,
        "PASS" if result.result == "PASS" else "FAIL",
        result.reason,
        named_by_recipe=named,
        detail={
            "mean_mass_mg": result.mean_mass_mg,
            "mean_target_mg": result.mean_target_mg,
            "mean_deviation_pct": result.mean_deviation_pct,
            "n_units_outside": result.n_units_outside,
        },
    )


def evaluate_qc(inputs: QcInputs, units: Sequence[UnitRecord]) -> QcReport:
    """Run the recipe's QC tests on the weighed units of a completed run.

    Parameters
    ----------
    inputs : QcInputs
        Tests, form, dose, drug load, assay and tolerances.
    units : sequence of UnitRecord
        Every unit of the run, in print order; all must have been weighed.

    Returns
    -------
    QcReport
        ``pass`` iff at least one test applied and none failed; tests that
        could not apply are listed with the reason.

    Raises
    ------
    UniformityInputError
        Not expected: units without a mass give ``not_evaluated``, masses <= 0 ``fail``.
    """
    missing = [u.n for u in units if u.measured_mg is None]
    if missing or not units:
        return QcReport("not_evaluated", f"units without a weight: {missing or 'no units'}")
    empty = [u.n for u in units if u.measured_mg is not None and u.measured_mg <= 0]
    if empty:
        return QcReport("fail", f"unit(s) {empty} weighed 0 mg or less: the batch cannot pass")
    runners = {
        "2.9.5": _test_295,
        "2.9.40-mv": _test_mv,
        "2.9.40-cu-estimate": _test_cu_estimate,
    }
    outcomes = [runners[t](inputs, units) for t in inputs.tests if t in runners]
    outcomes.append(_test_local(inputs, units, named="local" in inputs.tests))
    applied = [o for o in outcomes if o.applied]
    failed = [o.test for o in applied if o.result == "FAIL"]
    skipped = [o.test for o in outcomes if not o.applied]
    note = f"; not applicable: {', '.join(skipped)}" if skipped else ""
    if failed:
        return QcReport("fail", f"failed: {', '.join(failed)}{note}", tuple(outcomes))
    passed = ", ".join(o.test for o in applied)
    return QcReport("pass", f"passed: {passed}{note}", tuple(outcomes))


# -- content uniformity entered after the run ------------------------------------------------
#: The batch's QC verdict while the content-uniformity results it needs are not complete.
PENDING_CU = "pending_content_uniformity"


def with_content_uniformity(qc: Mapping[str, Any], cu: Mapping[str, Any]) -> dict[str, Any]:
    """The run's QC (as recorded) completed by the batch's content-uniformity verdict.

    ``cu`` is the ``2.9.40-cu`` outcome as plain values: ``result`` ``PASS``, ``FAIL``
    or ``PENDING`` (results missing, or stage 2 needed), ``reason``, ``detail``.
    Any earlier ``2.9.40-cu`` line is replaced. The verdict: ``fail`` when the run's
    QC failed or CU failed; :data:`PENDING_CU` while CU is pending; otherwise ``pass``
    (a pending verdict of the run's QC — results it was waiting for — becomes CU's).
    """
    tests = [dict(t) for t in qc.get("tests", []) if t.get("test") != "2.9.40-cu"]
    line = {
        "test": "2.9.40-cu",
        "label": "Ph. Eur. 2.9.40 content uniformity (assayed units)",
        "applied": cu["result"] != "PENDING",
        "result": cu["result"],
        "reason": cu["reason"],
        "is_estimate": False,
        "named_by_recipe": False,
        "detail": dict(cu.get("detail", {})),
    }
    tests.append(line)
    run_verdict = str(qc.get("verdict", "not_evaluated"))
    if run_verdict in ("fail", "not_evaluated"):
        verdict = run_verdict
    elif cu["result"] == "FAIL":
        verdict = "fail"
    elif cu["result"] == "PENDING":
        verdict = PENDING_CU
    else:
        verdict = "pass"
    reason = f"{qc.get('reason', '')}; {cu['reason']}"
    return {**qc, "verdict": verdict, "reason": reason.lstrip("; "), "tests": tests}
