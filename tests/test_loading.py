"""Algorithm checks: each broken variant of the tiny fixture is refused with its place."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.engine.loading import AlgorithmError, load_data, load_file
from app.factory import create_app
from app.settings import Settings
from app.validate import main as validate_main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = yaml.safe_load((FIXTURES / "tiny.yaml").read_text())


def node(data: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in data["nodes"] if n["id"] == node_id)


def problems_of(mutate: Callable[[dict[str, Any]], None]) -> str:
    data = copy.deepcopy(TINY)
    mutate(data)
    with pytest.raises(AlgorithmError) as info:
        load_data(data, "broken.yaml")
    return str(info.value)


def test_the_fixture_itself_is_valid() -> None:
    assert load_data(copy.deepcopy(TINY), "tiny.yaml").id == "tiny"


BROKEN = {
    "duplicate node id": (
        lambda d: d["nodes"].append({**node(d, "normal-result")}),
        "node normal-result: id: used by more than one node",
    ),
    "one typo in a condition is one message": (
        lambda d: node(d, "seizure-check")["branches"][0].update(
            when={"finding": "seizures", "iss": "yes"}
        ),
        "node seizure-check: branches.0.when.iss: Extra inputs are not permitted",
    ),
    "a condition of no known kind": (
        lambda d: node(d, "seizure-check")["branches"][0].update(
            when={"fnding": "seizures", "is": "yes"}
        ),
        "node seizure-check: branches.0.when: a condition needs one of `finding`, `all`, `any`",
    ),
    "unknown next": (
        lambda d: node(d, "patient").update(next="nowhere"),
        "node patient: next: unknown node 'nowhere'",
    ),
    "cycle": (
        lambda d: node(d, "labs").update(next="symptoms"),
        "cycle",
    ),
    "unreachable node": (
        lambda d: d["nodes"].append({**node(d, "normal-result"), "id": "orphan"}),
        "node orphan: not reachable from start",
    ),
    "decision without unknown branch": (
        lambda d: node(d, "mg-status").pop("unknown"),
        "node mg-status: unknown: Field required",
    ),
    "threshold without source": (
        lambda d: node(d, "mg-status")["branches"][0].update(
            when={"finding": "magnesium", "below": {"value": 0.7, "unit": "mmol/L"}}
        ),
        "a threshold needs source",
    ),
    "threshold without unit": (
        lambda d: node(d, "mg-status")["branches"][0].update(
            when={"finding": "magnesium", "below": {"value": 0.7, "source": "book"}}
        ),
        "a threshold needs unit",
    ),
    "threshold in a unit the finding does not accept": (
        lambda d: node(d, "mg-status")["branches"][0].update(
            when={"finding": "magnesium", "below": {"value": 0.7, "unit": "g/L", "source": "book"}}
        ),
        "node mg-status: branches.0.when: 'g/L' is not a unit of magnesium",
    ),
    "unknown diagnosis in a result": (
        lambda d: node(d, "normal-result").update(candidates=["normal", "made_up"]),
        "node normal-result: candidates: 'made_up' is not in the diagnosis catalogue",
    ),
    "unknown source": (
        lambda d: node(d, "labs").update(sources=["nobody"]),
        "node labs: sources: unknown source 'nobody'",
    ),
    "unknown finding asked": (
        lambda d: node(d, "labs").update(asks=["age", "sodium"]),
        "node labs: asks: unknown finding 'sodium'",
    ),
    "quantity asked by a question": (
        lambda d: node(d, "patient").update(asks=["magnesium"]),
        "node patient: asks: magnesium is a quantity; ask it in a measurement",
    ),
    "impossible yes/no value": (
        lambda d: node(d, "seizure-check")["branches"][0].update(
            when={"finding": "seizures", "is": "maybe"}
        ),
        "node seizure-check: branches.0.when: seizures cannot be 'maybe'",
    ),
    "unknown node kind": (
        lambda d: node(d, "labs").update(kind="calculator"),
        "node labs: ",
    ),
    "extra field": (
        lambda d: node(d, "labs").update(colour="red"),
        "node labs: colour: Extra inputs are not permitted",
    ),
    "node without sources": (
        lambda d: node(d, "labs").update(sources=[]),
        "node labs: sources: List should have at least 1 item",
    ),
    "diagnosis without a key clue": (
        lambda d: d["diagnoses"]["normal"].update(
            supports=[{"when": {"finding": "seizures", "is": "no"}, "label": "no seizures"}]
        ),
        "diagnosis normal: supports: no key clue",
    ),
    "asked finding nobody reads": (
        lambda d: d["diagnoses"]["very_low_mg"].update(
            supports=[d["diagnoses"]["very_low_mg"]["supports"][0]]
        ),
        "node patient: asks: feeding is asked but no decision, clue or diagnosis reads it",
    ),
    "obtain names an unknown finding": (
        lambda d: node(d, "unknown-result")["obtain"][0].update(findings=["sodium"]),
        "node unknown-result: obtain.0.findings: unknown finding 'sodium'",
    ),
    "weights out of order": (
        lambda d: d.update(ranking={"key": 1, "support": 2}),
        "ranking: Value error, weights must order key > support > prior",
    ),
    "range without a bound": (
        lambda d: d["findings"]["magnesium"]["ranges"].append({"label": "x", "source": "book"}),
        "findings.magnesium.ranges.2: Value error, a reference range needs `low`, `high` or both",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_algorithm_is_refused_with_its_place(case: str) -> None:
    mutate, expected = BROKEN[case]
    message = problems_of(mutate)
    assert "broken.yaml" in message
    assert expected in message
    if case.startswith("one typo"):
        assert "1 problem(s)" in message  # not one message per kind of condition


def test_every_problem_is_listed_at_once() -> None:
    def two_problems(d: dict[str, Any]) -> None:
        node(d, "patient").update(next="nowhere")
        node(d, "labs").update(sources=["nobody"])

    message = problems_of(two_problems)
    assert "unknown node 'nowhere'" in message and "unknown source 'nobody'" in message


def test_file_name_must_match_the_id(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text((FIXTURES / "tiny.yaml").read_text())
    with pytest.raises(AlgorithmError, match="must equal the file name 'other'"):
        load_file(tmp_path / "other.yaml")


def test_the_app_refuses_to_start_on_an_invalid_algorithm(tmp_path: Path) -> None:
    data = copy.deepcopy(TINY)
    node(data, "patient").update(next="nowhere")
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(AlgorithmError, match="nowhere"):
        create_app(Settings(algorithms_dir=tmp_path))


def test_validate_command_reports_and_exits_nonzero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert validate_main([str(FIXTURES)]) == 0
    (tmp_path / "tiny.yaml").write_text("id: tiny\nnodes: [")
    assert validate_main([str(tmp_path)]) == 1
    assert "cannot read YAML" in capsys.readouterr().err
