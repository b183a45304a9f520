"""The algorithms loaded (and validated) at start-up, shared by pages and the API."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import HTTPException, Request

from app.engine.loading import load_directory
from app.engine.models import Algorithm
from app.settings import Settings
from app.teaching import TeachingCase, load_cases


@dataclass(frozen=True)
class Catalog:
    settings: Settings
    algorithms: dict[str, Algorithm]
    cases: dict[str, TeachingCase] = field(default_factory=dict)

    @classmethod
    def load(cls, settings: Settings) -> Catalog:
        algorithms = load_directory(settings.algorithms_dir)
        if not algorithms:
            raise RuntimeError(f"no algorithm files in {settings.algorithms_dir}")
        return cls(settings, algorithms, load_cases(settings.teaching_dir, algorithms))

    def case(self, case_id: str) -> TeachingCase:
        case = self.cases.get(case_id)
        if case is None:
            raise HTTPException(404, f"There is no teaching case called {case_id[:60]!r}.")
        return case

    def get(self, algorithm_id: str) -> Algorithm:
        algorithm = self.algorithms.get(algorithm_id)
        if algorithm is None:
            raise HTTPException(404, f"There is no algorithm called {algorithm_id[:60]!r}.")
        return algorithm


async def get_catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog
