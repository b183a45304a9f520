"""The whole-tree map: the algorithm as a nested outline, with the current path marked.

The tree is a directed acyclic graph; a node reached by more than one branch is drawn in full
the first time and as a link ("continues at …") afterwards, so the outline stays finite and
readable on a projector or a phone.
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
    taken: bool
    on_path: bool
    child: MapNode


def build_map(algorithm: Algorithm, step: Step | None) -> MapNode:
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

    def draw(node: NodeModel) -> MapNode:
        item = MapNode(
            id=node.id,
            kind=node.kind,
            title=node.title,
            on_path=node.id in path,
            current=node.id == current,
            repeat=node.id in drawn,
        )
        if item.repeat:
            return item
        drawn.add(node.id)
        if isinstance(node, ResultNode):
            item.diagnoses = [algorithm.diagnoses[d].name for d in node.candidates]
            return item
        if isinstance(node, DecisionNode):
            outcomes = [(b.label, b.next) for b in node.branches]
            outcomes += [
                (node.otherwise.label, node.otherwise.next),
                (node.unknown.label, node.unknown.next),
            ]
            seen_targets: dict[str, MapBranch] = {}
            for label, target in outcomes:
                taken = chosen.get(node.id) == target
                if target in seen_targets:  # two outcomes to one node: one line, both labels
                    branch = seen_targets[target]
                    branch.label = f"{branch.label}; {label}"
                    branch.taken = branch.taken or taken
                    continue
                branch = MapBranch(label, taken, taken and item.on_path, draw(nodes[target]))
                seen_targets[target] = branch
                item.branches.append(branch)
            return item
        following = node.next
        item.branches.append(
            MapBranch("", True, item.on_path and following in path, draw(nodes[following]))
        )
        return item

    return draw(nodes[algorithm.start])
