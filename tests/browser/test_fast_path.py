"""The 3 a.m. path in a real browser, as a resident would use it: on a 360x740 phone and at
1280 px, with JavaScript on and off.

Each test follows the visible controls (labels and buttons), not URLs, except where it needs a
known state to start from.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fhir_support import recent
from playwright.sync_api import Page, expect

from .conftest import TARGET

pytestmark = pytest.mark.browser

HEADING = "h1#step-title"
PHONE = {"width": 360, "height": 740}
WALK = f"/algorithms/{TARGET.algorithm_id}"


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways ({width}px)"


def continue_(page: Page) -> None:
    with page.expect_navigation():
        page.locator("form.step-form button.primary").click()


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_two_clicks_from_the_start_page_show_the_three_emergency_actions_on_a_phone(
    new_page, js: bool
) -> None:
    page = new_page(**PHONE, java_script_enabled=js)
    page.goto(WALK)
    clicks = 0
    page.get_by_label("Seizures").check()
    clicks += 1
    if js:
        page.locator("form.step-form button.primary").click()
        expect(page.locator(HEADING)).to_have_text(re.compile("Emergency"))
    else:
        continue_(page)
    clicks += 1
    assert clicks == 2
    actions = page.locator("ol.action-steps > li")
    # Seizing, age not yet given: bedside glucose first, in case this is a newborn.
    expect(actions).to_have_count(4)
    texts = actions.all_inner_texts()
    assert "bedside glucose" in texts[0]
    assert "monitor" in texts[1] and "IV access" in texts[1]
    assert "calcium gluconate" in texts[2] and "ECG" in texts[2]
    assert "magnesium" in texts[3].lower()
    bottom = actions.nth(3).evaluate("el => el.getBoundingClientRect().bottom")
    assert bottom <= PHONE["height"], f"the last action ends at {bottom}px, below the first screen"
    no_sideways_scroll(page)


def test_age_and_weight_give_the_default_volume_for_this_child(new_page) -> None:
    page = new_page(**PHONE)
    page.goto(WALK)
    page.get_by_label("Seizures").check()
    page.locator("form.step-form button.primary").click()
    expect(page.locator(HEADING)).to_have_text(re.compile("Emergency"))
    page.get_by_label("Age", exact=True).fill("9m")
    page.get_by_label("Weight", exact=True).fill("8.2")
    page.get_by_role("button", name="Show doses for this child").click()
    default = page.locator(".dose-card").first.locator(".dose-default")
    expect(default.locator(".volume")).to_have_text("4.1\u00a0mL")  # 0.5 mL/kg x 8.2 kg
    expect(default).to_contain_text("0.9 mmol")  # 4.1 mL x 0.22 mmol/mL
    expect(page.locator(".dose-cards h2")).to_contain_text("9 months")
    others = page.locator(".dose-card").first.locator(".dose-others")
    expect(others).to_contain_text("Capped at 10 mL")  # SA STG children, 1-2 mL/kg, max 10 mL
    expect(page.locator(".dose-cards")).not_to_contain_text("Newborns")  # not for 9 months
    expect(page.locator(HEADING)).to_have_text(re.compile("Emergency"))  # still on the step
    for number in page.locator(".dose-volume .num").all():
        lines = number.evaluate(
            "el => { const r = el.getClientRects(); return new Set([...r].map(x => x.top)).size; }"
        )
        assert lines == 1, f"{number.inner_text()!r} breaks across lines"
    no_sideways_scroll(page)
    page.get_by_role("button", name=re.compile("continue the workup")).click()
    expect(page.locator(HEADING)).not_to_have_text(re.compile("Emergency"))


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_an_age_typed_without_its_unit_is_asked_back(new_page, js: bool) -> None:
    page = new_page(java_script_enabled=js)
    flags = "seizures=no&laryngospasm=no&tetany=no&apnea=no&arrhythmia_or_long_qt=no"
    page.goto(f"{WALK}?{flags}&heart_failure=no&jitteriness=no&paresthesia=yes")
    expect(page.locator(HEADING)).to_have_text("Age")
    age = page.get_by_role("textbox", name="Age")
    age.fill("9")
    page.locator("form.step-form button.primary").click()
    error = page.locator(".field-error")
    expect(error).to_contain_text("months")
    if js:
        expect(page.locator(".error-summary")).to_be_focused()
    page.get_by_label("Unit of age").select_option("months")
    if js:
        page.get_by_label("Unit of age").press("Enter")  # Enter submits from the unit choice
    else:
        page.locator("form.step-form button.primary").click()
    expect(page.locator(HEADING)).not_to_have_text("Age")
    assert "age=9months" in page.url


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_labs_first_confirm_what_they_recorded_and_settle(new_page, js: bool) -> None:
    page = new_page(**PHONE, java_script_enabled=js)
    page.goto(WALK)
    link = page.get_by_role("link", name="I have lab results")
    expect(link).to_be_in_viewport()
    link.click()
    expect(page.locator(HEADING)).to_have_text("Lab results you already have")
    page.locator("#lab-input-age").fill("9m")
    page.locator("#lab-input-total_calcium").fill("1.6")
    page.locator("#lab-input-magnesium").fill("0.8")
    page.locator("#lab-input-pth").fill("250")
    page.get_by_role("button", name="Use these values").click()
    status = page.locator(".recorded")
    expect(status).to_contain_text("4 values recorded")
    expect(status).to_contain_text("low for age")
    expect(status).to_contain_text("Magnesium")  # the magnesium step is among those answered
    expect(page.locator(HEADING)).to_have_text("Red flags")
    expect(page.locator(".progress")).to_have_text(re.compile(r"Step 1 of about \d+"))


def test_a_refused_lab_value_puts_the_summary_first_and_names_the_field(new_page) -> None:
    page = new_page()
    page.goto(f"{WALK}/labs")
    page.locator("#lab-input-magnesium").fill("9")
    page.locator("#lab-input-magnesium").press("Enter")
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("magnesium")
    top = summary.evaluate("el => el.getBoundingClientRect().top")
    assert top < page.viewport_size["height"], "the error summary is below the first screen"


def test_the_result_puts_the_findings_first_and_prints_on_two_pages(new_page) -> None:
    page = new_page()
    query = (
        "seizures=yes&emergency_steps_reviewed=yes&age=9months&total_calcium=1.6mmol/L"
        "&magnesium=0.8mmol/L&pth=250pg/mL&phosphate=1mmol/L&vitamin_d_25oh=12nmol/L"
        "&alkaline_phosphatase=1200U/L&rickets_signs=yes"
    )
    response = page.request.post(
        f"/api/algorithms/{TARGET.algorithm_id}/walk",
        data={
            "findings": dict(
                (k, {"yes": True}.get(v, v)) for k, v in (p.split("=") for p in query.split("&"))
            )
            | {
                "age": {"value": 9, "unit": "months"},
                "total_calcium": {"value": 1.6, "unit": "mmol/L"},
                "magnesium": {"value": 0.8, "unit": "mmol/L"},
                "pth": 250,
                "phosphate": {"value": 1.0, "unit": "mmol/L"},
                "vitamin_d_25oh": 12,
                "alkaline_phosphatase": 1200,
            },
            "missing": "unknown",
        },
    )
    page.goto(response.json()["url"])
    findings = page.locator(".key-findings")
    expect(findings).to_contain_text("25-OH vitamin D")
    expect(findings).to_contain_text("1200 U/L")
    for value in ("1.6 mmol/L", "250 pg/mL", "12 nmol/L", "1200 U/L"):
        expect(findings).to_contain_text(value)
    order = page.evaluate(
        "() => ['.key-findings', 'ol.differential', '.obtain']"
        ".map(s => document.querySelector(s).getBoundingClientRect().top)"
    )
    assert order == sorted(order), "findings, then diagnoses, then tests to obtain"
    expect(page.locator("ol.differential > li.diagnosis").first).to_contain_text(
        "vitamin D deficiency"
    )
    pdf = page.pdf(format="A4")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 2, f"the summary prints on {pages} A4 pages"
    page.emulate_media(media="print")
    expect(page.locator(".ranking-note").first).to_be_hidden()  # no on-screen instructions
    expect(page.locator(".key-findings")).to_be_visible()


def test_the_phone_result_and_steps_never_scroll_sideways(new_page) -> None:
    page = new_page(**PHONE)
    page.goto(WALK)
    no_sideways_scroll(page)
    page.goto(f"{WALK}/labs")
    no_sideways_scroll(page)


def test_a_pasted_lab_report_is_recorded_and_confirmed(new_page) -> None:
    page = new_page()
    page.goto(f"{WALK}/labs")
    page.get_by_label("Paste results (optional)").fill(
        "Ca 1.6 mmol/L, Mg 0.8 mmol/L, PTH 250 pg/mL, 25(OH)D 12 nmol/L"
    )
    page.get_by_role("button", name="Use these values").click()
    status = page.locator(".recorded")
    expect(status).to_contain_text("4 values recorded")
    expect(status).to_contain_text("250 pg/mL")


FHIR = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"


def test_a_pasted_fhir_bundle_lands_on_the_step(new_page) -> None:
    page = new_page()
    page.goto(f"{WALK}/labs")
    page.get_by_role("textbox", name="FHIR JSON").fill(
        (FHIR / "blood-gas-analyser.json").read_text()
    )
    page.get_by_role("button", name="Import these results").click()
    expect(page.locator(HEADING)).to_have_text("Results read from the FHIR import")
    expect(page.locator(".fhir-used")).to_contain_text("20 Nov 2026 08:00 UTC")
    page.get_by_role("link", name="Continue with these results").click()
    status = page.locator(".recorded")
    expect(status).to_contain_text("0.78 mmol/L")
    assert "ionized_calcium=0.78mmol/L" in page.url
    expect(page.locator(HEADING)).to_have_text("Red flags")  # symptoms are still asked


def test_the_fhir_confirmation_fits_a_phone(new_page) -> None:
    page = new_page(**PHONE)
    page.goto(f"{WALK}/labs")
    page.get_by_role("textbox", name="FHIR JSON").fill(
        (FHIR / "superseded-and-preliminary.json").read_text()
    )
    page.get_by_role("button", name="Import these results").click()
    expect(page.locator(".fhir-left-out")).to_contain_text("Observation/pth-late")
    no_sideways_scroll(page)


def test_the_cds_hooks_card_opens_the_prefilled_step(new_page) -> None:
    page = new_page()
    bundle = recent(json.loads((FHIR / "blood-gas-analyser.json").read_text()))
    entries = bundle["entry"]
    request = {
        "hookInstance": "0b6e3f2a-5f69-4f39-9d4b-9a1d1c2d3e4f",
        "hook": "patient-view",
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
        "prefetch": {
            "patient": entries[0]["resource"],
            "labs": {"resourceType": "Bundle", "type": "searchset", "entry": entries[1:]},
        },
    }
    cards = page.request.post("/cds-services/hypocalcemia-workup", data=request).json()["cards"]
    link = cards[0]["links"][0]["url"]
    page.goto(link)
    expect(page.locator(HEADING)).to_have_text("Red flags")
    page.get_by_label("Seizures").check()
    page.locator("form.step-form button.primary").click()
    expect(page.locator(HEADING)).to_have_text(re.compile("Emergency"))
    expect(page.locator(".dose-cards h2")).to_contain_text(re.compile(r"Doses for \d"))  # age


def test_every_screen_of_the_3am_case_shows_its_main_action_on_a_phone(new_page) -> None:
    """Labs first, then the red flag, the emergency step and the context lists: on each screen
    the step's main action is on screen without scrolling (it sticks to the bottom)."""
    page = new_page(**PHONE)
    page.goto(f"{WALK}/labs")
    for key, value in {"age": "9m", "total_calcium": "1.6", "magnesium": "0.8"}.items():
        page.locator(f"#lab-input-{key}").fill(value)
    page.get_by_role("button", name="Use these values").click()
    expect(page.locator(HEADING)).to_have_text("Red flags")
    seen = []
    for _ in range(20):
        if page.locator("ol.differential").count():
            break
        heading = page.locator(HEADING).inner_text()
        seen.append(heading)
        action = page.locator("form.step-form > button.primary, form.step-form > .buttons").first
        box = action.bounding_box()
        assert box is not None and box["y"] >= 0, heading
        assert box["y"] + box["height"] <= PHONE["height"], f"{heading}: main action below the fold"
        if heading == "Red flags":
            page.get_by_label("Seizures").check()
        none = page.locator("form.step-form button.none-of-these")
        if none.count() and heading != "Red flags":
            none.click()
        else:
            for radio in page.locator("fieldset.field-choice input[value=unknown]").all():
                radio.check()
            page.locator("form.step-form button.primary").click()
        expect(page.locator(HEADING)).not_to_have_text(heading)
    assert page.locator("ol.differential").count(), seen
    assert "Calcium" not in seen  # answered by the labs form, empty fields counted not done
    no_sideways_scroll(page)
