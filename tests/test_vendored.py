"""Vendored third-party files must match the sha256 recorded in their VENDORED.md manifest."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = [ROOT / "static" / "vendor" / "VENDORED.md", ROOT / "tests" / "vendor" / "VENDORED.md"]

# A table row: | `file` | package | version | licence | `sha256` | how obtained |
ROW = re.compile(r"^\|\s*`(?P<file>[^`]+)`\s*\|.*?\|\s*`(?P<sha>[0-9a-f]{64})`\s*\|", re.MULTILINE)


def _entries() -> list[tuple[Path, str]]:
    out = []
    for manifest in MANIFESTS:
        for m in ROW.finditer(manifest.read_text(encoding="utf-8")):
            out.append((manifest.parent / m["file"], m["sha"]))
    return out


ENTRIES = _entries()


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_manifest_lists_files(manifest: Path) -> None:
    assert manifest.is_file(), f"missing manifest {manifest}"
    assert ROW.search(manifest.read_text(encoding="utf-8")), f"no file rows parsed in {manifest}"


@pytest.mark.parametrize(
    ("path", "sha256"), ENTRIES, ids=[str(p.relative_to(ROOT)) for p, _ in ENTRIES]
)
def test_vendored_file_checksum(path: Path, sha256: str) -> None:
    assert path.is_file(), f"vendored file listed but missing: {path}"
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    assert actual == sha256, f"{path} changed: sha256 {actual}, manifest says {sha256}"


def test_every_vendored_file_is_listed() -> None:
    listed = {p for p, _ in ENTRIES}
    for manifest in MANIFESTS:
        for f in manifest.parent.iterdir():
            if f.is_file() and f.name != "VENDORED.md":
                assert f in listed, f"{f} is not recorded in {manifest}"
