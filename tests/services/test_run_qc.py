"""End-of-run QC on unit records: which tests apply, why not, and the batch verdict."""

from __future__ import annotations

from decimal import Decimal as D

from printpharm.core.sampling import select_units
from printpharm.services.run.qc import QcInputs, evaluate_qc
from printpharm.services.run.result import UnitRecord


def units(masses: list[str], target: str = "200") -> list[UnitRecord]:
    return [
        UnitRecord(n, D(target), D(m), D(0), "pass", D("7.5"), D(100))
        for n, m in enumerate(masses, start=1)
    ]


def inputs(tests: tuple[str, ...], dose: str = "10", load: str = "50") -> QcInputs:
    return QcInputs(tests, "tablet", D(dose), D(load), D(100), D("7.5"), D(5))


def test_2_9_5_needs_twenty_units_and_says_so() -> None:
    report = evaluate_qc(inputs(("2.9.5",)), units(["200"] * 19))
    (test_295, local) = report.tests
    assert test_295.result == "NOT_APPLICABLE" and "19 were weighed" in test_295.reason
    assert local.result == "PASS" and not local.named_by_recipe
    # issue 10, finding 5: the local check alone is not a pass
    assert (
        report.verdict == "pending_content_uniformity" and "not applicable: 2.9.5" in report.reason
    )


def test_2_9_5_takes_twenty_of_more_at_random_from_a_recorded_seed() -> None:
    """Ph. Eur. 2.9.5 weighs 20 units taken at random, not the first 20 printed."""
    masses = [str(200 + n % 3) for n in range(25)]
    seeded = QcInputs(("2.9.5",), "tablet", D(10), D(50), D(100), D("7.5"), D(5),
                      selection_seed="a1b2c3")  # fmt: skip
    test_295 = evaluate_qc(seeded, units(masses)).tests[0]
    judged = test_295.detail["units_judged"]
    assert judged == list(select_units(range(1, 26), 20, "a1b2c3"))  # re-derivable
    assert len(judged) == 20 and judged != list(range(1, 21))
    assert test_295.detail["selection_seed"] == "a1b2c3"
    assert "20 of 25 units taken at random, seed a1b2c3" in test_295.reason
    drawn = evaluate_qc(inputs(("2.9.5",)), units(masses)).tests[0]  # no seed given: drawn
    seed = drawn.detail["selection_seed"]
    assert len(seed) == 32 and drawn.detail["units_judged"] == list(
        select_units(range(1, 26), 20, seed)
    )


def test_twenty_units_are_all_judged_without_a_draw() -> None:
    test_295 = evaluate_qc(inputs(("2.9.5",)), units(["200"] * 20)).tests[0]
    assert test_295.detail["units_judged"] == list(range(1, 21))
    assert test_295.detail["selection_seed"] is None and "random" not in test_295.reason


def test_2_9_5_failure_fails_the_batch() -> None:
    masses = ["200"] * 17 + ["170", "170", "170"]  # three units beyond 7.5 % of the average
    report = evaluate_qc(inputs(("2.9.5", "local")), units(masses, target="197"))
    assert report.tests[0].result == "FAIL"
    assert report.verdict == "fail" and "2.9.5" in report.reason


def test_mass_variation_only_where_table_2_9_40_allows_it_and_labelled_an_estimate() -> None:
    low = evaluate_qc(inputs(("2.9.40-mv",)), units(["200"] * 10)).tests[0]
    assert low.result == "NOT_APPLICABLE" and ">= 25 mg" in low.reason
    # 30 mg per 100 mg unit: 30 % drug, >= 25 mg → mass variation allowed
    high = evaluate_qc(inputs(("2.9.40-mv",), dose="30", load="300"), units(["100"] * 10, "100"))
    test_mv = high.tests[0]
    assert test_mv.applied and test_mv.result == "PASS"
    assert test_mv.is_estimate and "estimate" in test_mv.label
    too_few = evaluate_qc(inputs(("2.9.40-mv",), dose="30", load="300"), units(["100"] * 9))
    assert too_few.tests[0].result == "NOT_APPLICABLE" and "10 or 30" in too_few.tests[0].reason


def test_mass_variation_with_the_lots_assay_is_compliance_not_an_estimate() -> None:
    """Where 2.9.40 mass variation applies, A is the recorded lot's assay (98.4 %)."""
    assayed = QcInputs(("2.9.40-mv",), "tablet", D(30), D(300), D("98.4"), D("7.5"), D(5),
                       assay_is_measured=True)  # fmt: skip
    test_mv = evaluate_qc(assayed, units(["100"] * 10, "100")).tests[0]
    assert test_mv.applied and test_mv.result == "PASS" and not test_mv.is_estimate
    assert test_mv.label == "Ph. Eur. 2.9.40 / USP <905> mass variation"
    assert test_mv.detail["assay_pct"] == D("98.4") and test_mv.detail["assay_is_measured"]
    assert "AV(10) = 0.1" in test_mv.reason  # |98.5 - 98.4| + 2.4 × 0 (equal masses)


def test_content_uniformity_estimate_from_masses() -> None:
    even = evaluate_qc(inputs(("2.9.40-cu-estimate",)), units(["200"] * 10)).tests[0]
    assert even.result == "PASS" and even.is_estimate and "estimate" in even.reason
    spread = ["150", "250"] * 5  # ±25 %: AV far above 15
    uneven = evaluate_qc(inputs(("2.9.40-cu-estimate",)), units(spread)).tests[0]
    assert uneven.result == "FAIL"


def test_the_local_check_judges_the_mean_against_the_target() -> None:
    heavy = units(["212"] * 4)  # each +6 % (inside 7.5 %), the mean +6 % (outside 5 %)
    report = evaluate_qc(inputs(("local",)), heavy)
    (local,) = report.tests
    assert local.named_by_recipe and local.result == "FAIL"
    assert report.verdict == "fail"


def test_units_without_a_weight_are_not_evaluated() -> None:
    missing = [UnitRecord(1, D(200), None, None, "not_weighed", D("7.5"), D(100))]
    assert evaluate_qc(inputs(("local",)), missing).verdict == "not_evaluated"
    assert evaluate_qc(inputs(("local",)), []).verdict == "not_evaluated"
