"""Fixture Bundles moved to the present: the CDS Hooks service makes no card for a calcium older
than its window, so a test of a card needs results sampled hours ago, not on the fixture's date."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any


def _walk(item: Any, shift: timedelta) -> None:
    if isinstance(item, dict):
        for key, value in item.items():
            if key in ("effectiveDateTime", "valueDateTime") and isinstance(value, str):
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
                item[key] = (moment + shift).isoformat()
            elif key == "birthDate" and isinstance(value, str) and len(value) == 10:
                item[key] = (date.fromisoformat(value) + timedelta(days=shift.days)).isoformat()
            else:
                _walk(value, shift)
    elif isinstance(item, list):
        for value in item:
            _walk(value, shift)


def recent(resource: dict[str, Any], hours_ago: float = 2) -> dict[str, Any]:
    """A copy of `resource` whose latest sample was taken `hours_ago` hours ago; every other
    time (and the birth date, by whole days) moves with it."""
    out = copy.deepcopy(resource)
    times: list[datetime] = []

    def collect(item: Any) -> None:
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "effectiveDateTime" and isinstance(value, str):
                    times.append(datetime.fromisoformat(value.replace("Z", "+00:00")))
                else:
                    collect(value)
        elif isinstance(item, list):
            for value in item:
                collect(value)

    collect(out)
    latest = max(times)
    target = datetime.now(UTC) - timedelta(hours=hours_ago)
    shift = target - latest
    shift = timedelta(days=shift.days) + timedelta(hours=round(shift.seconds / 3600))
    _walk(out, shift)
    return out
