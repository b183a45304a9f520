"""The walkthrough pages with the test client (tiny fixture algorithm)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

NOTICE = "does not replace, clinical judgment"


def test_start_page_lists_algorithms_with_the_notice(tiny_client: TestClient) -> None:
    r = tiny_client.get("/")
    assert r.status_code == 200
    assert 'href="/algorithms/tiny"' in r.text
    assert NOTICE in r.text


def test_first_step_is_a_real_form_that_works_without_javascript(tiny_client: TestClient) -> None:
    r = tiny_client.get("/algorithms/tiny")
    assert r.status_code == 200
    assert r.template == "walk.html"  # type: ignore[attr-defined]
    view = r.context["view"]  # type: ignore[attr-defined]
    assert view.node.id == "symptoms"
    assert [f.key for f in view.fields] == ["seizures"]
    assert [o.value for o in view.fields[0].options] == ["yes", "no", "unknown"]
    assert re.search(r'<form[^>]*\smethod="get"[^>]*\saction="/algorithms/tiny"', r.text)
    assert "<legend>Seizures</legend>" in r.text
    assert 'name="from" value="symptoms"' in r.text
    assert "<title>Symptoms · Hypocalcemia workup</title>" in r.text
    assert NOTICE in r.text
    assert r.headers["cache-control"] == "no-store"
    assert "set-cookie" not in r.headers


def test_submitting_a_step_redirects_to_the_canonical_url(tiny_client: TestClient) -> None:
    r = tiny_client.get("/algorithms/tiny?from=symptoms&seizures=no", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/algorithms/tiny?seizures=no"
    page = tiny_client.get(r.headers["location"])
    assert '<h1 id="step-title" tabindex="-1">Feeding</h1>' in page.text


def test_non_canonical_spelling_is_redirected(tiny_client: TestClient) -> None:
    r = tiny_client.get("/algorithms/tiny?seizures=NO&magnesium=0.80+MG/DL", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/algorithms/tiny?seizures=no&magnesium=0.8mg/dL"


def test_missing_answer_reshows_the_step_with_the_message(tiny_client: TestClient) -> None:
    r = tiny_client.get("/algorithms/tiny?seizures=no&from=patient")
    assert r.status_code == 422
    assert "choose an answer" in r.text
    assert 'id="field-feeding"' in r.text
    assert r.headers["hx-push-url"] == "false"


def test_impossible_lab_value_is_reshown_beside_the_field(tiny_client: TestClient) -> None:
    r = tiny_client.get(
        "/algorithms/tiny?seizures=no&feeding=breast&from=labs&age=2&unit.age=months"
        "&magnesium=9&unit.magnesium=mmol/L"
    )
    assert r.status_code == 422
    assert 'aria-invalid="true"' in r.text
    assert "9 looks like a value in mg/dL" in r.text
    assert 'value="9"' in r.text  # what was typed stays in the field
    assert 'value="2"' in r.text


def test_result_page_shows_the_ranked_differential_with_reasons(tiny_client: TestClient) -> None:
    r = tiny_client.get(
        "/algorithms/tiny?seizures=no&feeding=formula&age=2months&magnesium=0.3mmol/L"
    )
    assert r.status_code == 200
    ids = re.findall(r'data-dx="([a-z_]+)"', r.text)
    assert ids == ["very_low_mg", "low_mg"]
    assert "key: magnesium very low." in r.text
    assert "Supports: formula fed." in r.text
    assert "Tests that separate it:" in r.text
    assert "low for age" in r.text  # the lab flag in the trail


def test_trail_offers_a_change_link_per_answered_step(tiny_client: TestClient) -> None:
    r = tiny_client.get("/algorithms/tiny?seizures=no&feeding=formula")
    assert 'href="/algorithms/tiny?seizures=no&amp;feeding=formula&amp;edit=symptoms"' in r.text
    assert 'href="/algorithms/tiny?seizures=no&amp;feeding=formula&amp;edit=patient"' in r.text
    edit = tiny_client.get("/algorithms/tiny?seizures=no&feeding=formula&edit=symptoms")
    assert edit.status_code == 200
    view = edit.context["view"]  # type: ignore[attr-defined]
    assert [o.value for o in view.fields[0].options if o.checked] == ["no"]
    assert ("feeding", "formula") in view.hidden  # later answers kept as hidden fields


def test_back_link_reopens_the_previous_step(tiny_client: TestClient) -> None:
    r = tiny_client.get("/algorithms/tiny?seizures=no&feeding=formula")
    view = r.context["view"]  # type: ignore[attr-defined]
    assert view.back_url == "/algorithms/tiny?seizures=no&feeding=formula&edit=patient"
    assert 'href="/algorithms/tiny?seizures=no&amp;feeding=formula&amp;edit=patient"' in r.text


def test_tampered_url_gets_a_clear_400_with_a_way_on(tiny_client: TestClient) -> None:
    r = tiny_client.get("/algorithms/tiny?seizures=no&magnesium=<script>alert(1)</script>")
    assert r.status_code == 400
    assert "<script>alert(1)" not in r.text
    assert "Continue without the value of" in r.text
    assert 'href="/algorithms/tiny?seizures=no"' in r.text


def test_unknown_algorithm_is_a_404_page(tiny_client: TestClient) -> None:
    r = tiny_client.get("/algorithms/nothing-here")
    assert r.status_code == 404
    assert "There is no algorithm called" in r.text


def test_overlong_query_is_refused(tiny_client: TestClient) -> None:
    r = tiny_client.get("/algorithms/tiny?" + "x" * 5000)
    assert r.status_code == 414


def test_static_assets_are_cache_busted_and_cacheable(tiny_client: TestClient) -> None:
    page = tiny_client.get("/algorithms/tiny").text
    css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]{12})"', page)
    assert css
    r = tiny_client.get(css.group(1))
    assert r.status_code == 200
    assert "immutable" in r.headers["cache-control"]
    assert re.search(r'src="/static/vendor/htmx-4\.0\.1\.min\.js\?v=[0-9a-f]{12}"', page)


def test_health_check(tiny_client: TestClient) -> None:
    assert tiny_client.get("/healthz").json() == {"status": "ok"}


def test_map_shows_the_whole_tree_with_the_current_path(tiny_client: TestClient) -> None:
    r = tiny_client.get("/algorithms/tiny/map?seizures=no&feeding=formula")
    assert r.status_code == 200
    text = r.text
    for title in ("Symptoms", "Emergency care", "Labs", "Low magnesium", "Magnesium not known"):
        assert title in text
    assert re.search(
        r'class="map-node kind-question on-path"[^>]*>\s*<a class="map-link" href="#node-symptoms"',
        text,
    )
    assert re.search(
        r'class="map-node kind-measurement on-path current"[^>]*aria-current="step"', text
    )
    assert re.search(r'class="map-node kind-action off-path"', text)  # emergency branch not taken
    assert 'id="node-mg-status"' in text  # every node has its rationale and sources
    assert "Low magnesium · Very low magnesium" in text  # leaves labelled with their diagnoses
    assert 'href="/algorithms/tiny?seizures=no&amp;feeding=formula">Back to the walkthrough' in text


def test_labs_at_hand_answer_the_steps_they_settle(tiny_client: TestClient) -> None:
    first = tiny_client.get("/algorithms/tiny")
    assert 'href="/algorithms/tiny/labs">I have lab results</a>' in first.text
    labs = tiny_client.get("/algorithms/tiny/labs")
    assert 'name="from" value="*labs"' in labs.text
    assert 'id="lab-input-magnesium"' in labs.text
    r = tiny_client.get(
        "/algorithms/tiny?from=*labs&age=2&unit.age=months&magnesium=0.8&unit.magnesium=mg/dL",
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/algorithms/tiny?age=2months&magnesium=0.8mg/dL&recorded=labs"
    confirmed = tiny_client.get(r.headers["location"])
    assert "2 values recorded:" in confirmed.text
    assert "low for age" in confirmed.text  # 0.8 mg/dL = 0.33 mmol/L, flagged
    assert "They answer: Labs." in confirmed.text
    assert "recorded=labs" not in confirmed.text.split('id="step"')[1]  # links do not carry it
    done = tiny_client.get(
        "/algorithms/tiny?age=2months&magnesium=0.8mg/dL&seizures=no&feeding=breast"
    )
    assert 'data-status="result"' in done.text
    assert "from values given earlier" in done.text  # the labs step was answered by them


def test_labs_at_hand_refuse_impossible_values_and_keep_the_walk(tiny_client: TestClient) -> None:
    r = tiny_client.get("/algorithms/tiny?seizures=no&from=*labs&magnesium=9&unit.magnesium=mmol/L")
    assert r.status_code == 422
    assert '<h1 id="step-title" tabindex="-1">Lab results you already have</h1>' in r.text
    summary = r.text.index('class="error-summary"')
    assert summary < r.text.index('id="lab-input-magnesium"')  # the summary comes first
    assert "9 looks like a value in mg/dL" in r.text
    assert "Current step: <strong>Feeding</strong>" in r.text  # the walk stays where it was


def test_labs_page_mid_walk_keeps_the_walk(tiny_client: TestClient) -> None:
    step = tiny_client.get("/algorithms/tiny?seizures=no")
    assert 'href="/algorithms/tiny/labs?seizures=no">Add or correct lab results' in step.text
    assert 'id="lab-input-magnesium"' not in step.text  # the form lives on its own page mid-walk
    page = tiny_client.get("/algorithms/tiny/labs?seizures=no")
    assert page.status_code == 200
    assert 'id="lab-input-magnesium"' in page.text
    assert '<input type="hidden" name="seizures" value="no">' in page.text
    assert tiny_client.get("/algorithms/tiny/labs?seizures=maybe").status_code == 400


def test_head_requests_are_answered(tiny_client: TestClient) -> None:
    for url in (
        "/",
        "/algorithms/tiny",
        "/algorithms/tiny/map",
        "/algorithms/tiny/labs",
        "/healthz",
    ):
        r = tiny_client.head(url)
        assert r.status_code == 200, url
        assert r.content == b""


def test_map_and_labs_pages_redirect_to_their_canonical_address(tiny_client: TestClient) -> None:
    r = tiny_client.get("/algorithms/tiny/map?seizures=NO", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/algorithms/tiny/map?seizures=no"
    form = tiny_client.get("/algorithms/tiny/labs?from=*labs&age=2&unit.age=days")
    assert form.status_code == 400
    assert tiny_client.get("/algorithms/tiny/map?" + "x" * 5000).status_code == 414
