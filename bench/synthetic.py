"""A synthetic algorithm of many nodes, for checking that a step costs the path, not the tree."""

from __future__ import annotations

from typing import Any


def synthetic_algorithm(size: int = 5000, depth: int = 20) -> dict[str, Any]:
    """A chain of `depth` yes/no questions and decisions leading to a result, plus enough side
    branches (each a decision off the chain into its own results) to reach `size` nodes."""
    src = ["s"]
    nodes: list[dict[str, Any]] = []
    findings: dict[str, Any] = {}
    for i in range(depth):
        key = f"f{i}"
        findings[key] = {"kind": "boolean", "label": f"Finding {i}"}
        nodes.append(
            {
                "id": f"q{i}",
                "kind": "question",
                "title": f"Q{i}",
                "rationale": "r",
                "sources": src,
                "asks": [key],
                "next": f"d{i}",
            }
        )
        nxt = f"q{i + 1}" if i + 1 < depth else "end"
        nodes.append(
            {
                "id": f"d{i}",
                "kind": "decision",
                "title": f"D{i}",
                "rationale": "r",
                "sources": src,
                "branches": [
                    {"when": {"finding": key, "is": "yes"}, "next": f"side{i}-0", "label": "yes"}
                ],
                "otherwise": {"next": nxt, "label": "no"},
                "unknown": {"next": nxt, "label": "unknown"},
            }
        )
    nodes.append(
        {
            "id": "end",
            "kind": "result",
            "title": "End",
            "rationale": "r",
            "sources": src,
            "candidates": ["dx"],
        }
    )
    per_side = max(1, (size - len(nodes)) // depth)
    for i in range(depth):
        for j in range(per_side):
            last = j == per_side - 1
            node_id = f"side{i}-{j}"
            if last:
                nodes.append(
                    {
                        "id": node_id,
                        "kind": "result",
                        "title": node_id,
                        "rationale": "r",
                        "sources": src,
                        "candidates": ["dx"],
                    }
                )
            else:
                nodes.append(
                    {
                        "id": node_id,
                        "kind": "decision",
                        "title": node_id,
                        "rationale": "r",
                        "sources": src,
                        "branches": [
                            {
                                "when": {"finding": "f0", "is": "yes"},
                                "next": f"side{i}-{j + 1}",
                                "label": "yes",
                            }
                        ],
                        "otherwise": {"next": f"side{i}-{j + 1}", "label": "no"},
                        "unknown": {"next": f"side{i}-{j + 1}", "label": "unknown"},
                    }
                )
    return {
        "id": "synthetic",
        "title": "Synthetic",
        "version": "1",
        "reviewed": "2026-11-22",
        "summary": "Benchmark only.",
        "start": "q0",
        "protocol_definition": "none",
        "algorithm_sources": src,
        "sources": {"s": {"citation": "benchmark", "evidence": "derived"}},
        "findings": findings,
        "diagnoses": {
            "dx": {
                "name": "Dx",
                "summary": "s",
                "tests": ["t"],
                "sources": src,
                "supports": [
                    {"weight": "key", "when": {"finding": "f0", "is": "no"}, "label": "l"}
                ],
            }
        },
        "nodes": nodes,
    }
