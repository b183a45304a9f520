"""Teaching use in a real browser: presentation mode, the keyboard, the whole-tree map, print.

Each test asserts what a teacher at a projector (or a learner with a keyboard, a phone or a
printer) notices. The walk helpers (conftest.py) read each step's form, so these tests do not
know the tree.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Page, expect

from .conftest import INSTRUMENT, READ_FORM, axe_violations

pytestmark = pytest.mark.browser

HEADING = "h1#step-title"

# Values typed into lab fields during the keyboard walk (the others are left empty: not done).
TYPED = {"age": "400d", "ionized_calcium": "0.8"}  # age: the unit typed after the number

FOCUS_STYLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return {tag: el.tagName, id: el.id, type: el.getAttribute('type'),
          outlineStyle: style.outlineStyle, outlineWidth: style.outlineWidth,
          focusVisible: el.matches(':focus-visible')};
}"""


def with_query(url: str, **extra: str) -> str:
    """`url` with more query parameters, keeping the ones it has."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True) + list(extra.items())
    query = "&".join(f"{k}={v}" for k, v in pairs)
    return f"{parts.path}?{query}"


def assert_focus_visible(page: Page, where: str) -> dict:
    focus = page.evaluate(FOCUS_STYLE)
    assert focus is not None, f"{where}: nothing has focus"
    assert focus["focusVisible"], f"{where}: the focused {focus} does not match :focus-visible"
    assert focus["outlineStyle"] != "none" and focus["outlineWidth"] != "0px", (
        f"{where}: the focused element shows no outline: {focus}"
    )
    return focus


def swap_by_key(page: Page, key: str) -> None:
    """Press `key` and wait until htmx has swapped in the next step (no full page load)."""
    events = page.evaluate("() => window.__events || null")
    assert events is not None, "the page was fully reloaded: htmx did not do the swap"
    page.evaluate("() => document.getElementById('walk').setAttribute('data-stale', '')")
    page.keyboard.press(key)
    page.wait_for_selector("#walk:not([data-stale])", state="attached")
    page.wait_for_function(
        "n => window.__events && window.__events.settle > n", arg=events["settle"]
    )


def title_of(page: Page) -> str:
    return page.locator(HEADING).inner_text().strip()


# --------------------------------------------------------------------------- 1. presentation


def test_presentation_mode_enlarges_the_step_and_survives_a_step_change(page, make_walker, target):
    walk = make_walker(page)
    walk.open()
    expect(page.locator("header.site-header")).to_be_visible()
    normal = page.evaluate(
        "() => parseFloat(getComputedStyle(document.getElementById('step-title')).fontSize)"
    )

    walk.open("view=present")
    expect(page.locator("body")).to_have_class(re.compile(r"\bpresent\b"))
    present = page.evaluate(
        "() => parseFloat(getComputedStyle(document.getElementById('step-title')).fontSize)"
    )
    assert present > normal * 1.2, f"h1 is {present}px in presentation mode, {normal}px otherwise"
    expect(page.locator("header.site-header")).to_be_hidden()
    expect(page.locator("a.present-link")).to_have_text(re.compile("leave presentation", re.I))

    first = walk.title
    walk.step()
    assert walk.title != first, "the step did not change"
    assert ("view", "present") in parse_qsl(urlsplit(page.url).query), (
        f"the presentation flag was lost on the step change: {page.url}"
    )
    expect(page.locator("body")).to_have_class(re.compile(r"\bpresent\b"))
    # the address alone brings the presentation back (shared link, reload)
    page.reload()
    expect(page.locator("body")).to_have_class(re.compile(r"\bpresent\b"))
    expect(page.locator("header.site-header")).to_be_hidden()
    expect(page.locator(HEADING)).to_have_text(walk.title)


# --------------------------------------------------------------------------- 2. keyboard only


def test_keyboard_only_walk_to_a_differential_then_back_restart_and_map(page, target):
    page.goto(f"/algorithms/{target.algorithm_id}")
    page.wait_for_function("() => window.htmx !== undefined")
    page.evaluate(INSTRUMENT)
    first_title = title_of(page)
    keys = page.locator("p.keys")
    expect(keys).to_be_visible()

    titles: list[str] = []
    for _ in range(40):
        if page.locator("ol.differential").count():
            break
        expect(keys).to_be_visible()
        form = page.evaluate(READ_FORM)
        assert form is not None, f"no step form at {title_of(page)!r}"
        titles.append(title_of(page))
        groups = len(form["radios"]) + int(form["checklist"])
        if groups:
            # digits: "2" (No, or the second option) in every question, "1" ticks a checkbox
            for key, options in form["radios"].items():
                page.keyboard.press("2")
                checked = page.locator(f'form.step-form input[name="{key}"]:checked')
                expect(checked).to_have_value(options[1]["value"])
                assert_focus_visible(page, f"after choosing {key}")
            if form["checklist"]:
                # "0" goes to "None of these"; Enter presses it
                page.keyboard.press("0")
                expect(page.locator("form.step-form button.none-of-these")).to_be_focused()
                assert_focus_visible(page, "on None of these")
        for q in form["quantities"]:
            # Tab (from the heading, then field to field) to each lab field; type what is known
            for _ in range(30):
                if page.evaluate(
                    "k => document.activeElement.name === k"
                    " && !!document.activeElement.closest('form.step-form')",
                    q["key"],
                ):
                    break
                page.keyboard.press("Tab")
            else:
                pytest.fail(f"Tab never reached the field {q['key']!r} at {title_of(page)!r}")
            assert_focus_visible(page, f"in the lab field {q['key']}")
            if q["key"] in TYPED:
                page.keyboard.type(TYPED[q["key"]])
        swap_by_key(page, "Enter")
        assert page.locator(".field-error").count() == 0, (
            f"the keyboard answer was refused: {page.locator('.field-error').all_inner_texts()}"
        )
        assert page.evaluate("() => document.activeElement.id") == "step-title", (
            "focus did not move to the new step's heading"
        )
        assert_focus_visible(page, f"on the heading of {title_of(page)!r}")
    else:
        pytest.fail("no differential within 40 steps")
    assert titles, "the first page was already a result"
    expect(page.locator("ol.differential > li.diagnosis").first).to_be_visible()
    expect(keys).to_be_visible()

    # b: back one step
    swap_by_key(page, "b")
    expect(page.locator(HEADING)).to_have_text(titles[-1])
    expect(page.locator(HEADING)).to_be_focused()

    # r asks first; a second r within a few seconds starts again
    page.keyboard.press("r")
    expect(page.locator(".restart-confirm")).to_contain_text("Press R again")
    expect(page.locator(HEADING)).to_have_text(titles[-1])  # nothing lost yet
    swap_by_key(page, "r")
    expect(page.locator(HEADING)).to_have_text(first_title)
    expect(page.locator("aside.trail .empty")).to_be_visible()
    expect(page.locator(HEADING)).to_be_focused()

    # m: the map
    page.keyboard.press("m")
    page.wait_for_url(re.compile(rf"/algorithms/{re.escape(target.algorithm_id)}/map"))
    expect(page.locator(".map-tree")).to_be_visible()


# --------------------------------------------------------------------------- 3. the map

MAP_FACTS = """() => {
  const title = a => [...a.childNodes]
    .filter(n => !(n.classList && n.classList.contains('map-kind')))
    .map(n => n.textContent).join('').trim();
  const nodes = [...document.querySelectorAll('li.map-node')].map(li => ({
    classes: [...li.classList], current: li.getAttribute('aria-current'),
    title: title(li.querySelector(':scope > a.map-link')),
    branches_taken: (() => {
      for (let el = li.parentElement; el; el = el.parentElement) {
        if (el.matches('li.map-branch') && !el.classList.contains('taken')) return false;
      }
      return true;
    })(),
  }));
  const links = [...document.querySelectorAll('a.map-link')].map(a => {
    const href = a.getAttribute('href');
    const target = href.startsWith('#') ? document.getElementById(href.slice(1)) : null;
    const rationale = target ? [...target.querySelectorAll('p')].map(p => p.textContent.trim())
      .join(' ') : '';
    return {href, exists: !!target && target.id.startsWith('node-'), rationale};
  });
  return {nodes, links};
}"""

TRAIL_TITLES = """() => [...document.querySelectorAll('aside.trail li.trail-entry .trail-title')]
  .map(p => [...p.childNodes].filter(n => n.nodeType === Node.TEXT_NODE)
    .map(n => n.textContent).join('').trim())"""


def test_map_highlights_the_current_path(new_page, make_walker, target):
    page = new_page()
    walk = make_walker(page)
    walk.open()
    for _ in range(3):
        if walk.is_result():
            break
        walk.step()
    current_title = walk.title
    trail = page.evaluate(TRAIL_TITLES)
    assert trail, "the walk left no trail"
    query = urlsplit(page.url).query

    page.locator("a.map-open").click()
    page.wait_for_url(re.compile(rf"/algorithms/{re.escape(target.algorithm_id)}/map"))
    assert urlsplit(page.url).query == query, "the map does not carry the walk's state"
    facts = page.evaluate(MAP_FACTS)
    nodes = facts["nodes"]
    # Every check runs; the failure lists all problems at once.
    problems: list[str] = []

    on_path = {n["title"] for n in nodes if "on-path" in n["classes"]}
    missing = [t for t in trail if t not in on_path]
    if missing:
        problems.append(f"steps of the trail not marked on the map: {missing}")
    if not any("off-path" in n["classes"] for n in nodes):
        problems.append("no branch shown as not taken (.off-path)")

    # the current step: marked once, and on the highlighted path (every branch above it taken)
    current = [n for n in nodes if "current" in n["classes"]]
    if len(current) != 1:
        problems.append(
            f"{len(current)} nodes are marked as the current step (expected exactly one): "
            + ", ".join(
                f"{n['title']!r} under {'taken' if n['branches_taken'] else 'NOT taken'} branches"
                for n in current
            )
        )
    marked = [n for n in current if n["branches_taken"]] or current
    if not marked or marked[0]["title"] != current_title:
        problems.append(f"the current step is not {current_title!r}: {current}")
    elif marked[0]["current"] != "step" or "on-path" not in marked[0]["classes"]:
        problems.append(f"the current step lacks aria-current=step or .on-path: {marked[0]}")
    if current and not any(n["branches_taken"] for n in current):
        problems.append("the step marked current sits only under branches not taken")
    if page.locator('li.map-node[aria-current="step"]').count() != 1:
        problems.append("aria-current=step is not on exactly one node")

    links = facts["links"]
    broken = [link["href"] for link in links if not link["exists"]]
    empty = [link["href"] for link in links if link["exists"] and not link["rationale"]]
    if not links:
        problems.append("the map has no links")
    if broken:
        problems.append(f"map links to no rationale section: {broken[:10]}")
    if empty:
        problems.append(f"rationale sections without text: {empty[:10]}")
    # following a step's link brings its rationale into view
    link = page.locator("li.map-node.on-path > a.map-link").last
    href = link.get_attribute("href")
    link.click()
    expect(page.locator(str(href))).to_be_in_viewport()

    page.set_viewport_size({"width": 360, "height": 800})
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll_width > 360:
        problems.append(f"the map scrolls sideways at 360px ({scroll_width}px wide)")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- 4. print


def test_print_view_keeps_the_trail_and_differential_and_hides_the_controls(page, scenario):
    page.goto(scenario.result)
    print_button = page.locator("button.print-button")
    expect(print_button).to_be_visible()  # revealed by app.js on screen
    page.emulate_media(media="print")

    expect(page.locator("aside.trail")).to_be_visible()
    expect(page.locator("aside.trail li.trail-entry").first).to_be_visible()
    expect(page.locator("ol.differential").first).to_be_visible()
    expect(page.locator("ol.differential > li.diagnosis").first).to_be_visible()
    printed_on = page.locator(".printed-on")
    expect(printed_on).to_be_visible()
    expect(printed_on).to_contain_text(re.compile(r"version", re.I))
    expect(printed_on).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2}"))

    expect(page.locator("nav.step-nav")).to_be_hidden()
    expect(print_button).to_be_hidden()
    expect(page.locator("p.keys")).to_be_hidden()
    expect(page.locator("header.site-header")).to_be_hidden()
    for selector in ("form", "a.change-link"):
        for i in range(page.locator(selector).count()):
            expect(page.locator(selector).nth(i)).to_be_hidden()

    page.emulate_media(media="screen")
    expect(page.locator("nav.step-nav")).to_be_visible()


# --------------------------------------------------------------------------- 5. axe


@pytest.mark.parametrize("width", [1280, 360])
@pytest.mark.parametrize("name", ["map", "present_step"])
def test_no_axe_violations_on_teaching_pages(new_page, scenario, target, name, width):
    if name == "map":
        url = f"/algorithms/{target.algorithm_id}/map?{urlsplit(scenario.result).query}"
        page = new_page(width=width, height=800, bypass_csp=True)
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        expect(page.locator(".map-tree")).to_be_visible()
    else:
        url = with_query(scenario.first_question, view="present")
        page = new_page(width=width, height=800, bypass_csp=True)
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        expect(page.locator("body")).to_have_class(re.compile(r"\bpresent\b"))

    problems = axe_violations(page)
    assert not problems, f"{url} at {width}px\n{problems}"
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{url} scrolls sideways at {width}px ({scroll_width}px wide)"


def test_the_flowchart_opens_on_you_are_here(new_page, target) -> None:
    page = new_page(width=1920, height=1080, bypass_csp=True)
    query = (
        "seizures=yes&laryngospasm=no&tetany=no&apnea=no&arrhythmia_or_long_qt=no"
        "&heart_failure=no&jitteriness=no&paresthesia=no&emergency_steps_reviewed=yes"
        "&age=9months&total_calcium=1.6mmol/L&ionized_calcium=unknown&albumin=unknown"
        "&blood_ph=unknown"
    )
    page.goto(f"/algorithms/{target.algorithm_id}/map?{query}")
    chart = page.locator(".flowchart")
    expect(chart.locator("svg")).to_be_visible()
    here = chart.locator("g.node.current")
    expect(here).to_have_count(1)
    assert page.locator("g.node.onpath").count() >= 5
    box = here.bounding_box()
    frame = chart.bounding_box()
    assert box and frame
    inside = (
        frame["x"] <= box["x"] + box["width"] / 2 <= frame["x"] + frame["width"]
        and frame["y"] <= box["y"] + box["height"] / 2 <= frame["y"] + frame["height"]
    )
    assert inside, "the current step is not scrolled into view"
    widths = page.evaluate(
        """() => ['onpath', 'offpath'].map(c => parseFloat(getComputedStyle(
            document.querySelector(`.flowchart g.node.${c} path, .flowchart g.node.${c} polygon`)
          ).strokeWidth))"""
    )
    assert widths[0] >= 2 * widths[1], f"path and branches not told apart by weight: {widths}"
    problems = axe_violations(page)
    assert not problems, problems


# --------------------------------------------------------------------------- 6. teaching cases

CASE = "/cases/vdd-infant-tetany-bossing"


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_class_walks_a_case_predicting_then_revealing(new_page, js: bool) -> None:
    page = new_page(width=1920, height=1080, java_script_enabled=js)
    page.goto("/cases?view=present")
    page.get_by_role("link", name=re.compile("12-month-old boy")).click()
    expect(page.locator(".story")).to_contain_text("one-year-old boy")
    screens = 0
    predicted = 0
    for _ in range(30):
        if page.locator(".published").count():
            break
        screens += 1
        if page.locator("a.guess-link").count() and "reveal=yes" not in page.url:
            with page.expect_navigation():
                if js:
                    page.keyboard.press("1")  # the class's prediction
                else:
                    page.locator("a.guess-link").first.click()
            expect(page.locator("a.guess-link.chosen")).to_have_count(1)
            predicted += 1
        if page.locator("a.reveal-link").count():
            expect(page.locator(".revealed")).to_have_count(0)  # hidden until revealed
            with page.expect_navigation():
                if js:
                    page.keyboard.press(" ")
                else:
                    page.locator("a.reveal-link").first.click()
            if "reveal=yes" in page.url:
                expect(page.locator(".revealed")).to_be_visible()
            continue
        if page.locator("a.next-link").count():
            with page.expect_navigation():
                if js:
                    page.keyboard.press("n")
                else:
                    page.locator("a.next-link").first.click()
    expect(page.locator(".published")).to_contain_text("Nutritional vitamin D deficiency")
    assert screens > 8 and predicted >= 4
    assert "view=present" in page.url  # presentation mode kept through the case
    # Back steps back through the reveals
    page.go_back()
    expect(page.locator(".published")).to_have_count(0)


def test_presentation_mode_sizes_for_a_projected_room(new_page, target) -> None:
    page = new_page(width=1920, height=1080)
    flags = "seizures=no&laryngospasm=no&tetany=no&apnea=no&arrhythmia_or_long_qt=no"
    page.goto(
        f"/algorithms/{target.algorithm_id}?{flags}&heart_failure=no&jitteriness=yes"
        "&paresthesia=no&age=9months&view=present"
    )
    sizes = page.evaluate(
        """() => {
          const px = el => parseFloat(getComputedStyle(el).fontSize);
          const visible = el => el.offsetParent !== null && el.innerText && el.innerText.trim();
          const texts = [...document.querySelectorAll('main *')].filter(el =>
            visible(el) && [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()));
          return {
            question: Math.min(...[...document.querySelectorAll('.prompt, legend')].map(px)),
            smallest: Math.min(...texts.map(px)),
            rationale_top: document.querySelector('.rationale').getBoundingClientRect().top,
          };
        }"""
    )
    assert sizes["question"] >= 32, sizes
    assert sizes["smallest"] >= 24, sizes
    assert sizes["rationale_top"] < 1080, "the rationale is below the first screen"
    expect(page.locator("p.keys")).to_be_visible()


@pytest.mark.parametrize("path", ["/cases", CASE + "?step=3&guess=0&reveal=yes", CASE + "?step=99"])
def test_teaching_pages_pass_axe_on_a_projector(new_page, path: str) -> None:
    page = new_page(width=1920, height=1080, bypass_csp=True)
    response = page.goto(path + ("&" if "?" in path else "?") + "view=present")
    assert response is not None and response.status in (200, 400)
    problems = axe_violations(page)
    assert not problems, problems


# --------------------------------------------------------------------------- other keyboards

PRESS = """([key, code]) => (document.activeElement || document.body).dispatchEvent(
  new KeyboardEvent('keydown', {key, code, bubbles: true, cancelable: true}))"""


def test_shortcuts_work_from_an_arabic_or_cyrillic_keyboard(page: Page, make_walker) -> None:
    """On an Arabic layout the digit row types ١, ٢…; on a Cyrillic one the B key types и. The
    shortcuts follow the key's place, so a class abroad drives the walk the same way."""
    walker = make_walker(page)
    walker.open()
    form = walker.until(lambda f: bool(f.radios) or f.checklist)
    first_title = walker.title
    first_input = page.locator(
        "form.step-form input[type=radio], form.step-form input[type=checkbox]:not([name=all])"
    ).first
    expect(first_input).not_to_be_checked()
    page.evaluate(PRESS, ["١", "Digit1"])  # Arabic-Indic one
    expect(first_input).to_be_checked()

    walker.step(None if form.radios else {form.checkboxes[0]: "yes"})
    expect(page.locator(HEADING)).not_to_have_text(first_title)
    page.evaluate("() => document.getElementById('walk').setAttribute('data-stale', '')")
    page.evaluate(PRESS, ["и", "KeyB"])  # Cyrillic layout, the key where B sits
    page.wait_for_selector("#walk:not([data-stale])", state="attached")
    expect(page.locator(HEADING)).to_have_text(first_title)
