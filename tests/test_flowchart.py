"""The flowchart: DOT from the algorithm, laid out by Graphviz once (a checked-in SVG that this
test keeps current), the walk's path marked per request."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from scenario_support import ALGORITHM

from app.factory import create_app
from app.flowchart import dot_source, mark, mermaid, render_svg, svg_path
from app.settings import Settings


def test_the_checked_in_flowchart_is_current() -> None:
    """Redraw with `make flowchart` after changing the algorithm."""
    checked_in = svg_path(ALGORITHM.id).read_text(encoding="utf-8")
    assert checked_in == render_svg(dot_source(ALGORITHM)), "run: make flowchart"


def test_every_step_is_a_box_linked_to_its_rationale() -> None:
    svg = svg_path(ALGORITHM.id).read_text(encoding="utf-8")
    for node in ALGORITHM.nodes:
        assert f'<g id="n-{node.id}" class="node kind-{node.kind}"' in svg, node.id
        assert f'xlink:href="#node-{node.id}"' in svg, node.id
    assert "<script" not in svg and "style=" not in svg  # nothing the CSP would block


def test_the_path_is_marked_on_the_drawing() -> None:
    svg = svg_path(ALGORITHM.id).read_text(encoding="utf-8")
    path = ["red-flags", "red-flag-check", "emergency-care"]
    marked = mark(svg, path, "emergency-care", [("red-flags", "red-flag-check")])
    assert '<g id="n-red-flags" class="node kind-question onpath"' in marked
    assert '<g id="n-emergency-care" class="node kind-action onpath current"' in marked
    assert '<g id="n-patient-age" class="node kind-measurement offpath"' in marked
    assert '<g id="e-red-flags--red-flag-check" class="edge onpath"' in marked
    assert len(re.findall(r'class="node [^"]*current"', marked)) == 1


def test_the_map_page_draws_the_flowchart_and_offers_mermaid_text() -> None:
    client = TestClient(create_app(Settings()))
    page = client.get("/algorithms/hypocalcemia/map?seizures=yes")
    assert page.status_code == 200
    assert 'class="flowchart"' in page.text and "<svg" in page.text
    # the walk waits at the red flags (the others are not answered): that box is "you are here"
    assert '<g id="n-red-flags" class="node kind-question onpath current"' in page.text
    assert '<g id="n-emergency-care" class="node kind-action offpath"' in page.text
    text = client.get("/algorithms/hypocalcemia/mermaid")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert text.text.startswith("flowchart TD")
    assert mermaid(ALGORITHM) == text.text
    assert "red_flags -->" in text.text
