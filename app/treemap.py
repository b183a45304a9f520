"""The whole-tree map: the algorithm as an outline, with the current path marked.

Steps that simply follow one another are listed one under the other; only a decision opens
nested lists, one per branch, so the outline stays shallow enough for a phone. The tree is a
directed acyclic graph: a step reached by more than one branch is drawn in full once (on the
current path if it lies there) and elsewhere as a pointer to that drawing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.engine.models import Algorithm, DecisionNode, ResultNode
from app.engine.models import Node as NodeModel
from app.engine.walk import Step, index


@dataclass
class MapNode:
    id: str
    kind: str
    title: str
    on_path: bool
    current: bool
    repeat: bool = False
    diagnoses: list[str] = field(default_factory=list)
    branches: list[MapBranch] = field(default_factory=list)


@dataclass
class MapBranch:
    label: str
    on_path: bool
    chain: list[MapNode]


def build_map(algorithm: Algorithm, step: Step | None) -> list[MapNode]:
    """The outline from the start: a chain of steps, decisions holding their branches' chains."""
    nodes = index(algorithm)
    path = {entry.node.id for entry in step.trail} if step else set()
    current = step.node.id if step else None
    if current:
        path.add(current)
    chosen = {
        entry.node.id: entry.outcome.next
        for entry in (step.trail if step else ())
        if entry.outcome is not None
    }
    drawn: set[str] = set()

    def chain(node: NodeModel, on_chain: bool) -> list[MapNode]:
        items: list[MapNode] = []
        while True:
            on_path = on_chain and node.id in path
            # A step of the current path is drawn in full only where the path reaches it.
            repeat = node.id in drawn or (node.id in path and not on_path)
            item = MapNode(
                id=node.id,
                kind=node.kind,
                title=node.title,
                on_path=on_path,
                current=on_path and node.id == current,
                repeat=repeat,
            )
            items.append(item)
            if repeat:
                return items
            drawn.add(node.id)
            if isinstance(node, ResultNode):
                item.diagnoses = [algorithm.diagnoses[d].name for d in node.candidates]
                return items
            if isinstance(node, DecisionNode):
                item.branches = branches(node, on_path)
                return items
            on_chain = on_path
            node = nodes[node.next]

    def branches(node: DecisionNode, on_path: bool) -> list[MapBranch]:
        outcomes = [(b.label, b.next) for b in node.branches]
        outcomes += [
            (node.otherwise.label, node.otherwise.next),
            (node.unknown.label, node.unknown.next),
        ]
        labels: dict[str, list[str]] = {}
        for label, target in outcomes:  # two outcomes to one step: one branch, both labels
            labels.setdefault(target, []).append(label)
        taken = chosen.get(node.id)
        # Draw the taken branch first so that steps shared with it are drawn on the path.
        order = sorted(labels, key=lambda t: t != taken)
        built = {t: chain(nodes[t], on_path and t == taken) for t in order}
        return [MapBranch("; ".join(labels[t]), on_path and t == taken, built[t]) for t in labels]

    return chain(nodes[algorithm.start], True)
