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


# A number followed by a unit of any lab: the mark of a value, read or not.
_NUMBER = r"[+-]?[0-9]+(?:[.,][0-9]+)?"


@dataclass(frozen=True)
class Pasted:
    key: str
    number: str  # as written, in ASCII digits (a decimal comma is read by `split_number`)
    unit: str  # as written, "" if none or not a unit of the finding


def _names(algorithm: Algorithm) -> dict[str, str]:
    """Every name a value may be printed under, lower-cased, with the finding it fills: the
    names the algorithm declares and the LOINC long common names of its codes."""
    owner: dict[str, str] = {}
    for key, finding in algorithm.findings.items():
        for name in [*finding.names, *(code.name for code in finding.loinc)]:
            owner.setdefault(name.lower(), key)
    return owner


def _pattern(algorithm: Algorithm) -> tuple[re.Pattern[str], dict[str, str], re.Pattern[str]]:
    memo = algorithm.memo()
    cached = memo.get("paste_pattern")
    if cached is None:
        owner = _names(algorithm)
        names = sorted(owner, key=len, reverse=True)
        alternation = "|".join(re.escape(n) for n in names) or "(?!)"
        # One optional separator between the name and the number, with spaces on either side;
        # written so that a run of spaces can be read one way only (linear time).
        pattern = re.compile(
            rf"(?<![A-Za-z0-9])({alternation})(?![A-Za-z])[ \t]*(?:[:=][ \t]*)?"
            rf"({_NUMBER})[ \t]*([^\s,;()]*)",
            re.IGNORECASE,
        )
        units = {
            u
            for f in algorithm.findings.values()
            if f.kind == "quantity"
            for u in [*f.units(), *f.unit_aliases]
            if len(u) > 1 and "/" in u or u in ("U/L", "%")
        }
        unit_alternation = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
        valued = re.compile(rf"({_NUMBER})[ \t]*(?:{unit_alternation})(?![A-Za-z])", re.I)
        cached = memo["paste_pattern"] = (pattern, owner, valued)
    return cached


def read_pasted(algorithm: Algorithm, text: str) -> list[Pasted]:
    """Every value recognised in `text`, in order; a finding named twice keeps its first."""
    pattern, owner, _ = _pattern(algorithm)
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


def unread_lines(algorithm: Algorithm, text: str) -> list[str]:
    """The lines of `text` that hold a value with a laboratory unit ("12 nmol/L") under a name
    no finding declares, so that nothing pasted is dropped without a word."""
    pattern, _, valued = _pattern(algorithm)
    text = ascii_digits(text[:MAX_PASTE])
    read = [m.span() for m in pattern.finditer(text)]
    lines: list[str] = []
    for hit in valued.finditer(text):
        if any(start <= hit.start() < end for start, end in read):
            continue
        begin = text.rfind("\n", 0, hit.start()) + 1
        finish = text.find("\n", hit.end())
        line = text[begin : finish if finish != -1 else len(text)].strip()
        if line and line not in lines:
            lines.append(line)
    return lines
