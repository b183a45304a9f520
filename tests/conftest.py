from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.engine.loading import load_file
from app.engine.models import Algorithm
from app.factory import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def tiny() -> Algorithm:
    return load_file(FIXTURES / "tiny.yaml")


@pytest.fixture(scope="session")
def tiny_client() -> TestClient:
    return TestClient(create_app(Settings(algorithms_dir=FIXTURES)))


@pytest.fixture(scope="session")
def client() -> TestClient:
    """The app as deployed: the real algorithms folder, default settings."""
    return TestClient(create_app(Settings()))
