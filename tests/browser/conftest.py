"""Real-browser tests: the app served by uvicorn, driven by the system Chromium (sync Playwright).

The suite walks the real algorithm (`algorithms/hypocalcemia.yaml`); an invalid one fails at
collection. `BROWSER_TESTS_ALGORITHM=tiny` walks the small fixture instead, for work on the
engine. The walk helpers read each step's form instead of knowing the tree.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Response, sync_playwright

from app.engine.loading import load_directory
from app.factory import create_app
from app.settings import PROJECT_ROOT, Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
AXE = PROJECT_ROOT / "tests" / "vendor" / "axe-4.14.1.min.js"
TIMEOUT_MS = 10_000
SITE_SUFFIX = " · Hypocalcemia workup"


# --------------------------------------------------------------------------- algorithm choice


@dataclass(frozen=True)
class Target:
    algorithms_dir: Path
    algorithm_id: str
    why: str


def _choose_target() -> Target:
    """The real algorithm; `BROWSER_TESTS_ALGORITHM=tiny` walks the fixture instead (for working
    on the engine). An invalid real algorithm fails loudly at collection: no silent fallback."""
    if os.environ.get("BROWSER_TESTS_ALGORITHM") == "tiny":
        fixtures = PROJECT_ROOT / "tests" / "fixtures"
        return Target(fixtures, "tiny", "forced by BROWSER_TESTS_ALGORITHM=tiny")
    real_dir = PROJECT_ROOT / "algorithms"
    algorithms = load_directory(real_dir)
    assert "hypocalcemia" in algorithms, "algorithms/hypocalcemia.yaml is missing"
    return Target(real_dir, "hypocalcemia", "the real algorithm")


TARGET = _choose_target()


def pytest_report_header(config: pytest.Config) -> str:
    return f"browser tests walk algorithm {TARGET.algorithm_id!r} ({TARGET.why})"


# --------------------------------------------------------------------------- failure screenshots


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(item: pytest.Item) -> bool:
    return any(
        getattr(getattr(item, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
    )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-\[\]]+", "_", name)


# --------------------------------------------------------------------------- server and browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def target() -> Target:
    return TARGET


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    port = _free_port()
    public = f"http://127.0.0.1:{port}"  # CDS Hooks card links are made under it
    app = create_app(Settings(algorithms_dir=TARGET.algorithms_dir, public_url=public))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-browser-tests", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start for the browser tests")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


NewPage = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser, base_url: str, request: pytest.FixtureRequest) -> Iterator[NewPage]:
    """Factory: a page in a fresh context (1280x900 unless told). Screenshots on failure;
    uncaught JavaScript errors fail the test."""
    contexts: list[BrowserContext] = []
    pages: list[Page] = []
    script_errors: list[str] = []

    def make(width: int = 1280, height: int = 900, **options: Any) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": height}, base_url=base_url, **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: script_errors.append(f"{page.url}: {error}"))
        pages.append(page)
        return page

    yield make
    if _failed(request.node):
        ARTIFACTS.mkdir(exist_ok=True)
        for i, page in enumerate(pages):
            suffix = "" if i == 0 else f"-{i + 1}"
            try:
                page.screenshot(
                    path=str(ARTIFACTS / f"{_safe(request.node.name)}{suffix}.png"),
                    full_page=True,
                )
            except Exception:  # too tall for one image, or a closed or crashed page
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{_safe(request.node.name)}{suffix}.png"))
                except Exception:  # a closed or crashed page: nothing to save
                    pass
    for context in contexts:
        context.close()
    if script_errors and not _failed(request.node):
        pytest.fail("JavaScript errors in the page:\n" + "\n".join(script_errors))


@pytest.fixture
def page(new_page: NewPage) -> Page:
    """A page with JavaScript on and the app's CSP enforced, 1280x900."""
    return new_page()


# --------------------------------------------------------------------------- walking helpers

# Counts htmx events on the current document; gone after a full page load.
INSTRUMENT = """() => {
  if (window.__events) return;
  window.__events = {settle: 0, push: 0};
  document.addEventListener('htmx:after:settle', () => { window.__events.settle += 1; });
  document.addEventListener('htmx:after:history:push', () => { window.__events.push += 1; });
}"""

READ_FORM = """() => {
  const form = document.querySelector('form.step-form');
  if (!form) return null;
  const radios = {};
  for (const input of form.querySelectorAll('input[type=radio]')) {
    const label = input.closest('label');
    (radios[input.name] = radios[input.name] || []).push(
      {value: input.value, label: label ? label.innerText.trim() : input.value,
       checked: input.checked});
  }
  const legends = {};
  for (const fs of form.querySelectorAll('fieldset.field-choice')) {
    const lg = fs.querySelector('legend');
    if (lg) legends[fs.id.replace(/^field-/, '')] = lg.innerText.trim();
  }
  const quantities = [...form.querySelectorAll('.field-quantity input[type=text]')].map(i => {
    const select = form.querySelector(`select[name="unit.${i.name}"]`);
    return {key: i.name, value: i.value,
            units: select ? [...select.options].map(o => o.value) : []};
  });
  const checkboxes = [...form.querySelectorAll('input[type=checkbox]')]
    .filter(i => i.name !== 'all').map(i => i.name);
  const checklist = !!form.querySelector('fieldset.field-checklist');
  return {radios, legends, quantities, checkboxes, checklist};
}"""


@dataclass
class StepForm:
    url: str
    title: str
    kind: str
    radios: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    legends: dict[str, str] = field(default_factory=dict)
    quantities: list[dict[str, Any]] = field(default_factory=list)
    checkboxes: list[str] = field(default_factory=list)
    checklist: bool = False

    @property
    def names(self) -> list[str]:
        return [*self.radios, *(q["key"] for q in self.quantities), *self.checkboxes]

    def label_of(self, key: str, value: str) -> str:
        return next(o["label"] for o in self.radios[key] if o["value"] == value)


Answer = str | tuple[str, str]  # a radio value, a number, or (number, unit)


@dataclass
class Walker:
    """Drives one page through the walkthrough by reading and filling each step's form."""

    page: Page
    algorithm_id: str
    js: bool = True
    history: list[StepForm] = field(default_factory=list)
    last_response: Response | None = None

    # ---- navigation
    def open(self, query: str = "") -> Response | None:
        url = f"/algorithms/{self.algorithm_id}" + (f"?{query}" if query else "")
        response = self.page.goto(url)
        self.ready()
        return response

    def ready(self) -> None:
        """After a full page load: wait for htmx and count its events from now on."""
        if self.js:
            self.page.wait_for_function("() => window.htmx !== undefined")
            self.page.evaluate(INSTRUMENT)

    # ---- reading
    @property
    def title(self) -> str:
        return self.page.locator("h1#step-title").inner_text().strip()

    def is_result(self) -> bool:
        return self.page.locator("ol.differential").count() > 0

    def form(self) -> StepForm | None:
        data = self.page.evaluate(READ_FORM)
        if data is None:
            return None
        classes = self.page.locator("#step").get_attribute("class") or ""
        kind = next((c[5:] for c in classes.split() if c.startswith("step-")), "")
        return StepForm(url=self.page.url, title=self.title, kind=kind, **data)

    def trail(self) -> list[str]:
        return [
            t.strip() for t in self.page.locator("aside.trail li.trail-entry").all_inner_texts()
        ]

    def events(self) -> dict[str, int] | None:
        result: dict[str, int] | None = self.page.evaluate("() => window.__events || null")
        return result

    def history_length(self) -> int:
        return int(self.page.evaluate("() => history.length"))

    # ---- answering
    def fill(self, form: StepForm, answers: dict[str, Answer] | None = None) -> dict[str, Answer]:
        """Fill the form: given answers, else the first radio option and empty quantities; in a
        "tick all that apply" list, the boxes answered "yes", else "None of these". Returns
        what was entered."""
        answers = answers or {}
        entered: dict[str, Answer] = {}
        for key, options in form.radios.items():
            value = answers.get(key, options[0]["value"])
            assert isinstance(value, str)
            self.page.locator(
                f'form.step-form input[type=radio][name="{key}"][value="{value}"]'
            ).check()
            entered[key] = value
        for q in form.quantities:
            key = q["key"]
            given = answers.get(key, "")
            number, unit = given if isinstance(given, tuple) else (given, None)
            self.page.locator(f'form.step-form input[name="{key}"]').fill(number)
            if unit is not None and q["units"]:
                self.page.locator(f'form.step-form select[name="unit.{key}"]').select_option(unit)
            entered[key] = given
        ticked = [k for k in form.checkboxes if answers.get(k) == "yes"]
        for key in ticked:
            self.page.locator(f'form.step-form input[type=checkbox][name="{key}"]').check()
            entered[key] = "yes"
        if form.checklist and not ticked:
            entered["all"] = "no"  # submitted with the "None of these" button
        return entered

    def submit(self, button: str = "button[type=submit].primary") -> Response:
        """Press Continue and wait until the next step (or the same step with errors) is
        shown. Returns the response to the form's own request (303, or 422 on errors)."""
        settled = -1
        if self.js:
            events = self.events()
            assert events is not None, "the page was fully reloaded: htmx did not do the swap"
            settled = events["settle"]
        self.page.evaluate("() => document.getElementById('walk').setAttribute('data-stale', '')")
        with self.page.expect_response(
            lambda r: r.request.method == "GET" and "from=" in r.url
        ) as info:
            self.page.locator(f"form.step-form {button}").click()
        self.page.wait_for_selector("#walk:not([data-stale])", state="attached")
        if self.js:
            self.page.wait_for_function(
                "n => !window.__events || window.__events.settle > n", arg=settled
            )
        else:
            self.page.wait_for_load_state()
        return info.value

    def step(self, answers: dict[str, Answer] | None = None) -> StepForm:
        """Answer the current step; returns the form as it was, with the entries made."""
        form = self.form()
        assert form is not None, f"no step form on {self.page.url} ({self.title!r})"
        entered = self.fill(form, answers)
        button = "button.none-of-these" if entered.get("all") == "no" else None
        response = self.last_response = self.submit(button) if button else self.submit()
        assert response.status == 303, (
            f"step {form.title!r} was not accepted (HTTP {response.status}): "
            f"{self.page.locator('.field-error').all_inner_texts()}"
        )
        self.history.append(form)
        return form

    def until(
        self,
        done: Callable[[StepForm], bool],
        answers: dict[str, Answer] | None = None,
        max_steps: int = 60,
    ) -> StepForm:
        """Answer steps until a step form satisfies `done`; returns that (unanswered) form."""
        for _ in range(max_steps):
            form = self.form()
            assert form is not None, f"reached {self.title!r} without the step looked for"
            if done(form):
                return form
            self.step(answers)
        raise AssertionError(f"no such step within {max_steps} steps")

    def to_result(self, answers: dict[str, Answer] | None = None, max_steps: int = 60) -> None:
        for _ in range(max_steps):
            if self.is_result():
                return
            self.step(answers)
        raise AssertionError(f"no result within {max_steps} steps")

    def until_lab(self, max_steps: int = 60) -> StepForm:
        """Walk to the lab step that asks total calcium (where a unit slip is likeliest); if
        the walk reaches a result without one, come back to the first lab step met."""
        first_lab: str | None = None
        for _ in range(max_steps):
            form = self.form()
            if form is None:
                break
            if form.quantities:
                if any(q["key"] == "total_calcium" for q in form.quantities):
                    return form
                first_lab = first_lab or form.url
            self.step()
        assert first_lab is not None, "the walk met no lab entry step"
        self.page.goto(first_lab)
        self.ready()
        form = self.form()
        assert form is not None
        return form

    @staticmethod
    def impossible_entry(form: StepForm) -> tuple[str, Answer]:
        """A value no patient can have for one quantity of the form: total calcium 9 mmol/L
        (the classic unit slip: 9 mg/dL typed as mmol/L) if asked, else an absurd number."""
        for q in form.quantities:
            if q["key"] == "total_calcium" and "mmol/L" in q["units"]:
                return "total_calcium", ("9", "mmol/L")
        q = form.quantities[0]
        return q["key"], "1000000"


@pytest.fixture
def make_walker(target: Target) -> Callable[..., Walker]:
    def make(page: Page, js: bool = True) -> Walker:
        return Walker(page, target.algorithm_id, js=js)

    return make


@dataclass(frozen=True)
class Scenario:
    """URLs of the pages checked for accessibility, found by walking (JavaScript off)."""

    first_question: str
    lab_error: str
    result: str


@pytest.fixture(scope="session")
def scenario(browser: Browser, base_url: str) -> Iterator[Scenario]:
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    walker = Walker(page, TARGET.algorithm_id, js=False)
    walker.open()
    walker.until(lambda f: bool(f.radios) or f.checklist)
    first_question = page.url
    lab = walker.until_lab()
    key, value = Walker.impossible_entry(lab)
    walker.fill(lab, {key: value})
    response = walker.submit()
    assert response.status == 422, f"impossible {key}={value} was accepted"
    lab_error = page.url
    page.goto(lab.url)
    walker.to_result()
    result = page.url
    context.close()
    yield Scenario(first_question, lab_error, result)


# --------------------------------------------------------------------------- accessibility

_RUN_AXE = """async () => {
  const results = await axe.run(document);
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
  }));
}"""


def axe_violations(page: Page) -> str:
    """Runs the vendored axe-core in the page (its context must bypass the app's CSP) and
    returns the violations, of any impact, as readable lines; empty when there are none."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(_RUN_AXE)
    if not violations:
        return ""
    lines = [f"{len(violations)} axe violation(s):"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    at {t}" for t in v["targets"][:8])
        if len(v["targets"]) > 8:
            lines.append(f"    … and {len(v['targets']) - 8} more")
    return "\n".join(lines)
