"""The engine is pure Python: it never imports the web framework or the template engine."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "app" / "engine"
FORBIDDEN = ("fastapi", "starlette", "jinja2", "uvicorn", "httpx", "markupsafe")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_engine_imports_no_web_code() -> None:
    files = sorted(ENGINE.glob("*.py"))
    assert files, "the engine package is missing"
    offenders = {
        f"{path.name}: {name}"
        for path in files
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
        # within the app, the engine imports only the engine (not app.urlstate, app.views, …)
        or (name.split(".")[0] == "app" and not name.startswith("app.engine"))
    }
    assert offenders == set()


def test_the_boundary_check_would_catch_an_import_of_the_web_layer(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from app.urlstate import parse_state\nimport starlette\n")
    names = imported_modules(sample)
    assert "app.urlstate" in names and "starlette" in names
