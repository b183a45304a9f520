"""`python -m app.validate [FOLDER_OR_FILE ...]`: check algorithm files; exit 1 on any problem."""

from __future__ import annotations

import sys
from pathlib import Path

from app.engine.loading import AlgorithmError, load_file


def main(argv: list[str]) -> int:
    targets = [Path(a) for a in argv] or [Path("algorithms")]
    paths: list[Path] = []
    for target in targets:
        paths.extend(sorted(target.glob("*.yaml")) if target.is_dir() else [target])
    if not paths:
        print("no algorithm files found", file=sys.stderr)
        return 1
    failed = 0
    for path in paths:
        try:
            algorithm = load_file(path)
        except AlgorithmError as exc:
            failed += 1
            print(exc, file=sys.stderr)
        else:
            print(
                f"{path}: ok ({len(algorithm.nodes)} nodes, {len(algorithm.diagnoses)} diagnoses)"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
