"""`make ux`: the 3 a.m. case walked from the start page by the visible controls, as a person
would, in Debian's Chromium, on a desktop (1280x800) and on a phone (360x740).

The case (issue 9): a 9-month-old who is seizing, with labs at hand: total calcium 1.6 mmol/L,
magnesium 0.8 mmol/L, phosphate 1.0 mmol/L, PTH 250 pg/mL, 25-OH vitamin D 12 nmol/L, ALP
1200 U/L, and signs of rickets. The resident enters the labs first, ticks the red flag, reads
the emergency step, ticks the one context finding they know in each list ("None of these"
otherwise), and leaves unknown labs empty.

Printed per device: clicks (every pointer activation: each click, tick and choice, and each
tap into a field before typing in it; moving on to the next field with the keyboard's Next or
Tab key is counted as a key), keys (typed characters and Tab presses), screens (pages seen,
the differential included), screens whose main action (the step form's primary button) was
below the fold on arrival, taps that needed a scroll first, words on those screens up to the
differential, where the three emergency actions end, and whether any screen scrolls sideways.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.factory import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
LABS = {
    "age": "9m",
    "total_calcium": "1.6",
    "magnesium": "0.8",
    "phosphate": "1.0",
    "pth": "250",
    "vitamin_d_25oh": "12",
    "alkaline_phosphatase": "1200",
}
TICK = {"seizures", "rickets_signs"}
DEVICES = {"desktop": (1280, 800), "phone": (360, 740)}


@dataclass
class Tally:
    clicks: int = 0
    keys: int = 0  # typed characters and Tab presses
    scrolled: int = 0  # taps whose target was off screen until scrolled to
    screens: int = 0
    below_fold: int = 0  # screens whose main action was below the fold on arrival
    words: int = 0
    sideways: list[str] = field(default_factory=list)
    emergency_bottom: float | None = None
    emergency_clicks: int | None = None
    result: str = ""

    def seen(self, page: Page) -> None:
        self.screens += 1
        main_action = page.locator("form.step-form button.primary")
        if main_action.count() and not on_screen(main_action.first):
            self.below_fold += 1
        if not page.locator("ol.differential").count():  # words read on the way to it
            self.words += len(page.locator("main").inner_text().split())
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > page.viewport_size["width"]:
            self.sideways.append(f"{page.url} ({width}px)")


def on_screen(locator) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        locator.evaluate(
            "el => { const r = el.getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= window.innerHeight; }"
        )
    )


def click(page: Page, tally: Tally, locator) -> None:  # type: ignore[no-untyped-def]
    tally.clicks += 1
    if os.environ.get("UX_LOG"):
        print(f"  click {tally.clicks} on {title(page)!r}: {locator}", file=sys.stderr)
    if not on_screen(locator):
        tally.scrolled += 1
    locator.click()


def type_into(page: Page, tally: Tally, locator, text: str) -> None:  # type: ignore[no-untyped-def]
    """Into a field as a person would: the keyboard's Next (Tab) from the field being typed in
    when the target comes later in the form, otherwise a tap (counted like any click); then
    the typing. Keys are counted apart from clicks."""
    target = locator.get_attribute("id")
    focused = page.evaluate("() => document.activeElement && document.activeElement.tagName")
    if focused == "INPUT":
        for _ in range(12):
            if page.evaluate("() => document.activeElement.id") == target:
                break
            page.keyboard.press("Tab")
            tally.keys += 1
    if page.evaluate("() => document.activeElement.id") != target:
        click(page, tally, locator)
    page.keyboard.type(text)
    tally.keys += len(text)


def settle(page: Page, title: str) -> None:
    page.wait_for_function(
        "t => { const h = document.querySelector('h1#step-title');"
        " return h && h.innerText.trim() !== t; }",
        arg=title,
    )
    page.wait_for_load_state()


def title(page: Page) -> str:
    return page.locator("h1#step-title").inner_text().strip()


def walk(page: Page, base: str) -> Tally:
    tally = Tally()
    page.goto(f"{base}/algorithms/hypocalcemia")
    tally.seen(page)
    current = title(page)
    click(page, tally, page.get_by_role("link", name="I have lab results"))
    settle(page, current)
    tally.seen(page)
    for key, value in LABS.items():
        type_into(page, tally, page.locator(f"#lab-input-{key}"), value)
    current = title(page)
    click(page, tally, page.get_by_role("button", name="Use these values"))
    settle(page, current)
    for _ in range(40):
        tally.seen(page)
        if page.locator("ol.differential").count():
            tally.result = page.locator("ol.differential > li.diagnosis h3").first.inner_text()
            return tally
        current = title(page)
        if page.locator(".action-emergency").count():
            last = page.locator("ol.action-steps > li").last
            tally.emergency_bottom = last.evaluate("el => el.getBoundingClientRect().bottom")
            tally.emergency_clicks = tally.clicks
            click(page, tally, page.locator("form.step-form button.primary"))
            settle(page, current)
            continue
        checklist = page.locator("fieldset.field-checklist")
        if checklist.count():
            ticked = False
            for box in checklist.locator("input[type=checkbox]").all():
                if box.get_attribute("name") in TICK:
                    click(page, tally, box)
                    ticked = True
            if not ticked:
                click(page, tally, page.locator("form.step-form button.none-of-these"))
                settle(page, current)
                continue
        else:
            for radio in page.locator("fieldset.field-choice").all():
                click(page, tally, radio.locator("input[value=unknown]"))
        click(page, tally, page.locator("form.step-form button.primary"))
        settle(page, current)
    raise SystemExit("no differential within 40 screens")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    logging.getLogger("workup.access").disabled = True
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Settings(algorithms_dir=ROOT / "algorithms")),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for name, (width, height) in DEVICES.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            tally = walk(context.new_page(), base)
            context.close()
            print(
                f"{name} {width}x{height}: {tally.clicks} clicks ({tally.scrolled} needed a "
                f"scroll first), {tally.keys} keys, {tally.screens} screens "
                f"({tally.below_fold} with the main action below the fold), "
                f"{tally.words} words to the differential; "
                f"emergency actions end at "
                f"{tally.emergency_bottom:.0f}px after {tally.emergency_clicks} clicks; "
                f"first: {tally.result}"
            )
            for where in tally.sideways:
                print(f"  scrolls sideways: {where}")
        browser.close()
    server.should_exit = True
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
