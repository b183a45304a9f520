"""`make bench` and `make ux` stay runnable: their inputs load with the current format."""

from __future__ import annotations

import sys
from pathlib import Path

from app.engine.loading import load_data
from app.engine.values import findings_from_json
from app.engine.walk import walk

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from synthetic import synthetic_algorithm  # noqa: E402


def test_the_synthetic_benchmark_algorithm_loads_and_walks() -> None:
    algorithm = load_data(synthetic_algorithm(200, 5), "synthetic")
    step = walk(algorithm, findings_from_json(algorithm, {f"f{i}": False for i in range(5)}))
    assert step.trail, "the synthetic path is empty"
