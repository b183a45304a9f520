"""The baseline for `make bench`: a bare FastAPI route rendering a Jinja2 page of similar size.

It does no parsing, no engine walk and no view building, so the ratio of the app to this shows
what the workup itself costs on top of FastAPI + Jinja2 on the same server settings.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from jinja2 import Environment

SIZE = int(os.environ.get("BASELINE_BYTES", "12000"))
TEMPLATE = Environment(autoescape=True).from_string(
    "<!doctype html><html lang=en><head><title>{{ title }}</title></head><body><main>"
    "{% for p in paragraphs %}<p>{{ p }}</p>{% endfor %}</main></body></html>"
)
PARAGRAPHS = ["Baseline paragraph of plain text for the benchmark page. " * 2] * max(1, SIZE // 130)

app = FastAPI()


@app.get("/page", response_class=HTMLResponse)
async def page() -> str:
    return TEMPLATE.render(title="Baseline", paragraphs=PARAGRAPHS)
