"""The walkthrough in a real browser, as a user notices it: steps, URLs, Back, links, focus.

The walk helpers (conftest.py) read each step's form, so these tests do not know the tree.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SITE = " · Hypocalcemia workup"
HEADING = "h1#step-title"


def test_walk_with_htmx_pushes_one_url_per_step_without_reloading(page, make_walker):
    walk = make_walker(page)
    walk.open()
    expect(page).to_have_title(walk.title + SITE)
    page.evaluate("() => { window.__marker = 'still the first page'; }")
    urls = [page.url]
    for _ in range(60):
        if walk.is_result():
            break
        before = {"url": page.url, "length": walk.history_length(), "pushes": walk.events()["push"]}
        walk.step()
        assert walk.last_response.request.headers.get("hx-request") == "true", (
            "the step form was not submitted by htmx"
        )
        expect(page).not_to_have_url(before["url"])
        assert "from=" not in page.url, f"the address bar shows the form request: {page.url}"
        assert walk.history_length() == before["length"] + 1, "the step was not pushed to history"
        assert walk.events()["push"] == before["pushes"] + 1
        expect(page).to_have_title(walk.title + SITE)
        assert page.evaluate("() => window.__marker") == "still the first page", (
            f"full page load at {walk.title!r}: htmx did not swap the step"
        )
        urls.append(page.url)
    else:
        pytest.fail("no result reached")
    assert len(set(urls)) == len(urls), f"a step URL repeats: {urls}"
    assert page.locator("ol.differential > li.diagnosis").count() > 0
    assert page.evaluate("() => window.__marker") == "still the first page"


def test_walk_without_javascript_uses_plain_form_gets(new_page, make_walker):
    page = new_page(java_script_enabled=False)
    walk = make_walker(page, js=False)
    walk.open()
    steps = 0
    while not walk.is_result():
        before = page.url
        walk.step()
        steps += 1
        assert steps < 60, "no result reached"
        assert walk.last_response.status == 303
        assert walk.last_response.request.headers.get("hx-request") is None
        assert page.url != before
        assert "from=" not in page.url, f"not redirected to the step's own URL: {page.url}"
        assert page.title() == walk.title + SITE
    assert page.locator("ol.differential > li.diagnosis").count() > 0
    assert page.locator("aside.trail li.trail-entry").count() >= steps


def test_back_shows_the_previous_step_and_reload_keeps_it(page, make_walker):
    walk = make_walker(page)
    walk.open()
    walk.step()
    previous = walk.form()
    assert previous is not None, "the walkthrough ended after one step"
    walk.step()
    assert page.url != previous.url, "the next step has no address of its own"

    page.go_back()
    expect(page).to_have_url(previous.url)
    expect(page.locator(HEADING)).to_have_text(previous.title)
    for name in previous.names:
        expect(page.locator(f'form.step-form [name="{name}"]').first).to_be_visible()
    expect(page.locator("form.step-form button[type=submit].primary")).to_be_visible()

    page.reload()
    walk.ready()
    expect(page).to_have_url(previous.url)
    expect(page.locator(HEADING)).to_have_text(previous.title)
    for name in previous.names:
        expect(page.locator(f'form.step-form [name="{name}"]').first).to_be_visible()


def test_copied_url_opens_the_same_step_in_a_new_browser(page, new_page, make_walker):
    walk = make_walker(page)
    walk.open()
    walk.step()
    walk.step()
    copied, title, trail = page.url, walk.title, walk.trail()
    assert trail, "no answers in the trail after two steps"

    other = new_page()  # a new context: no shared history, storage or cache
    response = other.goto(copied)
    assert response is not None and response.status == 200
    fresh = make_walker(other)
    assert other.url == copied
    assert fresh.title == title
    assert fresh.trail() == trail


def test_change_an_earlier_answer_from_the_trail(page, make_walker):
    walk = make_walker(page)
    walk.open()
    first = walk.until(lambda form: form.checklist)
    steps_before = len(walk.history)
    walk.step()  # "None of these"
    walk.step()  # one more step, so the change is to an earlier answer

    entry = (
        page.locator("aside.trail li.trail-entry")
        .filter(has=page.locator(".trail-title", has_text=first.title))
        .first
    )
    change = entry.locator("a.change-link")
    if steps_before == 0:  # the first step asks a question: its link is the first one
        expect(page.locator("a.change-link").first).to_have_attribute(
            "href", change.get_attribute("href") or ""
        )
    change.click()
    expect(page.locator(HEADING)).to_have_text(first.title)
    for name in first.checkboxes:  # answered "None of these": nothing ticked
        expect(page.locator(f'input[type=checkbox][name="{name}"]')).not_to_be_checked()

    key = first.checkboxes[-1]  # the last item of the list, ticked this time
    form = walk.form()
    assert form is not None
    walk.fill(form, {key: "yes"})
    response = walk.submit()
    assert response.status == 303
    assert f"{key}=yes" in page.url and "edit=" not in page.url
    expect(page.locator(HEADING)).to_have_text(walk.title)


def test_focus_moves_to_the_new_step_heading(page, make_walker):
    walk = make_walker(page)
    walk.open()
    walk.step()
    assert walk.events() is not None, "full page load instead of an htmx swap"
    expect(page.locator(HEADING)).to_be_focused()
    assert page.evaluate("() => document.activeElement.id") == "step-title"


def test_impossible_lab_value_is_refused_beside_the_field(page, make_walker):
    walk = make_walker(page)
    walk.open()
    lab = walk.until_lab()
    url, length, pushes = page.url, walk.history_length(), walk.events()["push"]
    key, value = walk.impossible_entry(lab)
    walk.fill(lab, {key: value})
    response = walk.submit()

    assert response.status == 422
    error = page.locator(f"#field-{key} .field-error")
    expect(error).to_be_visible()
    assert error.inner_text().strip()
    field = page.locator(f'form.step-form input[name="{key}"]')
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value(value[0] if isinstance(value, tuple) else value)
    error_id = error.get_attribute("id")
    assert error_id and error_id in (field.get_attribute("aria-describedby") or "").split()
    # beside the field: the message sits just above the input, not in a far-away banner
    box_error, box_field = error.bounding_box(), field.bounding_box()
    assert box_error and box_field and 0 <= box_field["y"] - box_error["y"] < 200
    expect(page.locator(HEADING)).to_have_text(lab.title)
    assert page.url == url, "the refused request was pushed to the address bar"
    assert walk.history_length() == length
    assert walk.events()["push"] == pushes

    # correcting it (leaving the field empty: not done) moves on and pushes a step again
    form = walk.form()
    assert form is not None
    walk.fill(form, {key: ""})
    assert walk.submit().status == 303
    expect(page).not_to_have_url(url)
    assert walk.history_length() == length + 1
