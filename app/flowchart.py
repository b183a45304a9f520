"""The algorithm as a flowchart: DOT built from the tree, laid out by Graphviz (`dot -Tsvg`).

The SVG is a build output, one per algorithm version, checked in beside the algorithm
(`algorithms/<id>.svg`, written by `python -m app.flowchart`; a test keeps it current), so no
request runs Graphviz. A request only marks its path: the SVG's node and edge groups carry
stable ids (`n-<node>`, `e-<from>--<to>`), and `mark()` adds `onpath`, `offpath` and `current`
classes to them; the stylesheet tells them apart by stroke weight and dash as well as colour.

Graphviz writes presentation attributes (no `style=` attribute, no script), so the SVG passes
the app's CSP when it is placed inline in the page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

from app.engine.loading import load_file
from app.engine.models import Algorithm

ALGORITHMS = Path(__file__).resolve().parents[1] / "algorithms"

SHAPES = {
    "question": "box",
    "measurement": "box",
    "decision": "diamond",
    "action": "octagon",
    "result": "note",
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(title: str, width: int = 22) -> str:
    """A quoted DOT label, wrapped: each line escaped, then joined by DOT's line break."""
    lines = textwrap.wrap(title, width) or [title]
    escaped = [line.replace("\\", "\\\\").replace('"', '\\"') for line in lines]
    return '"' + "\\n".join(escaped) + '"'


def dot_source(algorithm: Algorithm) -> str:
    """The DOT text of the whole tree: one node per step (shape by kind), one edge per way on,
    decisions' edges labelled with their branch. Deterministic: the same algorithm gives the
    same text."""
    lines = [
        f"digraph {_quote(algorithm.id)} {{",
        '  graph [rankdir=TB, nodesep=0.25, ranksep=0.35, fontname="Liberation Sans", '
        'bgcolor="transparent"];',
        '  node [fontname="Liberation Sans", fontsize=11, style="rounded", penwidth=1.4];',
        '  edge [fontname="Liberation Sans", fontsize=9, arrowsize=0.7];',
    ]
    for node in algorithm.nodes:
        shape = SHAPES[node.kind]
        style = "rounded" if node.kind in ("question", "measurement") else "solid"
        lines.append(
            f"  {_quote(node.id)} [id={_quote('n-' + node.id)}, shape={shape}, "
            f"style={style}, label={_label(node.title)}, "
            f"URL={_quote('#node-' + node.id)}, tooltip={_quote(node.title)}, "
            f'class="kind-{node.kind}"];'
        )
    for node in algorithm.nodes:
        for target, label in _edges(node):
            attrs = [f"id={_quote(f'e-{node.id}--{target}')}"]
            if label:
                attrs.append(f"label={_label(label, 18)}")
            lines.append(f"  {_quote(node.id)} -> {_quote(target)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _edges(node: object) -> Iterable[tuple[str, str]]:
    branches = getattr(node, "branches", None)
    if branches is not None:
        seen: set[str] = set()
        ways = [(b.next, b.label) for b in branches]
        ways += [(node.otherwise.next, node.otherwise.label)]  # type: ignore[attr-defined]
        ways += [(node.unknown.next, node.unknown.label)]  # type: ignore[attr-defined]
        for target, label in ways:
            if target in seen:  # two branches to one step: one arrow, the first label
                continue
            seen.add(target)
            yield target, label
        return
    for target in node.targets():  # type: ignore[attr-defined]
        yield target, ""


def render_svg(dot: str) -> str:
    """Lay out the DOT text with Graphviz; the SVG without its XML prolog and doctype, ready to
    be placed inline."""
    binary = shutil.which("dot")
    if binary is None:
        raise RuntimeError("Graphviz is not installed (make installs Debian's graphviz)")
    svg = subprocess.run(
        [binary, "-Tsvg"], input=dot, capture_output=True, text=True, check=True
    ).stdout
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)  # Graphviz's comments (version, ids)
    return svg.replace("&#45;", "-")  # Graphviz escapes every hyphen; ids need them plain


def svg_path(algorithm_id: str, folder: Path = ALGORITHMS) -> Path:
    return folder / f"{algorithm_id}.svg"


def mark(svg: str, path: Iterable[str], current: str | None, taken: Iterable[tuple[str, str]]):  # type: ignore[no-untyped-def]
    """The SVG with the walk marked: steps and arrows on the path, the current step, and the
    rest off the path (classes only; the layout is not touched)."""
    on = set(path)
    edges = {f"e-{a}--{b}" for a, b in taken}

    def node(match: re.Match[str]) -> str:
        nid = match.group(1)
        cls = "onpath" if nid in on else "offpath"
        if nid == current:
            cls += " current"
        return f'<g id="n-{nid}" class="node {match.group(2)} {cls}"'

    def edge(match: re.Match[str]) -> str:
        cls = "onpath" if match.group(1) in edges else "offpath"
        return f'<g id="{match.group(1)}" class="edge {cls}"'

    svg = re.sub(r'<g id="n-([a-z0-9_-]+)" class="node ?([a-z0-9 _-]*)"', node, svg)
    return re.sub(r'<g id="(e-[a-z0-9_-]+--[a-z0-9_-]+)" class="edge"', edge, svg)


def mermaid(algorithm: Algorithm) -> str:
    """Mermaid text of the tree, for review where a forge draws it (not rendered by the app)."""
    lines = ["flowchart TD"]

    def box(node: object) -> str:
        title = str(getattr(node, "title", "")).replace('"', "'")
        kind = getattr(node, "kind", "")
        nid = str(getattr(node, "id", "")).replace("-", "_")
        if kind == "decision":
            return f'{nid}{{"{title}"}}'
        if kind == "result":
            return f'{nid}[["{title}"]]'
        return f'{nid}["{title}"]'

    for node in algorithm.nodes:
        lines.append("  " + box(node))
    for node in algorithm.nodes:
        for target, label in _edges(node):
            a, b = node.id.replace("-", "_"), target.replace("-", "_")
            text = label.replace('"', "'").replace("|", "/")
            lines.append(f'  {a} -->|"{text}"| {b}' if text else f"  {a} --> {b}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write `algorithms/<id>.svg` for every algorithm (or the files named)."""
    names = argv if argv is not None else sys.argv[1:]
    files = [Path(n) for n in names] or sorted(ALGORITHMS.glob("*.yaml"))
    for path in files:
        algorithm = load_file(path)
        out = svg_path(algorithm.id, path.parent)
        out.write_text(render_svg(dot_source(algorithm)), encoding="utf-8")
        print(f"wrote {out.relative_to(path.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
