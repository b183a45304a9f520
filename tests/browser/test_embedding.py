"""Embedding in a real browser: a cross-origin intranet page frames the app, the app served
under a sub-path, and no cookies or third-party requests.

Servers started here (module scope, next to the session's `base_url` app):
- `framable`: the app with `frame_ancestors=[<allowed host origin>]`;
- `hosts`: two tiny host pages on other ports (other origins), one allowed, one not;
- `rooted`: the app with `root_path="/tools/workup"`, served directly (the RootPath middleware
  accepts paths with or without the prefix, as behind a proxy that strips it or not).
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import pytest
import uvicorn
from playwright.sync_api import Frame, Page, Request, expect
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.factory import create_app
from app.settings import Settings

from .conftest import INSTRUMENT, READ_FORM, TARGET, _free_port

pytestmark = pytest.mark.browser

ROOT = "/tools/workup"
HEADING = "h1#step-title"


# --------------------------------------------------------------------------- servers


@contextmanager
def serving(app: ASGIApp, port: int | None = None) -> Iterator[str]:
    port = port or _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def host_page(request: StarletteRequest) -> HTMLResponse:
    """An intranet page that frames `src` the way the README tells hosts to."""
    src = html.escape(request.query_params["src"])
    return HTMLResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Intranet</title>"
        "<script>window.__heights = []; window.addEventListener('message', function (e) {"
        " if (e.data && e.data.type === 'hypocalcemia-workup:height') {"
        " window.__heights.push([e.origin, e.data.height]); } });</script>"
        "</head><body><h1>Ward intranet</h1>"
        f"<iframe title='Hypocalcemia workup' src='{src}' width='1000' height='800' "
        "sandbox='allow-forms allow-scripts allow-same-origin'></iframe></body></html>"
    )


HOST_APP = Starlette(routes=[Route("/", host_page)])


@dataclass(frozen=True)
class Hosts:
    allowed: str
    other: str


@pytest.fixture(scope="module")
def hosts() -> Iterator[Hosts]:
    with serving(HOST_APP) as allowed, serving(HOST_APP) as other:
        yield Hosts(allowed, other)


@pytest.fixture(scope="module")
def framable(hosts: Hosts) -> Iterator[str]:
    settings = Settings(algorithms_dir=TARGET.algorithms_dir, frame_ancestors=[hosts.allowed])
    with serving(create_app(settings)) as url:
        yield url


class PathLog:
    """ASGI wrapper that records the raw path of every request the server receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def rooted() -> Iterator[tuple[str, PathLog]]:
    app = PathLog(create_app(Settings(algorithms_dir=TARGET.algorithms_dir, root_path=ROOT)))
    with serving(app) as url:
        yield url, app


# --------------------------------------------------------------------------- helpers


def embed_url(app_url: str) -> str:
    return f"{app_url}/algorithms/{TARGET.algorithm_id}?view=embed"


def open_host(page: Page, host: str, src: str) -> None:
    page.goto(f"{host}/?src={quote(src, safe='')}")


def app_frame(page: Page) -> Frame:
    handle = page.locator("iframe").element_handle()
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None, "the iframe has no frame"
    return frame


def frame_ready(frame: Frame) -> None:
    frame.wait_for_function("() => window.htmx !== undefined")
    frame.evaluate(INSTRUMENT)


def frame_step(frame: Frame) -> str:
    """Answer the step shown in the frame (first options, empty lab fields) with htmx; returns
    the title of the step answered."""
    title = frame.locator(HEADING).inner_text().strip()
    form = frame.evaluate(READ_FORM)
    assert form is not None, f"no step form in the frame at {title!r}"
    for key, options in form["radios"].items():
        value = options[0]["value"]
        frame.locator(f'form.step-form input[type=radio][name="{key}"][value="{value}"]').check()
    for key in form["checkboxes"]:
        frame.locator(f'form.step-form input[type=checkbox][name="{key}"]').check()
    events = frame.evaluate("() => window.__events || null")
    assert events is not None, "the frame was fully reloaded: htmx did not do the swap"
    frame.locator("form.step-form button[type=submit].primary").click()
    frame.wait_for_function(
        "n => window.__events && window.__events.settle > n", arg=events["settle"]
    )
    expect(frame.locator(HEADING)).not_to_have_text(title)
    return title


def frame_href(frame: Frame) -> str:
    return str(frame.evaluate("() => location.href"))


# --------------------------------------------------------------------------- 6. allowed


def test_allowed_host_frames_the_app_and_a_step_can_be_answered(new_page, hosts, framable):
    page = new_page()
    documents = []
    page.on(
        "response",
        lambda r: (
            documents.append(r)
            if r.url.startswith(framable) and r.request.resource_type == "document"
            else None
        ),
    )
    open_host(page, hosts.allowed, embed_url(framable))
    inside = page.frame_locator("iframe")
    expect(inside.locator(HEADING)).to_be_visible()
    expect(inside.locator("header.site-header")).to_have_count(0)
    expect(inside.locator("body")).to_have_class(re.compile(r"\bembed\b"))

    assert documents, "the app's page was never requested"
    headers = documents[0].all_headers()
    csp = headers.get("content-security-policy", "")
    ancestors = re.search(r"frame-ancestors ([^;]*)", csp)
    assert ancestors, f"no frame-ancestors in the CSP: {csp!r}"
    assert hosts.allowed in ancestors.group(1).split(), ancestors.group(0)
    assert hosts.other not in ancestors.group(1), ancestors.group(0)
    assert "x-frame-options" not in headers, (
        f"X-Frame-Options {headers['x-frame-options']!r} conflicts with the allow-list"
    )

    frame = app_frame(page)
    frame_ready(frame)
    before = frame_href(frame)
    answered = frame_step(frame)
    assert frame.evaluate("() => window.__events.settle") >= 1, "no htmx swap in the frame"
    after = frame_href(frame)
    assert after != before, "the frame's address did not follow the step"
    assert "view=embed" in after, f"the embed flag was lost: {after}"
    expect(inside.locator("aside.trail li.trail-entry").first).to_contain_text(answered)
    expect(inside.locator("header.site-header")).to_have_count(0)


# --------------------------------------------------------------------------- 7. refused


@pytest.mark.parametrize("case", ["host not in the allow-list", "no allow-list"])
def test_other_hosts_cannot_frame_the_app(new_page, hosts, framable, base_url, case):
    if case == "host not in the allow-list":
        app_url, host = framable, hosts.other
    else:
        app_url, host = base_url, hosts.allowed
    page = new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    documents = []
    page.on(
        "response",
        lambda r: (
            documents.append(r)
            if r.url.startswith(app_url) and r.request.resource_type == "document"
            else None
        ),
    )
    open_host(page, host, embed_url(app_url))
    expect(page.locator("h1")).to_have_text("Ward intranet")

    frame = app_frame(page)
    frame.wait_for_load_state()
    assert frame.locator(HEADING).count() == 0, f"the app rendered inside {host}'s frame"
    assert not frame.url.startswith(app_url), f"the frame shows the app: {frame.url}"
    # Chromium says why: the CSP frame-ancestors directive, not a network error
    deadline = time.monotonic() + 3
    while not any("frame-ancestors" in m for m in console) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert any("frame-ancestors" in m and "blocked" in m for m in console), console

    assert documents, "the frame never requested the app"
    headers = documents[0].all_headers()
    csp = headers.get("content-security-policy", "")
    ancestors = re.search(r"frame-ancestors ([^;]*)", csp)
    assert ancestors, f"no frame-ancestors in the CSP: {csp!r}"
    assert host not in ancestors.group(1), ancestors.group(0)
    if app_url == base_url:
        assert headers.get("x-frame-options", "").upper() == "SAMEORIGIN"
    else:
        assert "x-frame-options" not in headers


# --------------------------------------------------------------------------- 8. no history


def test_embed_mode_replaces_the_frame_url_and_adds_no_history_to_the_host(
    new_page, hosts, framable
):
    page = new_page()
    open_host(page, hosts.allowed, embed_url(framable))
    host_url = page.url
    frame = app_frame(page)
    frame_ready(frame)
    length = page.evaluate("() => history.length")
    urls = [frame_href(frame)]

    answered = []
    for _ in range(2):
        answered.append(frame_step(frame))
        urls.append(frame_href(frame))
        assert page.evaluate("() => history.length") == length, (
            "answering a step in the frame added an entry to the host page's history"
        )
    assert len(set(urls)) == 3, f"the frame's address did not change with each step: {urls}"
    assert all("view=embed" in u for u in urls), urls
    assert page.url == host_url, "the host page navigated"

    # the in-page Back link returns to the previous step, still without a history entry
    second = answered[1]
    frame.locator("a.back-link").click()
    expect(frame.locator(HEADING)).to_have_text(second)
    assert page.evaluate("() => history.length") == length
    assert "view=embed" in frame_href(frame)
    assert frame.evaluate("() => window.__events !== undefined"), "Back reloaded the frame"


def test_the_map_opened_inside_the_frame_stays_in_embed_mode(new_page, hosts, framable):
    page = new_page()
    open_host(page, hosts.allowed, embed_url(framable))
    frame = app_frame(page)
    frame_ready(frame)
    frame_step(frame)
    with frame.expect_navigation():
        frame.locator("a.map-open").click()
    href = frame_href(frame)
    assert "/map" in href
    problems = []
    if "view=embed" not in href:
        problems.append(f"the map link drops view=embed: {href}")
    if frame.locator("header.site-header").count():
        problems.append("the map inside the frame shows the site header")
    if "embed" not in (frame.locator("body").get_attribute("class") or ""):
        problems.append("the map's body has no .embed class")
    back = frame.locator("a.map-back").get_attribute("href") or ""
    if "view=embed" not in back:
        problems.append(f"the map's way back drops view=embed: {back}")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- 9. root path


def test_under_a_root_path_every_request_stays_under_it(new_page, make_walker, rooted):
    origin, log = rooted
    page = new_page()
    requests: list[Request] = []
    page.on("request", lambda r: requests.append(r))
    failures: list[str] = []
    page.on("requestfailed", lambda r: failures.append(f"{r.url}: {r.failure}"))
    log.paths.clear()

    walk = make_walker(page)
    response = page.goto(f"{origin}{ROOT}/algorithms/{TARGET.algorithm_id}")
    assert response is not None and response.status == 200
    walk.ready()
    for _ in range(2):
        walk.step()
        assert urlsplit(page.url).path.startswith(f"{ROOT}/"), page.url
    expect(page.locator("a.map-open")).to_have_attribute("href", re.compile(rf"^{ROOT}/"))
    page.locator("a.back-link").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(origin)}{ROOT}/algorithms/"))
    page.wait_for_load_state("networkidle")

    assert not failures, f"requests failed: {failures}"
    outside = [r.url for r in requests if not r.url.startswith(f"{origin}{ROOT}/")]
    assert not outside, f"the page made requests outside {origin}{ROOT}/: {outside}"
    statics = [r for r in requests if "/static/" in r.url]
    assert {urlsplit(r.url).path.rsplit("/", 1)[-1] for r in statics} >= {"app.css", "app.js"}
    for r in statics:
        got = r.response()
        assert got is not None and got.status == 200, f"{r.url}: {got and got.status}"
    # The server side sees what the browser asks for on its own (e.g. the favicon), which
    # Playwright's request events do not report; behind a proxy that forwards only ROOT, such
    # requests would reach another application.
    stray = [p for p in log.paths if not p.startswith(f"{ROOT}/")]
    hint = " (no <link rel=icon> under the root path)" if "/favicon.ico" in stray else ""
    assert not stray, f"the browser asked the server for paths outside {ROOT}/: {stray}{hint}"


# --------------------------------------------------------------------------- 10. no cookies


def test_a_walk_sets_no_cookies_stores_nothing_and_stays_on_the_origin(
    new_page, make_walker, base_url
):
    page = new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    walk = make_walker(page)
    walk.open()
    for _ in range(3):
        if walk.is_result():
            break
        walk.step()
    page.locator("a.map-open").click()
    page.wait_for_url(re.compile(r"/map"))
    page.wait_for_load_state("networkidle")

    assert page.context.cookies() == [], page.context.cookies()
    assert page.evaluate("() => document.cookie") == ""
    stored = page.evaluate("() => [localStorage.length, sessionStorage.length]")
    assert stored == [0, 0], f"something was stored in the browser: {stored}"
    elsewhere = [u for u in requests if not u.startswith(f"{base_url}/")]
    assert not elsewhere, f"requests left the app's origin: {elsewhere}"


# --------------------------------------------------------------------------- the frame's own tools


def test_the_frame_reports_its_height_to_the_allowed_host_only(new_page, hosts, framable):
    page = new_page()
    open_host(page, hosts.allowed, embed_url(framable))
    frame = app_frame(page)
    frame_ready(frame)
    page.wait_for_function("() => window.__heights.length > 0")
    origin, height = page.evaluate("() => window.__heights[0]")
    assert origin == framable, "the message must come from the app's origin"
    assert height > 300
    # A host may size the frame to that height: then the frame has no scrollbar of its own.
    page.evaluate(
        "h => { document.querySelector('iframe').style.height = h + 'px'; }",
        page.evaluate("() => window.__heights[window.__heights.length - 1][1]"),
    )
    overflow = frame.evaluate(
        "() => document.documentElement.scrollHeight - document.documentElement.clientHeight"
    )
    assert overflow <= 1, f"the frame still scrolls by {overflow}px"


def test_the_frame_offers_a_new_tab_and_a_copy_of_the_link(new_page, hosts, framable):
    page = new_page()
    open_host(page, hosts.allowed, embed_url(framable) + "&seizures=no")
    inside = page.frame_locator("iframe")
    tab = inside.get_by_role("link", name="Open in a new tab")
    expect(tab).to_have_attribute("target", "_blank")
    href = tab.get_attribute("href") or ""
    assert "view=embed" not in href and "seizures=no" in href
    expect(inside.get_by_role("button", name="Copy link to this step")).to_be_visible()


def test_an_error_page_keeps_embed_mode(new_page, framable):
    page = new_page()
    page.goto(f"{framable}/algorithms/{TARGET.algorithm_id}?view=embed&magnesium=banana")
    expect(page.locator("body")).to_have_class(re.compile(r"\bembed\b"))
    expect(page.locator("header.site-header")).to_have_count(0)
    for link in page.locator(".error-page a[href*='/algorithms/']").all():
        assert "view=embed" in (link.get_attribute("href") or "")
