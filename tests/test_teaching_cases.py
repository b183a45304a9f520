"""Teaching cases: published cases retold, each walked as predict-then-reveal, all in the URL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from published_cases import CASES as PUBLISHED
from scenario_support import ALGORITHM

from app.factory import create_app
from app.settings import PROJECT_ROOT, Settings
from app.teaching import BRANCHES, TeachingError, case_walk, load_cases

CASES = load_cases(PROJECT_ROOT / "teaching", {ALGORITHM.id: ALGORITHM})
SOURCES = {path.stem: yaml.safe_load(path.read_text()) for path in PUBLISHED.glob("*.yaml")}


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings()), follow_redirects=False)


def test_every_branch_has_a_case_from_a_published_report() -> None:
    assert len(CASES) >= 12
    assert {c.branch for c in CASES.values()} == set(BRANCHES)
    for case in CASES.values():
        source = SOURCES[case.source_case]
        assert case.citation == source["citation"] and case.url == source["url"], case.id
        assert case.findings == source["findings"], f"{case.id}: findings differ from the report"
        assert case.diagnosis == source["diagnosis"], case.id


def test_a_case_with_a_prompt_on_a_missing_step_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(
        (PROJECT_ROOT / "teaching" / "vdd-infant-tetany-bossing.yaml").read_text()
    )
    data["prompts"] = {"no-such-step": "?"}
    (tmp_path / "vdd-infant-tetany-bossing.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(TeachingError, match="prompts name no step"):
        load_cases(tmp_path, {ALGORITHM.id: ALGORITHM})


def test_the_screens_follow_the_walk_of_the_case() -> None:
    walked = case_walk(ALGORITHM, CASES["vdd-infant-tetany-bossing"])
    titles = [s.entry.node.id for s in walked.screens]
    assert titles[0] == "red-flags" and "magnesium-level" in titles
    assert all(not s.entry.node.computed for s in walked.screens)
    magnesium = next(s for s in walked.screens if s.entry.node.id == "magnesium-level")
    assert magnesium.choices[0] == "above 2.1 mmol/L"
    assert magnesium.taken is not None and magnesium.taken.label == "magnesium not measured"
    assert walked.result.differential[0].id == "nutritional_vitamin_d_deficiency"


def test_the_case_list_groups_cases_by_branch(client: TestClient) -> None:
    page = client.get("/cases")
    assert page.status_code == 200
    for title in BRANCHES.values():
        assert title in page.text
    assert len(re.findall(r'class="case-link"', page.text)) == len(CASES)


def test_predict_then_reveal_lives_in_the_url(client: TestClient) -> None:
    base = "/cases/vdd-infant-tetany-bossing"
    walked = case_walk(ALGORITHM, CASES["vdd-infant-tetany-bossing"])
    i = next(n for n, s in enumerate(walked.screens) if s.entry.node.id == "magnesium-level")
    hidden = client.get(f"{base}?step={i}")
    assert "The case</h3>" not in hidden.text  # the answer stays hidden
    assert f'href="{base}?step={i}&amp;guess=1"' in hidden.text  # predictions are links
    guessed = client.get(f"{base}?step={i}&guess=1")
    assert 'aria-current="true"' in guessed.text
    shown = client.get(f"{base}?step={i}&guess=1&reveal=yes")
    assert "The case</h3>" in shown.text
    assert "magnesium not measured" in shown.text
    assert "the class predicted" in shown.text
    assert f'href="{base}?step={i + 1}"' in shown.text  # Next
    end = len(walked.screens)
    first = client.get(f"{base}?step={end}&shown=1")
    assert first.text.count('class="diagnosis"') == 1
    everything = client.get(f"{base}?step={end}&shown=99")
    assert "Published diagnosis" in everything.text and "Teaching point" in everything.text


@pytest.mark.parametrize("query", ["step=99", "step=x", "shown=-1", "guess=-2", "cheat=1"])
def test_a_tampered_teaching_link_gets_a_400(client: TestClient, query: str) -> None:
    r = client.get(f"/cases/vdd-infant-tetany-bossing?{query}")
    assert r.status_code == 400


def test_an_unknown_case_is_a_404(client: TestClient) -> None:
    assert client.get("/cases/no-such-case").status_code == 404
