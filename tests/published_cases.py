"""Clinical accuracy on published cases (`make cases`; the floors are in `test_cases.py`).

Every case of `tests/cases/` is walked through the real algorithm as the walk API does with
`"missing": "unknown"`: the findings the report gives, and every other finding unknown. The
figures are where the published diagnosis lands in the differential: in the main list (the
likely entries), in the top 3, first.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.engine.loading import load_file  # noqa: E402
from app.engine.models import Algorithm  # noqa: E402
from app.engine.values import findings_from_json  # noqa: E402
from app.engine.walk import Step, walk  # noqa: E402

CASES = Path(__file__).resolve().parent / "cases"


@dataclass(frozen=True)
class Case:
    id: str
    citation: str
    url: str
    diagnosis: str
    findings: dict[str, Any]
    also: tuple[str, ...] = ()
    tests: str = ""


@dataclass(frozen=True)
class Outcome:
    case: Case
    step: Step
    ranked: tuple[str, ...]  # the differential's ids, most likely first
    likely: tuple[str, ...]  # the main list

    @property
    def position(self) -> int | None:
        """1-based place of the published diagnosis, or None if it is absent."""
        if self.case.diagnosis in self.ranked:
            return self.ranked.index(self.case.diagnosis) + 1
        return None

    @property
    def in_main_list(self) -> bool:
        return self.case.diagnosis in self.likely

    @property
    def in_top3(self) -> bool:
        return self.case.diagnosis in self.ranked[:3]

    @property
    def first(self) -> bool:
        return self.ranked[:1] == (self.case.diagnosis,)


@dataclass(frozen=True)
class Figures:
    total: int
    main_list: int
    top3: int
    first: int


def load_cases(folder: Path = CASES) -> list[Case]:
    cases = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data.get("id") != path.stem:
            raise ValueError(f"{path.name}: id {data.get('id')!r} differs from the file name")
        cases.append(
            Case(
                id=data["id"],
                citation=data["citation"],
                url=data["url"],
                diagnosis=data["diagnosis"],
                findings=dict(data["findings"]),
                also=tuple(data.get("also") or ()),
                tests=data.get("tests") or "",
            )
        )
    return cases


def run(algorithm: Algorithm, case: Case) -> Outcome:
    findings = findings_from_json(algorithm, case.findings)
    step = walk(algorithm, findings, missing="unknown")
    ranked = tuple(d.id for d in step.differential)
    likely = tuple(d.id for d in step.differential if d.likely)
    return Outcome(case, step, ranked, likely)


def figures(outcomes: list[Outcome]) -> Figures:
    return Figures(
        total=len(outcomes),
        main_list=sum(o.in_main_list for o in outcomes),
        top3=sum(o.in_top3 for o in outcomes),
        first=sum(o.first for o in outcomes),
    )


def report(outcomes: list[Outcome]) -> str:
    f = figures(outcomes)

    def pct(n: int) -> str:
        return f"{n}/{f.total} ({100 * n / f.total:.0f}%)" if f.total else "0/0"

    lines = [
        f"Published cases: {f.total}",
        f"  in the differential (main list): {pct(f.main_list)}",
        f"  in the top 3:                    {pct(f.top3)}",
        f"  first:                           {pct(f.first)}",
    ]
    misses = [o for o in outcomes if not o.in_top3]
    if misses:
        lines.append("")
        lines.append("Not in the top 3 (published diagnosis: place; leaf; top 3):")
        for o in misses:
            place = o.position or "absent"
            lines.append(
                f"  {o.case.id}: {o.case.diagnosis}: {place}; {o.step.node.id}; "
                + ", ".join(o.ranked[:3])
            )
    return "\n".join(lines)


def main() -> int:
    algorithm = load_file(ROOT / "algorithms" / "hypocalcemia.yaml")
    outcomes = [run(algorithm, case) for case in load_cases()]
    print(report(outcomes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
