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

A test that cannot apply says why and does not decide the verdict. The batch
fails if an applied test failed. It is ``pass`` only if a pharmacopoeial test
that decides compliance applied and passed, and only for a unit whose content
mass variation may stand for (Table 2.9.40.-1, :func:`cu_requirement`): 2.9.5 on
20 units, or 2.9.40 by mass variation with the released lot's measured assay.
Otherwise the verdict names what is missing: ``pending_content_uniformity``
(below 25 mg or 25 % drug the units' contents must be assayed, Ph. Eur. 2.9.40
content uniformity, whatever 2.9.5 says of their masses; the results entered
after the run decide, :func:`with_content_uniformity`) or ``pending_assay``
(mass variation needs the lot's measured assay A, or 2.9.5 20 units). Where the
site allows release on the pharmacy's local specification (site setting
``qc.release_on_local_spec``) and the local check passed, the verdict is
``local_spec_only`` and says so.
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
from printpharm.services.run.result import QcReport, QcTestOutcome, QcVerdict, UnitRecord

__all__ = [
    "PENDING_CU",
    "QcInputs",
    "cu_requirement",
    "evaluate_qc",
    "with_content_uniformity",
]

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
    mass_policy : {"strict", "gn_rounding"}
        The 2.9.5 reading in force.
    assay_is_measured : bool
        Whether ``assay_pct`` is an assay of the lot (not the file's nominal value).
    selection_seed : str, optional
        Seed of the random choice of the 2.9.5 units (drawn with :mod:`secrets` if None).
    local_spec_release : bool
        Whether the site allows release on the local specification alone.
    finished_load_mg_per_g : Decimal, optional
        Drug in the finished (dried, where the ink dries) unit, mg per g: what Table
        2.9.40.-1's 25 % rule judges (:func:`cu_requirement`). Defaults to
        ``drug_load_mg_per_g``.
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
        local_spec_release: bool = False,
        finished_load_mg_per_g: Decimal | None = None,
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
        self.local_spec_release = local_spec_release
        self.finished_load_mg_per_g = (
            drug_load_mg_per_g if finished_load_mg_per_g is None else finished_load_mg_per_g
        )


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
    needed, why = cu_requirement(inputs.dose_mg, inputs.finished_load_mg_per_g, inputs.form)
    if needed:
        return _na("2.9.40-mv", label, why)
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
        ``fail`` if an applied test failed; ``pass`` iff a pharmacopoeial test that
        decides for this unit applied and passed; otherwise what is missing (see the
        module docstring).
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
    ran = f"passed: {passed}{note}"
    needed, why = cu_requirement(inputs.dose_mg, inputs.finished_load_mg_per_g, inputs.form)
    if not needed and any(o.test in _DECIDING and not o.is_estimate for o in applied):
        return QcReport("pass", ran, tuple(outcomes))
    return _undecided(inputs, outcomes, ran, needed, why)


#: Tests whose pass is pharmacopoeial compliance (not an estimate, not a local check) for a
#: unit whose content mass variation may stand for (Table 2.9.40.-1).
_DECIDING = frozenset({"2.9.5", "2.9.40-mv"})


def cu_requirement(
    dose_mg: Decimal,
    finished_load_mg_per_g: Decimal | None,
    form: Literal["tablet", "capsule", "other"],
) -> tuple[bool, str]:
    """Whether a unit needs Ph. Eur. 2.9.40 content uniformity (assayed units), and why.

    The one rule for the run's verdict and the release gate: content uniformity
    unless mass variation may replace it (Table 2.9.40.-1: >= 25 mg and >= 25 % w/w
    of the finished unit, uncoated tablet or hard capsule). Without a drug load
    (``None`` or 0) mass variation cannot be shown to apply.
    """
    if finished_load_mg_per_g is None or finished_load_mg_per_g <= 0:
        return True, "the ink's drug load is not stated, so mass variation cannot apply"
    applies = applicable_uniformity_test(dose_mg, finished_load_mg_per_g / 1000, form)
    return (not applies.mass_variation_allowed), applies.reason


def _undecided(
    inputs: QcInputs, outcomes: Sequence[QcTestOutcome], ran: str, cu_needed: bool, why: str
) -> QcReport:
    """Nothing failed, but no pharmacopoeial test decided: name what is missing."""
    if cu_needed:
        missing: QcVerdict = PENDING_CU
        mass_only = any(o.test == "2.9.5" and o.result == "PASS" for o in outcomes)
        needed = (
            f"Ph. Eur. 2.9.40 content uniformity: assay 10 units individually ({why}); "
            + ("2.9.5 shows the uniformity of mass, not of content" if mass_only
               else "2.9.5 would need 20 weighed units and shows the uniformity of mass only")
        )  # fmt: skip
    else:
        missing = "pending_assay"
        needed = (
            "Ph. Eur. 2.9.40 by mass variation needs a batch assay A (the released lot's "
            "measured assay; the ink's nominal assay only gives an estimate) on 10 weighed "
            "units, or 2.9.5 needs 20 units"
        )
    reason = f"no pharmacopoeial uniformity test decided ({ran}); {needed}"
    local = next((o for o in outcomes if o.test == "local"), None)
    if inputs.local_spec_release and local is not None and local.result == "PASS":
        return QcReport(
            "local_spec_only",
            f"released on the pharmacy's local specification only (site setting "
            f"qc.release_on_local_spec): {reason}",
            tuple(outcomes),
        )
    return QcReport(missing, f"not a pass: {reason}", tuple(outcomes))


# -- content uniformity entered after the run ------------------------------------------------
#: The batch's QC verdict while the content-uniformity results it needs are not complete.
PENDING_CU: QcVerdict = "pending_content_uniformity"


def with_content_uniformity(qc: Mapping[str, Any], cu: Mapping[str, Any]) -> dict[str, Any]:
    """The run's QC (as recorded) completed by the batch's content-uniformity verdict.

    ``cu`` is the ``2.9.40-cu`` outcome as plain values: ``result`` ``PASS``, ``FAIL``
    or ``PENDING`` (results missing, or stage 2 needed), ``reason``, ``detail``.
    Any earlier ``2.9.40-cu`` line is replaced. The verdict: the run's ``fail`` or
    ``not_evaluated`` stands; otherwise CU decides: ``fail`` or ``pass`` once its
    results are complete (2.9.40 content uniformity is compliance). While they are
    not, the run's ``local_spec_only`` stands (the site allowed release on the local
    specification when the run ended) and any other verdict is :data:`PENDING_CU`.
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
    elif cu["result"] == "PASS":
        verdict = "pass"
    elif run_verdict == "local_spec_only":
        verdict = run_verdict
    else:
        verdict = PENDING_CU
    reason = f"{qc.get('reason', '')}; {cu['reason']}"
    return {**qc, "verdict": verdict, "reason": reason.lstrip("; "), "tests": tests}
