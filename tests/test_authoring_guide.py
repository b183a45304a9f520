"""The authoring guide's example is a complete algorithm that loads and walks as described."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from app.engine.loading import load_data
from app.engine.models import Algorithm
from app.engine.values import findings_from_json
from app.engine.walk import walk

GUIDE = Path(__file__).resolve().parents[1] / "algorithms" / "README.md"


def example() -> Algorithm:
    blocks = re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), re.S)
    complete = [b for b in blocks if b.startswith("id: example")]
    assert len(complete) == 1, "the guide must hold one complete example"
    return load_data(yaml.safe_load(complete[0]), "algorithms/README.md")


def test_the_example_uses_every_node_kind() -> None:
    kinds = {node.kind for node in example().nodes}
    assert kinds == {"question", "measurement", "decision", "action", "result"}


def test_the_example_walks_as_the_guide_says() -> None:
    algorithm = example()

    def run(**findings: object):
        return walk(algorithm, findings_from_json(algorithm, findings), missing="unknown")

    confirmed = run(seizures=True, feeding="formula", age=10, ionized_calcium=0.8)
    assert [d.id for d in confirmed.differential] == ["confirmed", "formula_related"]
    older = run(
        seizures=False, feeding="formula", age={"value": 3, "unit": "months"}, ionized_calcium=1.2
    )
    assert [d.id for d in older.differential] == [
        "not_confirmed"
    ]  # formula clue excluded after 1 month
    unknown = run(seizures="unknown")
    assert unknown.node.id == "unknown-result" and unknown.alerts[0].severity == "emergency"


def test_the_condition_snippets_are_valid_yaml() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), re.S)
    snippets = [b for b in blocks if not b.startswith("id: example")]
    for block in snippets:
        for line in block.splitlines():
            code = line.split("#")[0].strip()
            if code:
                assert isinstance(yaml.safe_load(code), dict), code


def test_the_published_schema_is_current() -> None:
    """algorithms/schema.json is generated from the models (`python -m app.schema`)."""
    from app.schema import SCHEMA, text

    assert SCHEMA.read_text(encoding="utf-8") == text(), "run: python -m app.schema"
