"""axe-core finds no violations (of any impact) on the main pages, at desktop and phone width.

axe is injected with `add_script_tag`, which the app's CSP (`script-src 'self'`) would block,
so these pages are opened in a context with `bypass_csp=True`; every other browser test keeps
the CSP on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import axe_violations

pytestmark = pytest.mark.browser

EMERGENCY = (
    "/algorithms/hypocalcemia?seizures=yes&laryngospasm=no&tetany=no&apnea=no"
    "&arrhythmia_or_long_qt=no&heart_failure=no&jitteriness=no&paresthesia=no"
    "&age=9months&weight=8.2kg"
)
PAGES = {
    "start": ("/", 200),
    "first_question": (None, 200),
    "lab_error": (None, 422),
    "result": (None, 200),
    "emergency": (EMERGENCY, 200),
    "labs": ("/algorithms/hypocalcemia/labs", 200),
    "labs_refused": ("/algorithms/hypocalcemia?from=*labs&magnesium=9&unit.magnesium=mmol/L", 422),
}


@pytest.mark.parametrize("width", [1280, 360])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_axe_violations(new_page, scenario, name, width):
    path, status = PAGES[name]
    url = path or getattr(scenario, name)
    page = new_page(width=width, height=800, bypass_csp=True)
    response = page.goto(url)
    assert response is not None and response.status == status, url
    if name == "lab_error":
        assert page.locator(".field-error").count() > 0
    if name == "result":
        assert page.locator("ol.differential > li.diagnosis").count() > 0

    problems = axe_violations(page)
    assert not problems, f"{url} at {width}px\n{problems}"

    if width == 360:
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
        assert scroll_width <= 360, f"{url} scrolls sideways at 360px ({scroll_width}px wide)"


def test_a_right_to_left_page_mirrors_its_marks(new_page) -> None:
    """The planned Arabic interface: with `dir="rtl"` the red bar of a refused field sits at
    the start of the line, on the right, and the skip link waits off the right-hand edge
    (logical CSS properties)."""
    page = new_page(360, 740)
    page.goto(PAGES["labs_refused"][0])
    sides = """() => {
      document.documentElement.dir = 'rtl';
      const field = getComputedStyle(document.querySelector('.has-error'));
      const skip = getComputedStyle(document.querySelector('.skip-link'));
      return {bar: [field.borderLeftWidth, field.borderRightWidth],
              skip: [skip.left, skip.right]};
    }"""
    marks = page.evaluate(sides)
    assert marks["bar"] == ["0px", "5px"], marks
    assert marks["skip"][1] == "-9999px" and marks["skip"][0] != "-9999px", marks


FHIR_BUNDLE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "fhir" / "superseded-and-preliminary.json"
)


def _fits(page, width: int) -> None:
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} scrolls sideways at {width}px ({scroll_width}px)"


@pytest.mark.parametrize("width", [1280, 360])
def test_the_fhir_confirmation_and_the_import_rules_have_no_axe_violations(new_page, width):
    page = new_page(width=width, height=800, bypass_csp=True)
    page.goto("/about")
    assert page.locator("ol.import-rules > li").count() > 0
    problems = axe_violations(page)
    assert not problems, f"/about at {width}px\n{problems}"
    _fits(page, width)
    page.goto("/algorithms/hypocalcemia/labs")
    page.get_by_role("textbox", name="FHIR JSON").fill(FHIR_BUNDLE.read_text())
    page.get_by_role("button", name="Import these results").click()
    page.locator(".fhir-left-out").wait_for()
    problems = axe_violations(page)
    assert not problems, f"FHIR confirmation at {width}px\n{problems}"
    _fits(page, width)
