"""End-of-run QC: the tests the recipe names, on the weighed unit masses.

* ``2.9.5`` — Ph. Eur. uniformity of mass; needs exactly 20 units (with more,
  the first 20 printed are judged and the others are named in the reason).
* ``2.9.40-mv`` — acceptance value by mass variation; only where Table
  2.9.40.-1 allows it (≥ 25 mg and ≥ 25 % drug per unit), on 10 or 30 units.
  The ink's nominal assay stands in for A, so the result is labelled an
  estimate (pharmacopoeia.md §2.2).
* ``2.9.40-cu-estimate`` — contents estimated from masses × drug load; an
  estimate, never 2.9.40 compliance.
* ``local`` — the pharmacy's own check of each unit and the mean against the
  target (recipe tolerances). Always run: it is the in-run mass check, so it is
  added (``named_by_recipe=False``) when the recipe does not name it.

A test that cannot apply says why and does not decide the verdict. The batch
fails if an applied test failed. It is ``pass`` only if a pharmacopoeial test
that decides compliance applied and passed (2.9.5 on 20 units; the 2.9.40 mass
variation here uses the ink's nominal assay and the content uniformity is
estimated from masses, so neither decides alone). Otherwise the verdict names
what is missing: ``pending_content_uniformity`` (the units' contents must be
assayed: 2.9.40 content uniformity, because mass variation is not allowed below
25 mg or 25 % drug) or ``pending_assay`` (2.9.40 by mass variation needs a
batch assay A). Where the site allows release on the pharmacy's local
specification (site setting ``qc.release_on_local_spec``) and the local check
passed, the verdict is ``local_spec_only`` and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from printpharm.core.uniformity import (
    Policy,
    acceptance_value,
    acceptance_value_mass_variation,
    applicable_uniformity_test,
    local_mass_check,
    uniformity_of_mass,
)
from printpharm.services.run_result import QcReport, QcTestOutcome, QcVerdict, UnitRecord

__all__ = ["QcInputs", "evaluate_qc"]

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
        The ink's assay in % of label claim (nominal, not a batch assay).
    unit_tolerance_pct, mean_tolerance_pct : Decimal
        The recipe's local tolerances in % of target.
    mass_policy : {"strict", "gn_rounding"}
        The 2.9.5 reading in force.
    local_spec_release : bool
        Whether the site allows release on the local specification alone.
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
        local_spec_release: bool = False,
    ) -> None:
        self.tests = tuple(tests)
        self.form = form
        self.dose_mg = dose_mg
        self.drug_load_mg_per_g = drug_load_mg_per_g
        self.assay_pct = assay_pct
        self.unit_tolerance_pct = unit_tolerance_pct
        self.mean_tolerance_pct = mean_tolerance_pct
        self.mass_policy = mass_policy
        self.local_spec_release = local_spec_release


def _na(test: str, label: str, reason: str, named: bool = True) -> QcTestOutcome:
    return QcTestOutcome(test, label, False, "NOT_APPLICABLE", reason, named_by_recipe=named)


def _test_295(inputs: QcInputs, units: Sequence[UnitRecord]) -> QcTestOutcome:
    label = "Ph. Eur. 2.9.5 uniformity of mass"
    if len(units) < _N_295:
        return _na("2.9.5", label, f"needs exactly {_N_295} units; {len(units)} were weighed")
    judged = units[:_N_295]
    masses = [u.measured_mg for u in judged if u.measured_mg is not None]
    result = uniformity_of_mass(masses, form=inputs.form, policy=inputs.mass_policy)
    reason = result.reason
    if len(units) > _N_295:
        reason += f" (units 1-{_N_295} judged; {_N_295 + 1}-{len(units)} not in the test)"
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
        assay_is_measured=False,
    )
    detail: dict[str, object] = {
        "n": len(sample),
        "av_stage1": result.stage1.av_reported_1dp,
        "final": result.final,
    }
    return _av_outcome("2.9.40-mv", result.final, result.label, result.reason, detail)


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
        ``fail`` if an applied test failed; ``pass`` iff a pharmacopoeial test
        applied and passed; otherwise what is missing (see the module docstring).
        Tests that could not apply are listed with the reason.

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
    if any(o.test in _DECIDING and not o.is_estimate for o in applied):
        return QcReport("pass", f"passed: {passed}{note}", tuple(outcomes))
    return _undecided(inputs, outcomes, f"passed: {passed}{note}")


#: Tests whose pass is pharmacopoeial compliance (not an estimate, not a local check).
_DECIDING = frozenset({"2.9.5", "2.9.40-mv"})


def _undecided(inputs: QcInputs, outcomes: Sequence[QcTestOutcome], ran: str) -> QcReport:
    """Nothing failed, but no pharmacopoeial test decided: name what is missing."""
    fraction = inputs.drug_load_mg_per_g / 1000
    applicability = applicable_uniformity_test(inputs.dose_mg, fraction, inputs.form)
    if applicability.mass_variation_allowed:
        missing: QcVerdict = "pending_assay"
        needed = (
            "Ph. Eur. 2.9.40 by mass variation needs a batch assay A on 10 weighed units (the "
            "ink's nominal assay only gives an estimate), or 2.9.5 needs 20 units"
        )
    else:
        missing = "pending_content_uniformity"
        needed = (
            f"Ph. Eur. 2.9.40 content uniformity: assay 10 units individually "
            f"({applicability.reason}); 2.9.5 would need 20 weighed units"
        )
    why = f"no pharmacopoeial uniformity test decided ({ran}); {needed}"
    local = next((o for o in outcomes if o.test == "local"), None)
    if inputs.local_spec_release and local is not None and local.result == "PASS":
        return QcReport(
            "local_spec_only",
            f"released on the pharmacy's local specification only (site setting "
            f"qc.release_on_local_spec): {why}",
            tuple(outcomes),
        )
    return QcReport(missing, f"not a pass: {why}", tuple(outcomes))
