"""The emergency dose card in a real browser on a 360x740 phone: the default calcium volume on
the first screen once age and weight are in, bedside glucose first for a seizing newborn, a
tenfold weight slip asked back, and the values given changing the card (issue 15, items 7-8)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import TARGET
from .test_fast_path import HEADING, PHONE, WALK, no_sideways_scroll

pytestmark = pytest.mark.browser

FLAGS = "seizures=yes&laryngospasm=no&tetany=no&apnea=no&arrhythmia_or_long_qt=no"
EMERGENCY = f"{WALK}?{FLAGS}&heart_failure=no&jitteriness=no&paresthesia=no"


def bottom(page: Page, selector: str) -> float:
    return page.locator(selector).first.evaluate("el => el.getBoundingClientRect().bottom")


def screen_end(page: Page) -> float:
    """Where the first screen ends above the step's sticky action bar."""
    bar = page.locator("form.step-form > button.primary")
    return bar.evaluate("el => el.getBoundingClientRect().top") if bar.count() else PHONE["height"]


def enter(page: Page, age: str, weight: str) -> None:
    page.get_by_label("Age", exact=True).fill(age)
    page.get_by_label("Weight", exact=True).fill(weight)
    page.get_by_role("button", name="Show doses for this child").click()


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_the_9kg_infant_s_default_calcium_volume_is_on_the_first_phone_screen(
    new_page, js: bool
) -> None:
    page = new_page(**PHONE, java_script_enabled=js)
    page.goto(EMERGENCY)
    expect(page.locator(HEADING)).to_have_text(re.compile("Emergency"))
    page.get_by_label("Age", exact=True).fill("9")
    page.locator("#unit-age").select_option("months")
    page.get_by_label("Weight", exact=True).fill("9")
    page.get_by_role("button", name="Show doses for this child").click()
    volume = page.locator("#dose-calcium_gluconate_10 .dose-default .volume")
    expect(volume).to_have_text("4.5\u00a0mL")
    expect(page.locator("#dose-calcium_gluconate_10 .dose-default")).to_contain_text(
        "0.99 mmol calcium"
    )
    assert bottom(page, "#dose-calcium_gluconate_10 .dose-default .volume") <= screen_end(page)
    # The age and weight fold away once filled; the safety points are not folded.
    expect(page.get_by_label("Age", exact=True)).to_be_hidden()
    expect(page.locator("#dose-calcium_gluconate_10 .dose-safety")).to_be_visible()
    expect(page.locator("#dose-calcium_gluconate_10 .dose-safety")).to_contain_text(
        "calcinosis cutis"
    )
    no_sideways_scroll(page)


def test_a_seizing_3kg_newborn_gets_glucose_first_and_the_volume_on_screen(new_page) -> None:
    page = new_page(**PHONE)
    page.goto(f"{EMERGENCY}&age=3days&weight=3kg")
    first = page.locator(".action-steps li").first
    expect(first).to_contain_text("bedside glucose")
    assert bottom(page, ".action-steps li") <= PHONE["height"]
    default = page.locator("#dose-calcium_gluconate_10 .dose-default")
    expect(default.locator(".volume")).to_have_text("7.5\u00a0mL")  # of the 1 in 5 dilution
    expect(default).to_contain_text("= 1.5\u00a0mL of Calcium gluconate 10%")
    assert bottom(page, "#dose-calcium_gluconate_10 .dose-default .volume") <= screen_end(page)
    expect(page.locator("#dose-calcium_chloride_10")).to_contain_text("not for newborns")
    no_sideways_scroll(page)


def test_a_tenfold_weight_slip_is_asked_back_before_any_volume(new_page) -> None:
    page = new_page(**PHONE)
    page.goto(EMERGENCY)
    page.get_by_label("Age", exact=True).fill("3")
    page.locator("#unit-age").select_option("days")
    page.get_by_label("Weight", exact=True).fill("35")
    page.get_by_role("button", name="Show doses for this child").click()
    check = page.locator(".weight-check")
    expect(check).to_contain_text("Check the weight: 35 kg for 3 days? Did you mean 3.5 kg?")
    expect(check).to_contain_text("far outside the growth reference")
    expect(page.locator(".dose-cards .volume")).to_have_count(0)
    assert bottom(page, ".weight-check .weight-suggestion") <= screen_end(page)
    page.get_by_role("link", name="Use 3.5 kg").click()
    expect(page.locator("#dose-calcium_gluconate_10 .dose-default .volume")).to_have_text(
        "8.8\u00a0mL"  # 0.5 mL/kg x 3.5 kg = 1.75 mL of 10%, made up to 8.75 mL
    )
    page.go_back()
    expect(check).to_be_visible()
    page.get_by_role("link", name="35 kg is right").click()
    expect(page.locator(".dose-cards")).to_contain_text("confirmed as right")
    expect(page.locator(".dose-cards")).to_contain_text("worked for 6.1 kg")
    expect(page.locator("#dose-calcium_gluconate_10 .dose-default .volume")).to_have_text(
        "15.3\u00a0mL"  # 0.5 mL/kg x 6.1 kg diluted 1 in 5, not 17.5 mL of 10%
    )


def test_high_magnesium_and_phosphate_change_the_card(new_page) -> None:
    page = new_page(**PHONE)
    page.goto(f"{EMERGENCY}&age=9months&weight=9kg&magnesium=2.5mmol/L&phosphate=3.5mmol/L")
    magnesium = page.locator("#dose-magnesium_sulfate_50")
    expect(magnesium).to_contain_text("Magnesium is high: give none")
    expect(magnesium.locator(".volume")).to_have_count(0)
    phosphate = page.locator("#dose-calcium_gluconate_10 .dose-safety li").first
    expect(phosphate).to_contain_text("Phosphate is high")
    expect(phosphate).to_be_visible()


def test_a_weight_without_an_age_asks_for_the_age(new_page) -> None:
    page = new_page(**PHONE)
    page.goto(f"{EMERGENCY}&weight=60kg")
    expect(page.locator(".dose-need")).to_contain_text("Give the age")
    expect(page.locator(".dose-cards .volume")).to_have_count(0)
    assert TARGET.algorithm_id == "hypocalcemia"
