"""`python -m app.schema`: writes `algorithms/schema.json`, the JSON Schema of the algorithm
file, generated from the pydantic models, for editors that validate YAML as it is typed
(a test keeps it current)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.engine.models import Algorithm

SCHEMA = Path(__file__).resolve().parents[1] / "algorithms" / "schema.json"


def algorithm_schema() -> dict[str, Any]:
    schema = Algorithm.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Algorithm file (algorithms/*.yaml)"
    return schema


def text() -> str:
    return json.dumps(algorithm_schema(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    SCHEMA.write_text(text(), encoding="utf-8")
    print(f"wrote {SCHEMA.name}")


if __name__ == "__main__":
    main()
