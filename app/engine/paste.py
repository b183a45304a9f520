"""Lab values pasted as text ("Ca 1.6 mmol/L, Mg 0.8, PTH 250 pg/mL"), read by the names a
finding declares (`names` in the algorithm file). Pure: text in, values or a message out.

A value is a declared name, an optional ":" or "=", a number, and an optional unit right after
it. A unit that the finding does not accept is not guessed: the value is read as if typed
without one (canonical unit, or asked back where the finding requires a unit), so an
impossible value is refused with the usual hint at the likely unit mix-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.engine.models import Algorithm
from app.engine.values import ascii_digits, match_unit

MAX_PASTE = 4000


@dataclass(frozen=True)
class Pasted:
    key: str
    number: str  # as written, in ASCII digits (a decimal comma is read by `split_number`)
    unit: str  # as written, "" if none or not a unit of the finding


def _pattern(algorithm: Algorithm) -> tuple[re.Pattern[str], dict[str, str]]:
    memo = algorithm.memo()
    cached = memo.get("paste_pattern")
    if cached is None:
        owner: dict[str, str] = {}
        for key, finding in algorithm.findings.items():
            for name in finding.names:
                owner[name.lower()] = key
        names = sorted(owner, key=len, reverse=True)
        alternation = "|".join(re.escape(n) for n in names) or "(?!)"
        pattern = re.compile(
            rf"(?<![A-Za-z0-9])({alternation})(?![A-Za-z])\s*[:=]?\s*"
            r"([+-]?[0-9]+(?:[.,][0-9]+)?)[ \t]*([^\s,;()]*)",
            re.IGNORECASE,
        )
        cached = memo["paste_pattern"] = (pattern, owner)
    return cached


def read_pasted(algorithm: Algorithm, text: str) -> list[Pasted]:
    """Every value recognised in `text`, in order; a finding named twice keeps its first."""
    pattern, owner = _pattern(algorithm)
    out: list[Pasted] = []
    seen: set[str] = set()
    for match in pattern.finditer(ascii_digits(text[:MAX_PASTE])):
        key = owner[match.group(1).lower()]
        if key in seen:
            continue
        seen.add(key)
        unit = match.group(3)
        if unit and match_unit(algorithm.findings[key], unit) is None:
            unit = ""
        out.append(Pasted(key, match.group(2), unit))
    return out
