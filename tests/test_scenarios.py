"""Clinical scenarios for the hypocalcaemia workup, written to be reviewed by a clinician.

Each scenario gives the findings of one patient (values in the units a lab report would use),
walks the real algorithm with anything not given treated as unknown, and checks the result and
the diagnosis ranked first. Each docstring names the published fact it checks, with its section
in shared/clinical/reference.md (the team's clinical reference).
"""

from __future__ import annotations

from scenario_support import (
    ALGORITHM,
    SCENARIOS,
    first,
    obtained_tests,
    outcome,
    ranked,
    scenario,
    workup,
)

from app.engine.models import ResultNode

NO_RED_FLAGS = {
    "seizures": False,
    "laryngospasm": False,
    "tetany": False,
    "apnea": False,
    "arrhythmia_or_long_qt": False,
    "heart_failure": False,
}


def mmol(value: float) -> dict[str, object]:
    return {"value": value, "unit": "mmol/L"}


# =========================================================================== red flags, emergency


def test_seizures_lead_to_the_emergency_steps_before_anything_else() -> None:
    """Seizures call for immediate IV calcium with cardiac monitoring (BMJ Best Practice
    hypoparathyroidism; reference 1.13 and step 0)."""
    step = workup(seizures=True)
    assert "emergency-care" in [e.node.id for e in step.trail]  # shown before anything else
    assert outcome(step, "red-flag-check").next == "emergency-care"
    assert [a.node_id for a in step.alerts] == ["emergency-care"]


def test_unanswered_red_flags_show_the_emergency_steps() -> None:
    """When a red flag cannot be excluded, the emergency steps are shown (brief; step 0)."""
    step = workup(seizures=False, tetany="unknown")
    assert outcome(step, "red-flag-check").label == "a red flag could not be excluded"


def test_no_red_flags_skip_the_emergency_steps() -> None:
    """Without red flags the workup starts at the age (reference step 0 applies to the
    symptomatic child with severe features only)."""
    step = workup(**NO_RED_FLAGS, jitteriness=True)
    assert outcome(step, "red-flag-check").next == "milder-symptoms"
    assert outcome(step, "milder-symptoms").label == "jitteriness or tingling, no red flag"
    assert step.alerts == ()


# =========================================================================== is it hypocalcaemia?


@scenario
def test_normal_ionised_calcium_in_a_school_child_is_not_hypocalcaemia():
    """ARUP reference interval for ionised calcium, 1 month to adult: 1.11-1.30 mmol/L
    (reference 3.2). A 6-year-old with cramps and ionised calcium 1.22 is not hypocalcaemic."""
    step = workup(
        **NO_RED_FLAGS,
        paresthesia=True,
        age={"value": 6, "unit": "years"},
        ionized_calcium=mmol(1.22),
        total_calcium=mmol(2.35),
    )
    assert step.node.id == "hypocalcemia-not-confirmed"
    assert first(step) == "hypocalcemia_not_confirmed"
    assert step.node.advice, "a symptomatic child is told what to repeat and consider"
    return step


@scenario
def test_normal_total_calcium_in_mg_dl_without_ionised_calcium_advises_ionised():
    """Children: total calcium below 8.5 mg/dL is low (Japanese criteria; reference 3.1, 5.2).
    9.4 mg/dL is not; ionised calcium is the preferred test (Hannan & Thakker; reference 1.12)."""
    step = workup(
        **NO_RED_FLAGS,
        age={"value": 3, "unit": "years"},
        ionized_calcium="unknown",
        total_calcium={"value": 9.4, "unit": "mg/dL"},
    )
    assert step.node.id == "hypocalcemia-not-confirmed"
    assert first(step) == "hypocalcemia_not_confirmed"
    assert "ionised calcium" in (outcome(step, "total-calcium-check").note or "")
    return step


@scenario
def test_low_total_calcium_with_normal_ionised_calcium_is_pseudohypocalcaemia():
    """ARUP: normal ionised calcium with low albumin is pseudohypocalcaemia (reference 1.15,
    step 1.5). A 4-year-old with nephrotic-range albumin 18 g/L."""
    step = workup(
        **NO_RED_FLAGS,
        age={"value": 4, "unit": "years"},
        ionized_calcium=mmol(1.18),
        total_calcium=mmol(1.85),
        albumin=18,
    )
    assert step.node.id == "pseudohypocalcemia-result"
    assert first(step) == "pseudohypocalcemia"
    return step


@scenario
def test_pseudohypocalcaemia_in_conventional_units():
    """Same rule with US units: calcium mg/dL x 0.2495 and albumin g/dL x 10 (AMA SI table;
    reference 3.11). Ionised 4.8 mg/dL = 1.20 mmol/L is normal; total 7.6 mg/dL is low."""
    step = workup(
        **NO_RED_FLAGS,
        age={"value": 9, "unit": "years"},
        ionized_calcium={"value": 4.8, "unit": "mg/dL"},
        total_calcium={"value": 7.6, "unit": "mg/dL"},
        albumin={"value": 2.0, "unit": "g/dL"},
    )
    assert step.node.id == "pseudohypocalcemia-result"
    assert first(step) == "pseudohypocalcemia"
    return step


def test_ionised_calcium_below_protocol_value_meets_the_definition() -> None:
    """Protocol: ionised calcium below 0.95 mmol/L is hypocalcaemia (reference 0.2, 5.1)."""
    step = workup(age={"value": 5, "unit": "years"}, ionized_calcium=mmol(0.90))
    taken = outcome(step, "calcium-confirmation")
    assert taken.label == "ionised calcium below 0.95 mmol/L"
    assert "protocol" in (taken.note or "")


def test_ionised_calcium_between_age_limit_and_protocol_value_continues_with_a_note() -> None:
    """ARUP lower limit 1.11 mmol/L (reference 3.2) is above the protocol's 0.95 (5.1): a value
    of 1.00 continues the workup with a note instead of stopping."""
    step = workup(age={"value": 8, "unit": "years"}, ionized_calcium=mmol(1.00))
    taken = outcome(step, "calcium-confirmation")
    assert taken.label == "below the age-specific limit, at or above 0.95 mmol/L"
    assert "0.95" in (taken.note or "")
    assert step.node.id not in ("hypocalcemia-not-confirmed", "pseudohypocalcemia-result")


def test_newborn_limit_depends_on_birth_weight() -> None:
    """Vuralli 2019 and BCGP: ionised calcium below 1.1 mmol/L (1500 g or more) or 1.0 mmol/L
    (under 1500 g) (reference 4.1). 1.05 mmol/L is low at 3 kg but not at 1.2 kg."""
    term = workup(
        age={"value": 5, "unit": "days"},
        birth_weight={"value": 3, "unit": "kg"},
        ionized_calcium=mmol(1.05),
    )
    vlbw = workup(
        age={"value": 5, "unit": "days"},
        birth_weight=1200,
        ionized_calcium=mmol(1.05),
        total_calcium="unknown",
    )
    assert outcome(term, "calcium-confirmation").next == "neonatal-check"
    assert vlbw.node.id == "hypocalcemia-not-confirmed"


@scenario
def test_no_calcium_result_never_dead_ends_a_symptomatic_child():
    """A symptomatic child with no results yet: the workup continues through the history and
    ends in a provisional result that says calcium is not yet measured, with ionised calcium,
    glucose and magnesium first among the tests to obtain (issue 19, class 5; WHO 2011: glucose
    in every seizing newborn; reference 1.12: ionised calcium to confirm)."""
    step = workup(age={"value": 2, "unit": "years"}, seizures=True)
    assert "obtain ionised calcium" in (outcome(step, "total-calcium-check").note or "")
    assert step.node.id == "calcium-not-measured"
    assert step.node.title == "Calcium not yet measured"
    assert isinstance(step.node, ResultNode) and step.node.provisional
    asked = [k for t in step.next_tests for k in t.findings]
    assert asked[:3] == ["ionized_calcium", "glucose", "magnesium"]
    assert asked.index("magnesium") < asked.index("pth")
    assert "hypocalcemia_not_confirmed" in likely(step)  # calcium may yet be normal
    assert step.differential[0].tied  # nothing yet separates the leading causes
    return step


# =========================================================================== newborns


@scenario
def test_infant_of_diabetic_mother_at_30_hours_has_early_neonatal_hypocalcaemia():
    """Early-onset hypocalcaemia (first 72 h) in an infant of a diabetic mother (Vuralli 2019;
    MSD; reference 4.2)."""
    step = workup(
        age={"value": 30, "unit": "hours"},
        gestational_age=37,
        birth_weight={"value": 3.6, "unit": "kg"},
        jitteriness=True,
        ionized_calcium=mmol(0.85),
        maternal_diabetes=True,
    )
    assert step.node.id == "early-neonatal"
    assert first(step) == "early_neonatal_hypocalcemia"
    assert "Serum magnesium" in obtained_tests(step)
    return step


@scenario
def test_very_preterm_baby_below_the_vlbw_limit_has_early_neonatal_hypocalcaemia():
    """VLBW limit below 1.0 mmol/L (Vuralli; BCGP) and birth before 32 weeks as a screening
    risk (Vuralli; reference 4.1, 4.2). 0.98 mmol/L is above the protocol's 0.95, so the walk
    notes it and goes on."""
    step = workup(
        age={"value": 40, "unit": "hours"},
        gestational_age=29,
        birth_weight=1150,
        ionized_calcium=mmol(0.98),
        maternal_diabetes=False,
        perinatal_asphyxia=False,
        small_for_gestational_age=False,
    )
    assert outcome(step, "calcium-confirmation").label.startswith("below the age-specific limit")
    assert step.node.id == "early-neonatal"
    assert first(step) == "early_neonatal_hypocalcemia"
    return step


@scenario
def test_maternal_magnesium_sulfate_in_a_two_day_old_without_risk_factors():
    """Severe hypermagnesaemia above 2.1 mmol/L suppresses PTH, typically after maternal
    magnesium sulfate (AccessMedicine; reference 1.18, step 3.2). Without early risk factors the
    full workup runs, and magnesium decides."""
    step = workup(
        age={"value": 2, "unit": "days"},
        gestational_age=39,
        birth_weight=3400,
        ionized_calcium=mmol(0.9),
        maternal_diabetes=False,
        perinatal_asphyxia=False,
        small_for_gestational_age=False,
        maternal_magnesium_sulfate=True,
        magnesium=mmol(2.6),
    )
    assert step.node.id == "hypermagnesemia-result"
    assert first(step) == "hypermagnesemia"
    return step


@scenario
def test_formula_fed_eight_day_old_with_seizures_has_late_phosphate_load_hypocalcaemia():
    """Thomas 2012: late hypocalcaemia at a median 8 days with high phosphate and low or
    inappropriately normal PTH; phosphate load from feeds (Vuralli; reference 1.8, 4.2)."""
    step = workup(
        age={"value": 8, "unit": "days"},
        seizures=True,
        gestational_age=40,
        birth_weight=3300,
        ionized_calcium=mmol(0.78),
        high_phosphate_feeding=True,
        maternal_hypercalcemia=False,
        magnesium=mmol(0.72),
        pth=28,
        urine_calcium_creatinine_ratio=0.8,
        phosphate=mmol(3.3),
    )
    assert step.node.id == "hypoparathyroidism-result"
    assert first(step) == "late_neonatal_phosphate_load"
    return step


@scenario
def test_late_neonate_with_low_magnesium_keeps_the_phosphate_load_at_the_top():
    """Thomas 2012: 75 of 78 late hypocalcaemic newborns had low magnesium (reference 1.8).
    Magnesium 1.2 mg/dL (0.49 mmol/L) is clearly low, and an infant with it reaches the HSH leaf
    even without a urine result (a later branch that is true is taken); the late-neonatal cause
    stays beside HSH at the top, because its key finding (a phosphate load in the first weeks)
    is present wherever the walk ends. With equal evidence the leaf's order breaks the tie."""
    step = workup(
        age={"value": 7, "unit": "days"},
        tetany=True,
        ionized_calcium=mmol(0.8),
        high_phosphate_feeding=True,
        magnesium={"value": 1.2, "unit": "mg/dL"},
    )
    assert step.node.id == "hsh-result"
    assert set(ranked(step)[:2]) == {"hsh_trpm6", "late_neonatal_phosphate_load"}
    late = next(d for d in step.differential if d.id == "late_neonatal_phosphate_load")
    assert late.key and not late.listed
    assert "Spot urine calcium/creatinine" in obtained_tests(step)
    return step


@scenario
def test_ten_day_old_with_suppressed_pth_and_hypercalcaemic_mother():
    """Pillai 2022: transient neonatal hypoparathyroidism from a maternal parathyroid adenoma;
    check maternal calcium and PTH (reference 1.9, leaf P1)."""
    step = workup(
        age={"value": 10, "unit": "days"},
        seizures=True,
        birth_weight=3100,
        ionized_calcium=mmol(0.8),
        high_phosphate_feeding=False,
        maternal_hypercalcemia=True,
        magnesium=mmol(0.8),
        pth=4,
        urine_calcium_creatinine_ratio=0.3,
        phosphate=mmol(2.4),
    )
    assert step.node.id == "hypoparathyroidism-result"
    assert first(step) == "maternal_hyperparathyroidism"
    return step


def test_newborn_only_diagnoses_are_excluded_after_28_days() -> None:
    """Late neonatal phosphate load and transient maternal-hyperparathyroidism
    hypoparathyroidism are newborn diagnoses (reference 4.3); they are excluded at 2 years."""
    step = workup(
        age={"value": 2, "unit": "years"},
        ionized_calcium=mmol(0.8),
        magnesium=mmol(0.8),
        pth=5,
        urine_calcium_creatinine_ratio=0.5,
    )
    assert "late_neonatal_phosphate_load" not in ranked(step)
    assert "maternal_hyperparathyroidism" not in ranked(step)


# =========================================================================== magnesium


@scenario
def test_two_month_old_with_magnesium_0_13_has_hsh():
    """ESPE case: 2-month-old, calcium 1.59 mmol/L, magnesium 0.13 mmol/L, needing lifelong
    magnesium; HSH has normal urine calcium and starts within the first year (Orphanet;
    reference 1.18, leaf M2)."""
    step = workup(
        age={"value": 2, "unit": "months"},
        seizures=True,
        ionized_calcium="unknown",
        total_calcium=mmol(1.59),
        magnesium=mmol(0.13),
        hypocalcemia_persists_after_magnesium="unknown",
        urine_calcium_creatinine_ratio=0.4,
        potassium=4.5,
    )
    assert "ionised" in (outcome(step, "total-calcium-check").note or "")
    assert step.node.id == "hsh-result"
    assert first(step) == "hsh_trpm6"
    return step


@scenario
def test_infant_with_very_low_magnesium_in_mg_dl_and_no_urine_result():
    """HSH: onset in the first year with extremely low magnesium (Orphanet; reference 1.18).
    Magnesium 0.35 mg/dL x 0.4114 = 0.14 mmol/L (reference 3.11). Urine calcium is missing; an
    infant with magnesium below 0.5 mmol/L still reaches the HSH result, which asks for it."""
    step = workup(
        age={"value": 5, "unit": "months"},
        seizures=True,
        ionized_calcium=mmol(0.7),
        magnesium={"value": 0.35, "unit": "mg/dL"},
    )
    assert step.node.id == "hsh-result"
    assert first(step) == "hsh_trpm6"
    assert "Spot urine calcium/creatinine" in obtained_tests(step)
    return step


@scenario
def test_low_magnesium_with_hypercalciuria_suggests_fhhnc():
    """FHHNC: hypomagnesaemia with hypercalciuria and nephrocalcinosis (Vall-Palomar 2021;
    reference 1.18, leaf M3). Urine Ca/Cr 0.9 mg/mg x 2.8 = 2.5 mmol/mmol, above 1.18 for
    19 months to 6 years (reference 3.9)."""
    step = workup(
        age={"value": 4, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.9),
        magnesium=mmol(0.45),
        hypocalcemia_persists_after_magnesium=False,
        urine_calcium_creatinine_ratio={"value": 0.9, "unit": "mg/mg"},
        potassium=4.2,
        kidney_disease=False,
    )
    assert step.node.id == "fhhnc-result"
    assert first(step) == "fhhnc"
    return step


@scenario
def test_teenager_with_hypokalaemic_alkalosis_and_low_magnesium_has_gitelman_spectrum():
    """Gitelman-like group: hypokalaemia, metabolic alkalosis and hypocalciuria (Hindawi IJE
    table 6; reference 1.18, leaf M4); hypokalaemia below 3.5 mmol/L (RCH). Magnesium 0.5 mmol/L
    is only mildly low (signs usually appear below 0.5, Lange), so the walk goes on to PTH; the
    Gitelman pattern still ranks first wherever the walk ends."""
    step = workup(
        age={"value": 13, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(1.0),
        blood_ph=7.49,
        magnesium=mmol(0.5),
        hypocalcemia_persists_after_magnesium=False,
        urine_calcium_creatinine_ratio=0.1,
        potassium={"value": 2.9, "unit": "mEq/L"},
        bicarbonate=31,
    )
    assert outcome(step, "magnesium-check").label.startswith("mildly low")
    assert step.node.id == "pth-not-known"
    assert first(step) == "gitelman_spectrum"
    return step


@scenario
def test_clearly_low_magnesium_with_hypokalaemia_reaches_the_gitelman_result():
    """Magnesium 0.4 mmol/L is clearly low (signs usually appear below 0.5, Lange): the
    magnesium branch, then low potassium (RCH, below 3.5 mmol/L) with low urine calcium points to
    the Gitelman spectrum (Hindawi IJE table 6; reference 1.18, leaf M4)."""
    step = workup(
        age={"value": 15, "unit": "years"},
        paresthesia=True,
        ionized_calcium=mmol(1.0),
        magnesium=mmol(0.4),
        hypocalcemia_persists_after_magnesium=False,
        urine_calcium_creatinine_ratio=0.1,
        potassium=2.8,
    )
    assert outcome(step, "magnesium-check").label.startswith("clearly low")
    assert step.node.id == "gitelman-result"
    assert first(step) == "gitelman_spectrum"
    return step


@scenario
def test_clearly_low_magnesium_without_its_workup_is_provisional_and_asks_for_it():
    """With magnesium clearly low and neither urine calcium nor potassium known, the magnesium
    disorders cannot be told apart: the result is provisional and asks for those tests, and
    never for the age, which is known (RCH hypomagnesaemia; Orphanet; reference step 3.1)."""
    step = workup(age={"value": 6, "unit": "years"}, ionized_calcium=mmol(0.9), magnesium=mmol(0.4))
    assert step.node.id == "magnesium-cause-provisional"
    tests = [t.test for t in step.next_tests]
    assert "Spot urine calcium/creatinine" in tests
    assert "Age" not in tests
    assert all("age" not in t.findings for t in step.next_tests)
    return step


@scenario
def test_child_with_crohn_disease_and_low_magnesium_has_acquired_loss():
    """RCH hypomagnesaemia guideline: gastrointestinal losses (malabsorption, diarrhoea, short
    bowel) are a cause of low magnesium (reference 1.17, leaf M1)."""
    step = workup(
        age={"value": 9, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.9),
        malabsorption_signs=True,
        magnesium=mmol(0.45),
        hypocalcemia_persists_after_magnesium=False,
        urine_calcium_creatinine_ratio=0.2,
        potassium=3.9,
    )
    assert step.node.id == "acquired-hypomagnesemia-result"
    assert first(step) == "acquired_hypomagnesemia"
    return step


@scenario
def test_high_magnesium_in_kidney_failure_suppresses_pth():
    """Hypermagnesaemia above 5 mg/dL (2.1 mmol/L) suppresses PTH; in older children it follows
    renal failure with magnesium intake (AccessMedicine; reference 3.3, step 3.2).
    5.5 mg/dL x 0.4114 = 2.26 mmol/L."""
    step = workup(
        age={"value": 10, "unit": "years"},
        ionized_calcium=mmol(0.9),
        kidney_disease=True,
        magnesium={"value": 5.5, "unit": "mg/dL"},
    )
    assert step.node.id == "hypermagnesemia-result"
    assert ranked(step)[:2] == ["hypermagnesemia", "chronic_kidney_disease"]
    return step


def test_hypocalcaemia_persisting_after_magnesium_goes_on_to_pth() -> None:
    """Replace magnesium and re-measure; if hypocalcaemia persists once magnesium is normal,
    continue to PTH (AccessMedicine; MHLW exclusion; reference step 3.1)."""
    step = workup(
        age={"value": 6, "unit": "years"},
        ionized_calcium=mmol(0.85),
        magnesium=mmol(0.45),
        hypocalcemia_persists_after_magnesium=True,
        pth=4,
        urine_calcium_creatinine_ratio=0.3,
    )
    assert outcome(step, "magnesium-response").next == "pth-level"
    assert step.node.id == "hypoparathyroidism-result"


def test_unknown_magnesium_continues_to_pth_with_a_note() -> None:
    """Magnesium must be known before PTH is trusted: both low and high magnesium blunt PTH
    (AccessMedicine; reference step 3). Unknown magnesium goes on with a note."""
    step = workup(
        age={"value": 6, "unit": "years"}, ionized_calcium=mmol(0.85), magnesium="unknown", pth=300
    )
    assert "blunt PTH" in (outcome(step, "magnesium-check").note or "")
    assert outcome(step, "pth-check").next == "phosphate-and-kidneys"


# =========================================================================== low or normal PTH


@scenario
def test_newborn_with_truncus_arteriosus_and_absent_pth_has_22q11_deletion():
    """22q11.2 deletion: conotruncal heart defect, thymic hypoplasia, hypoparathyroidism
    (PMC8010056 table 2; reference leaf P2)."""
    step = workup(
        age={"value": 4, "unit": "days"},
        seizures=True,
        birth_weight=2900,
        ionized_calcium=mmol(0.75),
        high_phosphate_feeding=False,
        maternal_hypercalcemia=False,
        features_22q11=True,
        magnesium=mmol(0.8),
        pth=3,
        urine_calcium_creatinine_ratio=0.5,
        phosphate=mmol(2.9),
    )
    assert step.node.id == "hypoparathyroidism-result"
    assert first(step) == "del22q11"
    return step


@scenario
def test_infant_with_cleft_palate_and_inappropriately_normal_pth_needs_urine_calcium():
    """PTH within the reference range is inappropriately normal when calcium is low (Singh
    2003; reference 4.A, 5.4). 22 pg/mL at 6 months. Urine calcium is missing: provisional."""
    step = workup(
        age={"value": 6, "unit": "months"},
        ionized_calcium=mmol(0.85),
        features_22q11=True,
        magnesium=mmol(0.85),
        pth={"value": 22, "unit": "ng/L"},
    )
    assert step.node.id == "hypoparathyroidism-urine-unknown"
    assert step.node.provisional
    assert first(step) == "del22q11"
    assert obtained_tests(step) == ["Spot urine calcium/creatinine"]
    return step


@scenario
def test_toddler_with_family_history_and_hypercalciuria_has_adh():
    """ADH1: inappropriately low PTH with hypercalciuria; family history (ADH1 systematic
    review, De Coster 2025; reference 1.18, leaf P3). Urine Ca/Cr 0.7 mg/mg = 1.96 mmol/mmol,
    above 1.18 for 19 months to 6 years."""
    step = workup(
        age={"value": 3, "unit": "years"},
        seizures=True,
        ionized_calcium=mmol(0.85),
        family_history_hypocalcemia=True,
        magnesium=mmol(0.7),
        pth=14,
        urine_calcium_creatinine_ratio={"value": 0.7, "unit": "mg/mg"},
    )
    assert step.node.id == "adh-result"
    assert first(step) == "autosomal_dominant_hypocalcemia"
    return step


@scenario
def test_family_history_with_undetectable_pth_ranks_isolated_genetic_hypoparathyroidism():
    """Isolated genetic hypoparathyroidism (GCM2, PTH gene) with a family history; idiopathic
    hypoparathyroidism has undetectable PTH (OUH R153, MSD table; reference 1.16, leaf P4).
    PTH 0.5 pmol/L x 9.43 = 4.7 pg/mL, below 11 pg/mL."""
    step = workup(
        age={"value": 5, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.8),
        family_history_hypocalcemia=True,
        magnesium=mmol(0.8),
        pth={"value": 0.5, "unit": "pmol/L"},
        urine_calcium_creatinine_ratio=0.3,
        phosphate=mmol(2.3),
    )
    assert step.node.id == "hypoparathyroidism-result"
    assert first(step) == "isolated_genetic_hypoparathyroidism"
    return step


@scenario
def test_hypoparathyroidism_with_deafness_suggests_hdr():
    """GATA3: hypoparathyroidism, sensorineural deafness, renal dysplasia (OUH R153;
    reference leaf P5)."""
    step = workup(
        age={"value": 2, "unit": "years"},
        ionized_calcium=mmol(0.85),
        deafness_or_renal_dysplasia=True,
        magnesium=mmol(0.8),
        pth=5,
        urine_calcium_creatinine_ratio=0.5,
    )
    assert step.node.id == "hypoparathyroidism-result"
    assert first(step) == "hdr_gata3"
    return step


@scenario
def test_growth_failure_with_dysmorphism_suggests_tbce():
    """TBCE (Sanjad-Sakati, Kenny-Caffey 1): tetany with growth failure and dysmorphism
    (OUH R153; reference leaf P6)."""
    step = workup(
        age={"value": 3, "unit": "months"},
        tetany=True,
        ionized_calcium=mmol(0.8),
        growth_failure_with_dysmorphism=True,
        magnesium=mmol(0.8),
        pth=6,
        urine_calcium_creatinine_ratio=1.0,
    )
    assert step.node.id == "hypoparathyroidism-result"
    assert first(step) == "tbce_hypoparathyroidism"
    return step


@scenario
def test_ophthalmoplegia_and_heart_block_suggest_mitochondrial_hypoparathyroidism():
    """Kearns-Sayre and other mitochondrial disease cause hypoparathyroidism (PMC8010056
    table 2; Singh 2003; reference leaf P7)."""
    step = workup(
        age={"value": 9, "unit": "years"},
        ionized_calcium=mmol(0.85),
        mitochondrial_features=True,
        magnesium=mmol(0.8),
        pth=6,
        urine_calcium_creatinine_ratio=0.2,
    )
    assert step.node.id == "hypoparathyroidism-result"
    assert first(step) == "mitochondrial_hypoparathyroidism"
    return step


@scenario
def test_candidiasis_and_alopecia_suggest_aps1():
    """APS-1: hypoparathyroidism, adrenal failure, mucocutaneous candidiasis, also alopecia
    (OUH R153; PMC8010056; reference leaf P8)."""
    step = workup(
        age={"value": 8, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.85),
        candidiasis_or_adrenal_insufficiency=True,
        alopecia=True,
        magnesium=mmol(0.8),
        pth=3,
        urine_calcium_creatinine_ratio=0.3,
    )
    assert step.node.id == "hypoparathyroidism-result"
    assert first(step) == "aps1"
    return step


@scenario
def test_low_pth_after_thyroidectomy_is_acquired_hypoparathyroidism():
    """Post-surgical hypoparathyroidism (Khan 2022; Singh 2003 neck surgery; reference leaf
    P9). Phosphate high, as expected in hypoparathyroidism (MSD table)."""
    step = workup(
        age={"value": 14, "unit": "years"},
        paresthesia=True,
        ionized_calcium=mmol(0.9),
        neck_surgery=True,
        magnesium=mmol(0.8),
        pth=4,
        urine_calcium_creatinine_ratio=0.3,
        phosphate=mmol(2.1),
    )
    assert step.node.id == "hypoparathyroidism-result"
    assert first(step) == "acquired_hypoparathyroidism"
    return step


@scenario
def test_low_phosphate_after_parathyroidectomy_points_to_hungry_bone():
    """Calcium moving into bone gives hypocalcaemia with low phosphate (Japanese flowchart
    (b)); hungry bone after parathyroidectomy (reference leaf B1, C7). Phosphate 0.7 is below
    the 15-17-year range."""
    step = workup(
        age={"value": 16, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.85),
        neck_surgery=True,
        hungry_bone_setting=True,
        magnesium=mmol(0.75),
        pth=8,
        urine_calcium_creatinine_ratio=0.2,
        phosphate=mmol(0.7),
    )
    assert step.node.id == "hypoparathyroidism-result"
    assert ranked(step)[:2] == ["hungry_bone", "acquired_hypoparathyroidism"]
    return step


# =========================================================================== raised PTH


@scenario
def test_raised_pth_with_kidney_disease_is_ckd():
    """PTH high, phosphate high, creatinine high: renal failure (ARUP; Japanese flowchart GFR
    below 30; reference 1.15, leaf R1)."""
    step = workup(
        age={"value": 7, "unit": "years"},
        ionized_calcium=mmol(0.9),
        kidney_disease=True,
        magnesium=mmol(0.9),
        pth=350,
        phosphate=mmol(2.6),
        creatinine=250,
    )
    assert step.node.id == "ckd-result"
    assert first(step) == "chronic_kidney_disease"
    return step


@scenario
def test_ckd_in_conventional_units():
    """Same leaf with PTH in pmol/L (x 9.43), phosphate in mg/dL (x 0.3229) and creatinine in
    mg/dL (x 88.4) (reference 3.11)."""
    step = workup(
        age={"value": 15, "unit": "years"},
        ionized_calcium={"value": 3.8, "unit": "mg/dL"},
        kidney_disease=True,
        magnesium={"value": 2.0, "unit": "mg/dL"},
        pth={"value": 40, "unit": "pmol/L"},
        phosphate={"value": 8, "unit": "mg/dL"},
        creatinine={"value": 3, "unit": "mg/dL"},
    )
    assert step.node.id == "ckd-result"
    assert first(step) == "chronic_kidney_disease"
    return step


@scenario
def test_phosphate_enema_in_a_four_year_old_is_a_phosphate_load():
    """Phosphate enemas and oral or IV phosphate lower calcium (Decision Support 'Low serum
    calcium'; NHS Highland; reference 1.19, leaf R2)."""
    step = workup(
        age={"value": 4, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.85),
        phosphate_exposure=True,
        kidney_disease=False,
        magnesium=mmol(0.8),
        pth=80,
        phosphate=mmol(3.1),
    )
    assert step.node.id == "phosphate-load-result"
    assert first(step) == "phosphate_load"
    return step


@scenario
def test_tumour_lysis_with_phosphate_above_2_1_mmol_l():
    """Tumour lysis: paediatric hyperphosphataemia above 6.5 mg/dL (2.1 mmol/L) (TLS
    definitions table; reference 1.19, leaf C6)."""
    step = workup(
        age={"value": 6, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.85),
        tumor_lysis=True,
        kidney_disease=False,
        magnesium=mmol(0.9),
        pth=90,
        phosphate=mmol(2.9),
    )
    assert step.node.id == "phosphate-load-result"
    assert first(step) == "tumor_lysis"
    return step


@scenario
def test_rhabdomyolysis_releases_phosphate():
    """Rhabdomyolysis in its early phase releases phosphate (BMJ Best Practice; Decision
    Support; reference leaf C5)."""
    step = workup(
        age={"value": 15, "unit": "years"},
        ionized_calcium=mmol(0.9),
        rhabdomyolysis=True,
        kidney_disease=False,
        magnesium=mmol(0.9),
        pth=120,
        phosphate=mmol(2.0),
    )
    assert step.node.id == "phosphate-load-result"
    assert first(step) == "rhabdomyolysis"
    return step


@scenario
def test_school_child_with_albright_features_and_replete_vitamin_d_has_php():
    """PTH resistance: high PTH, high phosphate, normal renal function, replete 25-OH vitamin D
    (Mantovani 2018; JSPE; reference 1.6, leaf H1); hypocalcaemia tends to appear at 3-8 years
    (BMJ Best Practice)."""
    step = workup(
        age={"value": 7, "unit": "years"},
        seizures=True,
        ionized_calcium=mmol(0.8),
        albright_features=True,
        kidney_disease=False,
        phosphate_exposure=False,
        tumor_lysis=False,
        rhabdomyolysis=False,
        magnesium=mmol(0.85),
        pth=250,
        phosphate=mmol(2.4),
        creatinine=40,
        vitamin_d_25oh=75,
    )
    assert step.node.id == "php-result"
    assert first(step) == "pseudohypoparathyroidism"
    return step


@scenario
def test_php_with_labs_in_conventional_units():
    """JSPE PHP criteria: intact PTH 30 pg/mL or more with high or normal phosphate and normal
    renal function (reference 1.1). PTH 30 pmol/L = 283 pg/mL; phosphate 7.5 mg/dL = 2.42
    mmol/L; 25-OH vitamin D 30 ng/mL x 2.496 = 75 nmol/L."""
    step = workup(
        age={"value": 5, "unit": "years"},
        ionized_calcium=mmol(0.85),
        kidney_disease=False,
        phosphate_exposure=False,
        tumor_lysis=False,
        rhabdomyolysis=False,
        magnesium=mmol(0.8),
        pth={"value": 30, "unit": "pmol/L"},
        phosphate={"value": 7.5, "unit": "mg/dL"},
        vitamin_d_25oh={"value": 30, "unit": "ng/mL"},
    )
    assert step.node.id == "php-result"
    assert first(step) == "pseudohypoparathyroidism"
    return step


@scenario
def test_infant_vitamin_d_deficiency_mimicking_php():
    """In infants, vitamin D deficiency rickets can mimic PHP (high PTH, low calcium, high
    phosphate) and corrects with vitamin D (BMJ Best Practice PHP; reference 1.6, leaf H1
    pitfall)."""
    step = workup(
        age={"value": 7, "unit": "months"},
        seizures=True,
        ionized_calcium=mmol(0.8),
        vitamin_d_risk=True,
        kidney_disease=False,
        phosphate_exposure=False,
        high_phosphate_feeding=False,
        tumor_lysis=False,
        rhabdomyolysis=False,
        magnesium=mmol(0.8),
        pth=300,
        phosphate=mmol(2.6),
        vitamin_d_25oh=15,
    )
    assert step.node.id == "vitamin-d-mimics-php-result"
    assert first(step) == "nutritional_vitamin_d_deficiency"
    php = next(d for d in step.differential if d.id == "pseudohypoparathyroidism")
    assert "25-OH vitamin D below 50 nmol/L (deficiency can mimic PHP)" in php.against
    return step


@scenario
def test_raised_pth_and_high_phosphate_without_vitamin_d_result_is_provisional():
    """Vitamin D deficiency must be excluded before PTH resistance is diagnosed (BMJ Best
    Practice PHP; PMC9280615 table 2; reference 1.6)."""
    step = workup(
        age={"value": 8, "unit": "years"},
        ionized_calcium=mmol(0.85),
        albright_features=True,
        kidney_disease=False,
        phosphate_exposure=False,
        tumor_lysis=False,
        rhabdomyolysis=False,
        magnesium=mmol(0.8),
        pth=200,
        phosphate=mmol(2.3),
        vitamin_d_25oh="unknown",
    )
    assert step.node.id == "php-or-vitamin-d-provisional"
    assert first(step) == "pseudohypoparathyroidism"
    assert obtained_tests(step) == ["25-OH vitamin D"]
    return step


@scenario
def test_raised_pth_without_phosphate_asks_for_phosphate_and_creatinine():
    """Within the raised-PTH branch, phosphate and creatinine split the leaves (ARUP; MSD
    table; reference section 7, point 7). Phosphate is missing, so the result is provisional."""
    step = workup(
        age={"value": 10, "unit": "months"},
        seizures=True,
        ionized_calcium=mmol(0.8),
        vitamin_d_risk=True,
        kidney_disease=False,
        magnesium=mmol(0.8),
        pth=300,
        phosphate="unknown",
        creatinine="unknown",
    )
    assert step.node.id == "pth-high-phosphate-unknown"
    assert first(step) == "nutritional_vitamin_d_deficiency"
    assert obtained_tests(step) == ["Phosphate", "Creatinine"]
    return step


@scenario
def test_raised_pth_with_low_phosphate_asks_for_vitamin_d():
    """Vitamin D deficiency: high PTH with low phosphate (MSD table); measure 25-OH vitamin D
    when sunlight or diet is poor (Hannan & Thakker; reference 1.12, 1.16)."""
    step = workup(
        age={"value": 15, "unit": "years"},
        paresthesia=True,
        ionized_calcium=mmol(0.95),
        vitamin_d_risk=True,
        kidney_disease=False,
        magnesium=mmol(0.8),
        pth=200,
        phosphate=mmol(0.7),
        vitamin_d_25oh="unknown",
    )
    assert step.node.id == "vitamin-d-not-known"
    assert first(step) == "nutritional_vitamin_d_deficiency"
    assert obtained_tests(step) == ["25-OH vitamin D"]
    return step


@scenario
def test_breastfed_ten_month_old_with_seizures_has_nutritional_vitamin_d_deficiency():
    """Vitamin D deficiency: high PTH, low or normal phosphate, high ALP, low 25-OH vitamin D
    (MSD table; SPEG); deficient below 30 nmol/L (Munns; reference 1.4, leaf V1)."""
    step = workup(
        age={"value": 10, "unit": "months"},
        seizures=True,
        ionized_calcium=mmol(0.8),
        vitamin_d_risk=True,
        kidney_disease=False,
        magnesium=mmol(0.8),
        pth=420,
        phosphate=mmol(1.2),
        vitamin_d_25oh=12,
        alkaline_phosphatase=900,
    )
    assert step.node.id == "vitamin-d-low-result"
    assert first(step) == "nutritional_vitamin_d_deficiency"
    return step


@scenario
def test_adolescent_with_tetany_and_low_vitamin_d_in_conventional_units():
    """UK hypocalcaemic vitamin D deficiency series: median 25-OH vitamin D 15 nmol/L, PTH
    44.4 pmol/L (ADC table; reference 1.20). 25-OH vitamin D 5 ng/mL = 12.5 nmol/L; PTH 32
    pmol/L = 302 pg/mL; calcium 4.0 mg/dL = 1.0 mmol/L."""
    step = workup(
        age={"value": 14, "unit": "years"},
        tetany=True,
        ionized_calcium={"value": 4.0, "unit": "mg/dL"},
        vitamin_d_risk=True,
        kidney_disease=False,
        magnesium={"value": 1.8, "unit": "mg/dL"},
        pth={"value": 32, "unit": "pmol/L"},
        phosphate={"value": 3.1, "unit": "mg/dL"},
        vitamin_d_25oh={"value": 5, "unit": "ng/mL"},
    )
    assert step.node.id == "vitamin-d-low-result"
    assert first(step) == "nutritional_vitamin_d_deficiency"
    return step


@scenario
def test_coeliac_disease_with_insufficient_vitamin_d_ranks_malabsorption():
    """Malabsorption (coeliac disease, cystic fibrosis, IBD) causes vitamin D deficiency (PES;
    Hannan & Thakker; reference leaf V2)."""
    step = workup(
        age={"value": 8, "unit": "years"},
        ionized_calcium=mmol(0.9),
        malabsorption_signs=True,
        kidney_disease=False,
        magnesium=mmol(0.8),
        pth=150,
        phosphate=mmol(1.1),
        vitamin_d_25oh=35,
    )
    assert step.node.id == "vitamin-d-low-result"
    assert first(step) == "malabsorption"
    return step


@scenario
def test_cholestatic_child_with_low_vitamin_d_despite_supplements():
    """Liver disease fails 25-hydroxylation; 25-OH vitamin D stays low despite intake (PES;
    reference leaf V3)."""
    step = workup(
        age={"value": 2, "unit": "years"},
        ionized_calcium=mmol(0.9),
        liver_disease=True,
        vitamin_d_supplemented=True,
        kidney_disease=False,
        magnesium=mmol(0.8),
        pth=200,
        phosphate=mmol(1.0),
        vitamin_d_25oh=20,
    )
    assert step.node.id == "vitamin-d-low-result"
    assert first(step) == "liver_disease_25_hydroxylation"
    return step


@scenario
def test_child_on_phenobarbital_with_insufficient_vitamin_d():
    """Enzyme-inducing anticonvulsants: 22.5% of treated patients had low calcium (Richens
    1970), 29% on phenobarbital or phenytoin (Schmitt 1984) (reference 1.19, leaf V4)."""
    step = workup(
        age={"value": 12, "unit": "years"},
        ionized_calcium=mmol(0.9),
        anticonvulsant_therapy=True,
        kidney_disease=False,
        magnesium=mmol(0.8),
        pth=150,
        phosphate=mmol(1.0),
        vitamin_d_25oh=40,
    )
    assert step.node.id == "vitamin-d-low-result"
    assert first(step) == "anticonvulsant_induced"
    return step


@scenario
def test_low_vitamin_d_despite_adequate_supplements_and_family_history_suggests_vddr1b():
    """VDDR1B (CYP2R1): 25-OH vitamin D stays low despite adequate supplementation (hereditary
    vitamin D review; reference leaf V5)."""
    step = workup(
        age={"value": 18, "unit": "months"},
        ionized_calcium=mmol(0.85),
        vitamin_d_supplemented=True,
        family_history_hypocalcemia=True,
        kidney_disease=False,
        magnesium=mmol(0.8),
        pth=300,
        phosphate=mmol(1.0),
        vitamin_d_25oh=15,
    )
    assert step.node.id == "vitamin-d-low-result"
    assert first(step) == "vddr1b_cyp2r1"
    return step


@scenario
def test_toddler_on_a_dairy_free_diet_with_high_calcitriol_has_calcium_deficiency():
    """Dietary calcium deficiency rickets: markedly raised 1,25-dihydroxyvitamin D, 25-OH
    vitamin D generally above deficiency (calcium-deficiency chapter; PMC6019962; reference
    1.20, leaf V7)."""
    step = workup(
        age={"value": 3, "unit": "years"},
        ionized_calcium=mmol(0.85),
        low_calcium_intake=True,
        rickets_signs=True,
        kidney_disease=False,
        hungry_bone_setting=False,
        magnesium=mmol(0.8),
        pth=250,
        phosphate=mmol(1.0),
        vitamin_d_25oh=55,
        alkaline_phosphatase=800,
        urine_calcium_creatinine_ratio=0.3,
        vitamin_d_1_25=350,
    )
    assert step.node.id == "vddr2-or-calcium-result"
    assert first(step) == "calcium_deficiency_rickets"
    return step


@scenario
def test_calcium_deficiency_with_vitamin_d_between_30_and_50():
    """In calcium deficiency 25-OH vitamin D is lower than in controls but generally above the
    deficiency range (calcium-deficiency chapter; reference 1.20)."""
    step = workup(
        age={"value": 4, "unit": "years"},
        ionized_calcium=mmol(0.9),
        low_calcium_intake=True,
        kidney_disease=False,
        magnesium=mmol(0.8),
        pth=180,
        phosphate=mmol(1.0),
        vitamin_d_25oh=40,
    )
    assert step.node.id == "vitamin-d-low-result"
    assert first(step) == "calcium_deficiency_rickets"
    return step


@scenario
def test_infant_with_replete_vitamin_d_and_low_calcitriol_has_vddr1a():
    """VDDR1A: low calcium, low phosphate, high PTH, normal 25-OH vitamin D, low
    1,25-dihydroxyvitamin D (JSPE; CAGS); Japanese cut-off 60 pg/mL (reference 1.1, leaf V6)."""
    step = workup(
        age={"value": 10, "unit": "months"},
        seizures=True,
        ionized_calcium=mmol(0.8),
        kidney_disease=False,
        hungry_bone_setting=False,
        magnesium=mmol(0.8),
        pth=400,
        phosphate=mmol(0.9),
        vitamin_d_25oh=90,
        urine_calcium_creatinine_ratio=0.3,
        vitamin_d_1_25={"value": 12, "unit": "pg/mL"},
    )
    assert step.node.id == "vddr1a-result"
    assert first(step) == "vddr1a_cyp27b1"
    return step


@scenario
def test_infant_with_alopecia_and_high_calcitriol_has_vddr2():
    """VDDR2: high 1,25-dihydroxyvitamin D with normal 25-OH vitamin D (JSPE; MSD table);
    alopecia in many with type 2A (reference leaf V7)."""
    step = workup(
        age={"value": 11, "unit": "months"},
        ionized_calcium=mmol(0.8),
        alopecia=True,
        kidney_disease=False,
        hungry_bone_setting=False,
        magnesium=mmol(0.8),
        pth=500,
        phosphate=mmol(0.9),
        vitamin_d_25oh=80,
        urine_calcium_creatinine_ratio=0.5,
        vitamin_d_1_25=600,
    )
    assert step.node.id == "vddr2-or-calcium-result"
    assert first(step) == "vddr2_vdr"
    return step


@scenario
def test_missing_calcitriol_gives_a_provisional_result():
    """With replete 25-OH vitamin D, measure 1,25-dihydroxyvitamin D (ESB rickets consensus;
    reference 1.20)."""
    step = workup(
        age={"value": 2, "unit": "years"},
        ionized_calcium=mmol(0.85),
        low_calcium_intake=True,
        kidney_disease=False,
        hungry_bone_setting=False,
        magnesium=mmol(0.8),
        pth=250,
        phosphate=mmol(1.0),
        vitamin_d_25oh=60,
        urine_calcium_creatinine_ratio=0.4,
        vitamin_d_1_25="unknown",
    )
    assert step.node.id == "active-vitamin-d-not-known"
    assert first(step) == "calcium_deficiency_rickets"
    assert obtained_tests(step) == ["1,25-dihydroxyvitamin D"]
    return step


@scenario
def test_child_on_furosemide_with_hypercalciuria_has_renal_calcium_wasting():
    """Urinary calcium high for age with low phosphate points to renal calcium loss, for
    example loop diuretics (Japanese flowchart; reference leaf U1). 1.4 mmol/mmol is above the
    0.2 mg/mg (0.56 mmol/mmol) limit used from 7 years."""
    step = workup(
        age={"value": 10, "unit": "years"},
        ionized_calcium=mmol(0.9),
        other_implicated_drug=True,
        kidney_disease=False,
        hungry_bone_setting=False,
        magnesium=mmol(0.8),
        pth=120,
        phosphate=mmol(1.2),
        vitamin_d_25oh=70,
        urine_calcium_creatinine_ratio=1.4,
    )
    assert step.node.id == "renal-calcium-wasting-result"
    assert first(step) == "renal_calcium_wasting"
    return step


@scenario
def test_hypocalcaemia_during_treatment_of_severe_rickets_is_hungry_bone():
    """Hypocalcaemia in rickets as 'bone hunger', needing continuous calcium weaned over about
    48 h (Starship; reference 1.17, leaf B1)."""
    step = workup(
        age={"value": 2, "unit": "years"},
        seizures=True,
        ionized_calcium=mmol(0.8),
        hungry_bone_setting=True,
        rickets_signs=True,
        kidney_disease=False,
        magnesium=mmol(0.7),
        pth=300,
        phosphate=mmol(0.8),
        vitamin_d_25oh=60,
    )
    assert step.node.id == "hungry-bone-result"
    assert first(step) == "hungry_bone"
    return step


# ================================================================ critical illness, drugs


@scenario
def test_picu_child_with_ionised_calcium_1_0_and_normal_pth_ranks_critical_illness():
    """PICU: ionised hypocalcaemia below 1.15 mmol/L in 77% (Dias 2013); 65% of hypocalcaemic
    children had absolute or relative hypoparathyroidism (Cardenas-Rivero; reference 1.19,
    leaf C1). 1.0 mmol/L is below the age limit but above 0.95: the workup goes on."""
    step = workup(
        age={"value": 8, "unit": "years"},
        ionized_calcium=mmol(1.0),
        critically_ill=True,
        magnesium=mmol(0.8),
        pth=25,
    )
    assert outcome(step, "calcium-confirmation").label.startswith("below the age-specific limit")
    assert step.node.id == "hypoparathyroidism-urine-unknown"
    assert first(step) == "critical_illness"
    return step


@scenario
def test_septic_infant_with_inappropriately_normal_pth():
    """Critical illness: functional hypoparathyroidism is common; magnesium, PTH and vitamin D
    are still checked (Cardenas-Rivero; Kelly & Levine; reference step 2.2)."""
    step = workup(
        age={"value": 3, "unit": "months"},
        seizures=True,
        ionized_calcium=mmol(0.85),
        critically_ill=True,
        magnesium=mmol(0.7),
        pth=30,
        urine_calcium_creatinine_ratio=0.5,
        phosphate=mmol(1.6),
    )
    assert step.node.id == "pth-indeterminate-result"  # PTH 30: the band where sources disagree
    assert first(step) == "critical_illness"
    return step


@scenario
def test_plasmapheresis_with_liver_failure_ranks_citrate_first():
    """Citrate hypocalcaemia is rare unless liver or renal function is impaired, or during
    plasma exchange or massive transfusion (Medscape; reference 1.19, leaf C2)."""
    step = workup(
        age={"value": 5, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.8),
        citrate_exposure=True,
        critically_ill=False,
        liver_disease=True,
        magnesium=mmol(0.75),
        pth=40,
        urine_calcium_creatinine_ratio=0.4,
    )
    assert step.node.id == "pth-indeterminate-result"  # PTH 40: the band where sources disagree
    assert first(step) == "citrate_chelation"
    return step


@scenario
def test_hyperventilating_teenager_with_alkalaemia():
    """Alkalosis lowers ionised calcium (Rudolph; reference 1.16, leaf C3); pH above 7.45 is
    above the normal range (Strange & Schafermeyer)."""
    step = workup(
        age={"value": 12, "unit": "years"},
        paresthesia=True,
        tetany=True,
        ionized_calcium=mmol(1.0),
        blood_ph=7.55,
        alkalosis=True,
        magnesium=mmol(0.8),
        pth=45,
        urine_calcium_creatinine_ratio=0.3,
    )
    assert step.node.id == "pth-indeterminate-result"  # PTH 45: the band where sources disagree
    assert first(step) == "alkalosis"
    return step


@scenario
def test_acute_pancreatitis_with_raised_pth():
    """Pancreatitis traps calcium as fatty-acid soaps (Decision Support; BMJ Best Practice;
    reference leaf C4). The raised-PTH workup still runs; calcitriol is not yet known."""
    step = workup(
        age={"value": 14, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.9),
        pancreatitis=True,
        kidney_disease=False,
        hungry_bone_setting=False,
        magnesium=mmol(0.8),
        pth=120,
        phosphate=mmol(1.2),
        vitamin_d_25oh=60,
        urine_calcium_creatinine_ratio=0.3,
    )
    assert step.node.id == "active-vitamin-d-not-known"
    assert first(step) == "pancreatitis"
    return step


@scenario
def test_child_on_a_bisphosphonate_with_normal_pth():
    """Drug-induced hypocalcaemia (bisphosphonates, cisplatin, aminoglycosides, PPIs) is often
    mild but can be severe and is easily missed (Liamis 2009; reference 1.19, leaf D)."""
    step = workup(
        age={"value": 11, "unit": "years"},
        paresthesia=True,
        ionized_calcium=mmol(0.9),
        other_implicated_drug=True,
        magnesium=mmol(0.8),
        pth=35,
        urine_calcium_creatinine_ratio=0.3,
    )
    assert step.node.id == "pth-indeterminate-result"  # PTH 35: the band where sources disagree
    assert first(step) == "drug_induced"
    return step


# =========================================================================== whole catalogue

CATALOGUE = [
    "hypocalcemia_not_confirmed",
    "pseudohypocalcemia",
    "early_neonatal_hypocalcemia",
    "late_neonatal_phosphate_load",
    "maternal_hyperparathyroidism",
    "hypermagnesemia",
    "hsh_trpm6",
    "fhhnc",
    "gitelman_spectrum",
    "acquired_hypomagnesemia",
    "del22q11",
    "autosomal_dominant_hypocalcemia",
    "isolated_genetic_hypoparathyroidism",
    "hdr_gata3",
    "tbce_hypoparathyroidism",
    "mitochondrial_hypoparathyroidism",
    "aps1",
    "acquired_hypoparathyroidism",
    "chronic_kidney_disease",
    "phosphate_load",
    "pseudohypoparathyroidism",
    "nutritional_vitamin_d_deficiency",
    "calcium_deficiency_rickets",
    "malabsorption",
    "liver_disease_25_hydroxylation",
    "anticonvulsant_induced",
    "vddr1b_cyp2r1",
    "vddr1a_cyp27b1",
    "vddr2_vdr",
    "renal_calcium_wasting",
    "hungry_bone",
    "critical_illness",
    "citrate_chelation",
    "alkalosis",
    "pancreatitis",
    "rhabdomyolysis",
    "tumor_lysis",
    "drug_induced",
]


def test_the_algorithm_uses_exactly_the_catalogue() -> None:
    """The 38 stable ids of shared/clinical/diagnoses.md, no more and no fewer."""
    assert len(CATALOGUE) == 38
    assert sorted(ALGORITHM.diagnoses) == sorted(CATALOGUE)


def test_every_catalogue_diagnosis_comes_first_in_some_scenario() -> None:
    """Every diagnosis of the catalogue must be reachable; here each one is the leading
    diagnosis of at least one scenario above."""
    leading = {first(run()) for run in SCENARIOS}
    missing = [dx for dx in CATALOGUE if dx not in leading]
    assert not missing, f"no scenario puts these first: {missing}"


def test_every_result_step_is_reached_by_some_scenario() -> None:
    """Each result of the tree is exercised by at least one scenario."""
    reached = {run().node.id for run in SCENARIOS}
    results = {n.id for n in ALGORITHM.nodes if isinstance(n, ResultNode)}
    assert not results - reached, f"results no scenario reaches: {sorted(results - reached)}"


def test_tests_to_obtain_name_what_a_step_needed_and_never_a_known_value() -> None:
    """Unknown magnesium always continues to PTH with magnesium among the tests to obtain
    (AccessMedicine: both low and high magnesium blunt PTH; reference step 3); values already
    given are never asked for again."""
    step = workup(
        age={"value": 9, "unit": "months"},
        seizures=True,
        total_calcium=mmol(1.6),
        pth=250,
        vitamin_d_25oh=12,
        alkaline_phosphatase=1200,
        phosphate=mmol(1.0),
    )
    assert first(step) == "nutritional_vitamin_d_deficiency"
    asked = [k for t in step.next_tests for k in t.findings]
    assert asked[0] == "magnesium"
    given = {"age", "total_calcium", "pth", "vitamin_d_25oh", "alkaline_phosphatase", "phosphate"}
    assert not given & set(asked)


# ================================================================ reviewed textbook presentations


def test_older_child_with_very_low_magnesium_has_acquired_loss_not_hsh() -> None:
    """HSH starts in the first months, always within the first year (Orphanet; reference leaf
    M2): at 14 years a very low magnesium points to acquired loss first."""
    step = workup(
        age={"value": 14, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.85),
        magnesium=mmol(0.35),
        potassium=3.9,
        urine_calcium_creatinine_ratio=0.2,
    )
    assert ranked(step).index("acquired_hypomagnesemia") < ranked(step).index("hsh_trpm6")


def test_infant_of_a_diabetic_mother_with_low_magnesium_is_acquired_loss() -> None:
    """Infant of a diabetic mother and growth restriction are acquired causes of low magnesium
    (Lange; RCH hypomagnesaemia; reference leaf M1): not the HSH leaf."""
    step = workup(
        age={"value": 36, "unit": "hours"},
        seizures=True,
        ionized_calcium=mmol(0.8),
        maternal_diabetes=True,
        magnesium=mmol(0.45),
        urine_calcium_creatinine_ratio=0.5,
        potassium=4.5,
    )
    assert step.node.id == "acquired-hypomagnesemia-result"
    assert first(step) == "acquired_hypomagnesemia"


def test_maternal_magnesium_sulfate_with_magnesium_not_measured_keeps_hypermagnesaemia() -> None:
    """Maternal magnesium sulfate can suppress the newborn's PTH (AccessMedicine; reference 3.2):
    with magnesium not yet measured, hypermagnesaemia stays in the differential."""
    step = workup(
        age={"value": 48, "unit": "hours"},
        ionized_calcium=mmol(0.9),
        maternal_magnesium_sulfate=True,
        magnesium="unknown",
    )
    assert "hypermagnesemia" in [d.id for d in step.differential if d.likely]


def test_pth_resistance_with_insufficient_not_deficient_vitamin_d_still_ranks_php() -> None:
    """PHP: raised PTH and phosphate with normal kidneys; replete vitamin D before calling it
    (Mantovani 2018; BMJ Best Practice): 25-OH vitamin D 40 nmol/L is insufficient, not deficient,
    so PHP stays first with the caution shown."""
    step = workup(
        age={"value": 8, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.85),
        magnesium=mmol(0.8),
        pth=350,
        phosphate=mmol(2.6),
        creatinine=45,
        vitamin_d_25oh=40,
    )
    assert first(step) == "pseudohypoparathyroidism"
    php = step.differential[0]
    assert any("deficiency can mimic" in a for a in php.against)


def test_school_child_with_low_pth_and_no_syndrome_has_isolated_hypoparathyroidism() -> None:
    """Non-surgical hypoparathyroidism without a syndrome beyond infancy: isolated genetic
    causes (OUH R153; Khan 2022); PTH below 30 pg/mL is deficient (Japanese criteria)."""
    step = workup(
        age={"value": 6, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.8),
        magnesium=mmol(0.8),
        pth=15,
        phosphate=mmol(2.4),
        urine_calcium_creatinine_ratio=0.3,
        features_22q11=False,
        deafness_or_renal_dysplasia=False,
        candidiasis_or_adrenal_insufficiency=False,
        neck_surgery=False,
    )
    assert first(step) == "isolated_genetic_hypoparathyroidism"


# ================================================================ issue 19: reasoning v3
# Faults found by a second audit (30 fresh textbook presentations, walked as a resident would);
# each scenario failed before the change it names.


def likely(step: object) -> list[str]:
    """The main list (the entries shown as likely), most likely first."""
    return [d.id for d in step.differential if d.likely]  # type: ignore[attr-defined]


def entry(step: object, dx_id: str):  # type: ignore[no-untyped-def]
    return next(d for d in step.differential if d.id == dx_id)  # type: ignore[attr-defined]


# ---- 1. calcium truly low before PTH is read


def test_hyperventilating_teenager_with_normal_ionised_calcium_is_not_hypoparathyroid() -> None:
    """A PTH below 30 pg/mL reads as inappropriately low only when calcium is truly low: with
    a normal ionised calcium (ARUP interval, reference 3.2) a hyperventilating teenager's
    tetany is alkalosis (Rudolph: alkalosis lowers ionised calcium, reference 1.16), not
    genetic hypoparathyroidism, and a binding problem does not cause tetany."""
    step = workup(
        age={"value": 15, "unit": "years"},
        tetany=True,
        alkalosis=True,
        ionized_calcium=mmol(1.18),
        total_calcium=mmol(2.05),
        pth=22,
    )
    assert step.node.id == "hypocalcemia-not-confirmed"  # not "Pseudohypocalcaemia": tetany
    ranking = ranked(step)
    assert "isolated_genetic_hypoparathyroidism" not in ranking
    assert "pseudohypocalcemia" not in likely(step)
    assert ranking[:2] == ["hypocalcemia_not_confirmed", "alkalosis"]


def test_nephrotic_child_with_tetany_is_not_called_pseudohypocalcaemia() -> None:
    """Pseudohypocalcaemia is a binding problem and causes no tetany (issue 19, class 1): a
    nephrotic child with carpopedal spasm, a low total calcium and no ionised calcium has true
    hypocalcaemia until shown otherwise (reference 1.12: ionised calcium to confirm)."""
    step = workup(
        age={"value": 5, "unit": "years"},
        tetany=True,
        nephrotic_syndrome=True,
        total_calcium=mmol(1.7),
        albumin=15,
    )
    assert "pseudohypocalcemia" not in likely(step)


@scenario
def test_nephrotic_child_without_ionised_calcium_is_not_given_a_genetic_label():
    """A low total calcium with a low albumin and no symptoms may be a binding problem, so a
    PTH of 20 pg/mL cannot yet be read as inappropriately low (ARUP: normal ionised calcium
    with low albumin is pseudohypocalcaemia, reference 1.15): the walk asks for an ionised
    calcium before the PTH steps."""
    step = workup(
        **NO_RED_FLAGS,
        age={"value": 6, "unit": "years"},
        nephrotic_syndrome=True,
        total_calcium=mmol(1.9),
        albumin=15,
        magnesium=mmol(0.85),
        pth=20,
    )
    assert step.node.id == "total-calcium-low-albumin"
    assert step.next_tests[0].findings == ("ionized_calcium",)
    assert first(step) == "pseudohypocalcemia"
    assert "isolated_genetic_hypoparathyroidism" not in likely(step)
    return step


# ---- 2. magnesium before a genetic label


@scenario
def test_low_pth_on_a_proton_pump_inhibitor_with_magnesium_unknown_asks_magnesium_first():
    """Long-term PPIs waste magnesium (RCH hypomagnesaemia, reference 1.17) and low magnesium
    suppresses PTH; the Japanese criteria exclude any case cured by magnesium before calling
    it hypoparathyroidism (reference 1.1). So a low PTH with magnesium not measured is
    provisional, magnesium is the first test, and magnesium loss leads, not a gene panel."""
    step = workup(
        age={"value": 13, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.85),
        other_implicated_drug=True,
        pth=9,
    )
    assert step.node.id == "hypoparathyroid-magnesium-unknown"
    assert isinstance(step.node, ResultNode) and step.node.provisional
    assert step.next_tests[0].findings == ("magnesium",)
    assert first(step) == "acquired_hypomagnesemia"
    genetic = entry(step, "isolated_genetic_hypoparathyroidism")
    assert any("magnesium not measured" in a for a in genetic.against)
    return step


def test_low_pth_after_cisplatin_keeps_magnesium_loss_in_the_list() -> None:
    """Cisplatin wastes magnesium (RCH hypomagnesaemia; Liamis 2009, reference 1.18): with
    magnesium not measured, magnesium loss joins the differential and leads it."""
    step = workup(
        age={"value": 9, "unit": "years"},
        seizures=True,
        total_calcium=mmol(1.6),
        albumin=38,
        other_implicated_drug=True,
        pth=6,
        phosphate=mmol(2.0),
    )
    assert first(step) == "acquired_hypomagnesemia"
    assert step.next_tests[0].findings == ("magnesium",)


# ---- 4. ranking


def test_a_syndrome_answered_no_is_not_among_the_likely_diagnoses() -> None:
    """A diagnosis whose every key finding the resident answered No to, with none present,
    is shown as less likely, not second (issue 19, class 4); every likely entry has evidence
    for it (a positive score)."""
    step = workup(
        age={"value": 8, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.8),
        magnesium=mmol(0.8),
        pth=5,
        phosphate=mmol(2.0),
        urine_calcium_creatinine_ratio=0.2,
        features_22q11=False,
        deafness_or_renal_dysplasia=False,
        candidiasis_or_adrenal_insufficiency=False,
        growth_failure_with_dysmorphism=False,
        mitochondrial_features=False,
        neck_surgery=False,
        iron_overload=False,
        wilson_disease=False,
    )
    assert step.node.id == "hypoparathyroidism-result"
    assert first(step) == "isolated_genetic_hypoparathyroidism"
    for ruled_out in ("del22q11", "hdr_gata3", "aps1", "acquired_hypoparathyroidism"):
        assert ruled_out not in likely(step), ruled_out
    assert all(d.score > 0 for d in step.differential if d.likely)


def test_a_drug_history_does_not_outweigh_the_key_finding_of_another_cause() -> None:
    """Supports and background never outweigh a key finding: a toddler on long-term
    phenobarbital with rickets has the anticonvulsant effect first (Richens 1970, reference
    1.18), above nutritional deficiency resting on supporting clues while 25-OH vitamin D is
    unknown."""
    step = workup(
        age={"value": 2, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.9),
        anticonvulsant_therapy=True,
        vitamin_d_risk=True,
        rickets_signs=True,
        alkaline_phosphatase=900,
    )
    assert first(step) == "anticonvulsant_induced"


@scenario
def test_kidney_injury_does_not_outrank_tumour_lysis_named_as_its_cause():
    """Tumour lysis releases phosphate that binds calcium and injures the kidney (CHOP TLS
    pathway; reference 1.17): the kidney injury is its consequence and is listed after it."""
    step = workup(
        age={"value": 7, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.9),
        magnesium=mmol(0.8),
        tumor_lysis=True,
        pth=95,
        phosphate=mmol(3.1),
        creatinine=150,
    )
    ranking = ranked(step)
    assert ranking.index("tumor_lysis") < ranking.index("chronic_kidney_disease")
    assert first(step) == "tumor_lysis"
    return step


def test_kidney_injury_does_not_outrank_rhabdomyolysis_named_as_its_cause() -> None:
    """Rhabdomyolysis releases phosphate from muscle and injures the kidney (reference 1.13):
    it stays above the kidney injury it causes."""
    step = workup(
        age={"value": 12, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.95),
        magnesium=mmol(0.8),
        rhabdomyolysis=True,
        pth=90,
        phosphate=mmol(2.6),
        creatinine=180,
    )
    ranking = ranked(step)
    assert ranking.index("rhabdomyolysis") < ranking.index("chronic_kidney_disease")


@scenario
def test_mildly_low_magnesium_in_critical_illness_stays_a_co_factor():
    """The magnesium step calls a magnesium at or above 0.5 mmol/L but below the age range a
    co-factor (Lange; reference 3.3): in a critically ill child, critical illness leads and
    magnesium loss stays in the list below it (Cardenas-Rivero: functional hypoparathyroidism
    in paediatric intensive care, reference 1.5)."""
    step = workup(
        age={"value": 5, "unit": "years"},
        seizures=True,
        critically_ill=True,
        ionized_calcium=mmol(0.9),
        magnesium=mmol(0.6),
        pth=20,
    )
    assert first(step) == "critical_illness"
    ranking = ranked(step)
    assert ranking.index("acquired_hypomagnesemia") > 0
    magnesium = entry(step, "acquired_hypomagnesemia")
    assert any("co-factor" in a for a in magnesium.against)
    return step


def test_a_tie_at_the_top_is_shown_as_a_tie_not_broken_by_the_leaf_order() -> None:
    """With nothing to separate them, the entries at the top are marked as tied and keep the
    catalogue's order, whatever order the result step lists them in (issue 19, class 4)."""
    step = workup(age={"value": 2, "unit": "years"}, tetany=True, ionized_calcium=mmol(0.9))
    assert step.node.id == "pth-not-known"
    top = step.differential[0]
    assert top.tied and step.differential[1].tied
    assert top.score == step.differential[1].score
    catalogue = list(ALGORITHM.diagnoses)
    tied = [d.id for d in step.differential if d.tied and d.score == top.score]
    assert tied == sorted(tied, key=catalogue.index)


def test_pancreatitis_leads_over_malabsorption_without_a_malabsorption_sign() -> None:
    """Acute pancreatitis traps calcium as soaps (reference 1.13). With no sign of malabsorption,
    a low 25-OH vitamin D and albumin do not lift malabsorption level with the named cause."""
    step = workup(
        age={"value": 10, "unit": "years"},
        tetany=True,
        pancreatitis=True,
        malabsorption_signs=False,
        ionized_calcium=mmol(0.9),
        magnesium=mmol(0.8),
        pth=90,
        phosphate=mmol(1.2),
        vitamin_d_25oh=40,
        albumin=30,
    )
    assert first(step) == "pancreatitis"
    assert "malabsorption" not in likely(step)


def test_massive_transfusion_keeps_citrate_at_the_top() -> None:
    """Citrate in transfused blood binds ionised calcium (reference 1.17, leaf C2): in a
    critically ill child after a massive transfusion, citrate shares the top with critical
    illness, and magnesium loss, not yet measured, stays below them."""
    step = workup(
        age={"value": 4, "unit": "years"},
        seizures=True,
        critically_ill=True,
        citrate_exposure=True,
        ionized_calcium=mmol(0.8),
    )
    ranking = ranked(step)
    assert "citrate_chelation" in ranking[:2]
    assert ranking.index("acquired_hypomagnesemia") > ranking.index("citrate_chelation")


def test_a_low_normal_pth_with_deficient_vitamin_d_in_an_infant_is_not_called_genetic() -> None:
    """Not every child with hypocalcaemia and a low-normal PTH has hypoparathyroidism (Singh
    2003, reference 1.11): a 40-day-old with a PTH of 25 pg/mL, inside the laboratory's range,
    a 25-OH vitamin D of 20 nmol/L and risk factors has vitamin D deficiency first."""
    step = workup(
        age={"value": 40, "unit": "days"},
        seizures=True,
        ionized_calcium=mmol(0.9),
        magnesium=mmol(0.8),
        pth=25,
        vitamin_d_25oh=20,
        vitamin_d_risk=True,
    )
    assert first(step) == "nutritional_vitamin_d_deficiency"
    ranking = ranked(step)
    assert ranking.index("isolated_genetic_hypoparathyroidism") > 0


# ---- 5. no calcium yet; the 72-hour edge; phosphate load in infancy


def test_seizing_three_day_old_with_no_labs_keeps_early_and_late_causes() -> None:
    """ "3 days" may be the third day of life (under 72 h) or three completed days: both early
    (infant of a diabetic mother, Vuralli 2019) and late causes stay in the list, the path asks
    the clues of both, and calcium comes first among the tests (issue 19, class 5)."""
    step = workup(
        age={"value": 3, "unit": "days"},
        seizures=True,
        maternal_diabetes=True,
        high_phosphate_feeding=True,
    )
    assert outcome(step, "neonatal-timing").next == "neonatal-edge-clues"
    assert step.node.id == "calcium-not-measured"
    ranking = ranked(step)
    assert "early_neonatal_hypocalcemia" in likely(step)
    assert "late_neonatal_phosphate_load" in ranking
    assert step.next_tests[0].findings == ("ionized_calcium",)


def test_early_neonatal_hypocalcaemia_stays_by_age_alone_while_risks_are_unknown() -> None:
    """In the first 72 hours early neonatal hypocalcaemia is the commonest cause (Vuralli 2019;
    BCGP neonatal, reference 4.3): a seizing 36-hour-old with a total calcium of 1.2 mmol/L and
    no risk factor recorded keeps it at the top, not maternal hyperparathyroidism on age
    alone."""
    step = workup(
        age={"value": 36, "unit": "hours"},
        seizures=True,
        total_calcium=mmol(1.2),
    )
    assert first(step) == "early_neonatal_hypocalcemia"


def test_a_named_maternal_cause_outranks_early_hypocalcaemia_kept_on_age_alone() -> None:
    """Early neonatal hypocalcaemia kept on age alone (risk factors unknown) stays in the list
    but below a cause whose key finding is given: a 40-hour-old of a mother with
    hyperparathyroidism (Pillai 2022, reference 1.9)."""
    step = workup(
        age={"value": 40, "unit": "hours"},
        seizures=True,
        total_calcium=mmol(1.5),
        maternal_hypercalcemia=True,
    )
    ranking = ranked(step)
    assert ranking[:2] == ["maternal_hyperparathyroidism", "early_neonatal_hypocalcemia"]


def test_formula_fed_six_week_old_with_high_phosphate_keeps_a_phosphate_load() -> None:
    """Cow's milk or a high-phosphate formula loads phosphate in infancy (findings vocabulary:
    high-phosphate feeding in infancy; reference leaf R2): past 28 days a feed with phosphate
    above the age range keeps a phosphate load in the differential."""
    step = workup(
        age={"value": 45, "unit": "days"},
        seizures=True,
        ionized_calcium=mmol(0.8),
        magnesium=mmol(0.75),
        high_phosphate_feeding=True,
        pth=80,
        phosphate=mmol(3.2),
        creatinine=20,
    )
    assert step.node.id == "phosphate-load-result"
    assert first(step) == "phosphate_load"


# ---- 3. creatinine read against paediatric limits


@scenario
def test_toddler_with_creatinine_60_has_kidney_disease_not_pth_resistance():
    """Creatinine rises with muscle: enzymatic medians 27 µmol/L at 4 years (Uemura 2011), about
    20 µmol/L in infancy (Boer 2010). 60 µmol/L at 2 years is kidney failure, which retains
    phosphate and raises PTH (reference 1.1, 1.15), not PTH resistance; the step shows the
    limit it used and asks to prefer the laboratory's range."""
    step = workup(
        age={"value": 2, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.85),
        magnesium=mmol(0.9),
        pth=240,
        phosphate=mmol(2.9),
        creatinine=60,
        vitamin_d_25oh=70,
    )
    assert outcome(step, "kidney-check").label == "creatinine above the age range"
    assert first(step) == "chronic_kidney_disease"
    assert ranked(step).index("pseudohypoparathyroidism") > 0
    creatinine = ALGORITHM.findings["creatinine"]
    assert "prefer your laboratory" in (creatinine.range_note or "").lower()
    return step


def test_six_month_old_with_creatinine_55_has_kidney_disease_first() -> None:
    """Boer 2010 (enzymatic): about 20 µmol/L from the second to the seventh month. 55 µmol/L
    at 6 months is nearly three times that: kidney disease leads, not PTH resistance."""
    step = workup(
        age={"value": 6, "unit": "months"},
        seizures=True,
        ionized_calcium=mmol(0.8),
        magnesium=mmol(0.8),
        pth=300,
        phosphate=mmol(3.0),
        creatinine=55,
        vitamin_d_25oh=60,
    )
    assert first(step) == "chronic_kidney_disease"


def test_a_school_child_with_a_normal_creatinine_is_not_called_kidney_disease() -> None:
    """The paediatric limit is not a hair trigger: 40 µmol/L at 9 years is below the enzymatic
    limit for age (0.6 mg/dL, 53 µmol/L), so PTH resistance stays first."""
    step = workup(
        age={"value": 9, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.85),
        magnesium=mmol(0.8),
        pth=350,
        phosphate=mmol(2.6),
        kidney_disease=False,
        creatinine=40,
        vitamin_d_25oh=70,
        albright_features=True,
    )
    assert outcome(step, "kidney-check").label == "kidney function normal"
    assert first(step) == "pseudohypoparathyroidism"


# ---- 6. flags wherever values are shown


def test_a_deficient_25_oh_vitamin_d_is_flagged_by_its_deficiency_band() -> None:
    """25-OH vitamin D has status bands, not a reference interval (Munns 2016: below 30 nmol/L
    deficient, 30-49.9 insufficient; reference 3.8): 12 nmol/L, the value that decides the case,
    is flagged deficient wherever values are shown."""
    from app.engine.handover import flag_text
    from app.engine.values import Quantity

    step = workup(
        age={"value": 9, "unit": "months"},
        seizures=True,
        total_calcium=mmol(1.6),
        magnesium=mmol(0.8),
        pth=250,
        phosphate=mmol(1.0),
        vitamin_d_25oh=12,
    )
    assert first(step) == "nutritional_vitamin_d_deficiency"
    patient = step.patient
    assert flag_text(ALGORITHM, "vitamin_d_25oh", Quantity(12, "nmol/L"), patient) == "deficient"
    assert flag_text(ALGORITHM, "vitamin_d_25oh", Quantity(40, "nmol/L"), patient) == (
        "insufficient"
    )
    assert flag_text(ALGORITHM, "vitamin_d_25oh", Quantity(30, "ng/mL"), patient) == (
        "within range"
    )


def test_no_for_age_flag_without_an_age() -> None:
    """A value judged against the widest band because no age was given is "low", not "low for
    age" (issue 19, class 6); with the age given it is read for age."""
    from app.engine.handover import flag_text
    from app.engine.values import Quantity

    no_age = workup(seizures=True, ionized_calcium=mmol(0.8), magnesium=mmol(0.4))
    assert flag_text(ALGORITHM, "magnesium", Quantity(0.4, "mmol/L"), no_age.patient) == "low"
    aged = workup(age={"value": 4, "unit": "years"}, seizures=True, magnesium=mmol(0.4))
    assert flag_text(ALGORITHM, "magnesium", Quantity(0.4, "mmol/L"), aged.patient) == (
        "low for age"
    )


def test_a_raised_magnesium_no_diagnosis_explains_is_listed_as_also_abnormal() -> None:
    """A magnesium above the age range but below the 2.1 mmol/L that suppresses PTH (RCPA
    range; AccessMedicine, reference 3.3) explains nothing on this path: the magnesium step
    only passed over it, so the handover lists it under "also abnormal"."""
    from app.engine.handover import also_abnormal

    step = workup(
        age={"value": 8, "unit": "years"},
        tetany=True,
        ionized_calcium=mmol(0.8),
        magnesium=mmol(1.6),
        pth=8,
        phosphate=mmol(2.0),
        urine_calcium_creatinine_ratio=0.2,
    )
    assert step.node.id == "hypoparathyroidism-result"
    abnormal = also_abnormal(step)
    assert "magnesium" in abnormal
    assert "ionized_calcium" not in abnormal and "pth" not in abnormal
