"""Finding values: parsing from the URL and from JSON, unit conversion, and encoding back.

A walk's state is an ordered mapping of finding key to value. The order is the order in which
findings were given; the walk uses it to tell steps answered in turn from steps answered by
findings given earlier (see `app.engine.walk`).

Values: `True`/`False` for yes/no findings, an option id (str) for choices, a `Quantity` for
measured values (kept as entered: value and unit; converted only when compared), or
`UNKNOWN`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from app.engine.models import Algorithm, Finding

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str

    def canonical(self, finding: Finding) -> float:
        factor = finding.factor(self.unit)
        assert factor is not None, f"unit {self.unit!r} was not validated"
        return self.value * factor


Value = bool | str | Quantity
Findings = dict[str, Value]


class FindingError(ValueError):
    """A finding that cannot be accepted; `key` names it and the message says why and what to do."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


_NUMBER = re.compile(r"^\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*(.*?)\s*$", re.ASCII)


_UNIT_ALIASES = {"umol/l": "µmol/L", "μmol/l": "µmol/L"}
MAX_TEXT = 40


def format_number(value: float) -> str:
    """The shortest plain decimal that reads back as the same float (never exponent notation,
    which the URL form could not tell from a unit)."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _as_float(key: str, number: int | float) -> float:
    try:
        return float(number)
    except OverflowError:
        raise FindingError(key, "the number is far too large.") from None


def _fold(unit: str) -> str:
    return _UNIT_ALIASES.get(unit.strip().lower(), unit.strip()).lower()


def match_unit(finding: Finding, unit: str) -> str | None:
    """The declared spelling of `unit` if the finding accepts it (case-insensitive), directly or
    through one of its aliases (`m` for months)."""
    wanted = _fold(unit)
    for declared in finding.units():
        if _fold(declared) == wanted:
            return declared
    for alias, declared in finding.unit_aliases.items():
        if _fold(alias) == wanted:
            return declared
    return None


_DECIMAL_SEPARATORS = {"\u066b": "."}  # the Arabic decimal separator
_TYPED = re.compile(r"^\s*([+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+))\s*(.*?)\s*$", re.ASCII)


def ascii_digits(text: str) -> str:
    """`text` with every decimal digit of any script (Arabic-Indic ٠–٩, Persian, full-width…)
    written as 0–9, and the Arabic decimal separator as a point: what a keyboard in another
    script types into a number field reads as the same number."""
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() else _DECIMAL_SEPARATORS.get(c, c)
        for c in text
    )


def split_number(key: str, finding: Finding, text: str) -> tuple[float, str]:
    """A number as typed in a form field, with the unit written after it if any (`9m`,
    `0.8 mmol/L`, `0,8`, `٠٫٨`); the unit is returned as typed ("" if none). A decimal comma
    is read as a point, except where it could as well separate thousands (`1,250`): that is
    asked back rather than guessed, since the two readings differ a thousandfold."""
    match = _TYPED.match(ascii_digits(text))
    if not match:
        raise FindingError(
            key,
            f"{finding.label}: enter a number (digits and a decimal point), or leave it empty.",
        )
    number = match.group(1)
    if "," in number:
        whole, _, fraction = number.lstrip("+-").partition(",")
        if len(fraction) == 3 and 1 <= len(whole) <= 3:
            raise FindingError(
                key,
                f"{finding.label}: is {number} a decimal ({whole}.{fraction}) or a thousands "
                f"separator ({whole}{fraction})? Write it without the comma.",
            )
        number = number.replace(",", ".")
    return float(number), match.group(2)


def _units_text(finding: Finding) -> str:
    units = [u for u in finding.units() if u]
    return ", ".join(units) if units else "no unit"


def _check_plausible(key: str, finding: Finding, q: Quantity) -> Quantity:
    assert finding.plausible is not None
    lo, hi = finding.plausible
    canonical = q.canonical(finding)
    if lo <= canonical <= hi:
        return q
    unit = finding.unit or ""
    hints = []
    for other in finding.units():
        if other == q.unit:
            continue
        as_other = Quantity(q.value, other).canonical(finding)
        if lo <= as_other <= hi:
            hints.append(
                f"{format_number(q.value)} looks like a value in {other or 'no unit'} "
                f"(= {format_number(round(as_other, 3))} {unit})"
            )
    shown = f"{format_number(q.value)} {q.unit}".strip()
    message = (
        f"{shown} is outside the possible range for {finding.label.lower()} "
        f"({format_number(lo)} to {format_number(hi)} {unit})."
    )
    if hints:
        message += " Check the unit: " + "; ".join(hints) + "."
    raise FindingError(key, message)


def make_quantity(key: str, finding: Finding, number: float, unit: str | None) -> Quantity:
    if math.isnan(number) or math.isinf(number):
        raise FindingError(key, "enter a number.")
    if unit is None:
        unit = finding.unit or ""
    declared = match_unit(finding, unit)
    if declared is None:
        raise FindingError(
            key,
            f"the unit {unit!r} is not accepted for {finding.label.lower()}; "
            f"use {_units_text(finding)}.",
        )
    return _check_plausible(key, finding, Quantity(float(number), declared))


def parse_text(key: str, finding: Finding, text: str) -> Value:
    """Parse one finding as written in the URL (`yes`, `formula`, `0.8mmol/L`, `unknown`)."""
    raw = text.strip()
    if len(raw) > MAX_TEXT:
        raise FindingError(key, "the value is too long.")
    if raw.lower() == UNKNOWN:
        return UNKNOWN
    if finding.kind == "boolean":
        if raw.lower() in ("yes", "no"):
            return raw.lower() == "yes"
        raise FindingError(key, "answer yes, no or unknown.")
    if finding.kind == "choice":
        assert finding.options is not None
        if raw in finding.options:
            return raw
        raise FindingError(key, f"choose one of {', '.join(finding.options)} or unknown.")
    match = _NUMBER.match(raw)
    if not match:
        raise FindingError(
            key, f"write a number followed by its unit ({_units_text(finding)}), or unknown."
        )
    return make_quantity(key, finding, float(match.group(1)), match.group(2))


def parse_json(key: str, finding: Finding, value: object) -> Value:
    """Parse one finding of the JSON form. Quantities: `{"value": 2, "unit": "months"}` or a
    bare number in the canonical unit; yes/no: `true`/`false`; choices: the option id."""
    if value == UNKNOWN:
        return UNKNOWN
    if finding.kind == "boolean":
        if isinstance(value, bool):
            return value
        raise FindingError(key, 'expected true, false or "unknown".')
    if finding.kind == "choice":
        assert finding.options is not None
        if isinstance(value, str) and value in finding.options:
            return value
        raise FindingError(key, f'expected one of {", ".join(finding.options)} or "unknown".')
    if isinstance(value, bool):
        raise FindingError(key, "expected a number or {value, unit}.")
    if isinstance(value, int | float):
        return make_quantity(key, finding, _as_float(key, value), None)
    if isinstance(value, Mapping) and set(value) <= {"value", "unit"} and "value" in value:
        number = value["value"]
        unit = value.get("unit", finding.unit or "")
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise FindingError(key, "`value` must be a number.")
        if not isinstance(unit, str):
            raise FindingError(key, "`unit` must be a string.")
        return make_quantity(key, finding, _as_float(key, number), unit)
    raise FindingError(key, 'expected a number, {"value": …, "unit": …} or "unknown".')


def encode_text(value: Value) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, Quantity):
        return f"{format_number(value.value)}{value.unit}"
    return value


def encode_json(value: Value) -> object:
    if isinstance(value, Quantity):
        return {"value": value.value, "unit": value.unit}
    return value


def display(value: Value) -> str:
    """How a value reads on the page."""
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value == UNKNOWN:
        return "Not known"
    if isinstance(value, Quantity):
        return f"{format_number(value.value)} {value.unit}".strip()
    return value


def _finding(algorithm: Algorithm, key: str) -> Finding:
    finding = algorithm.findings.get(key)
    if finding is None:
        raise FindingError(key, "this is not a finding of this algorithm.")
    return finding


def findings_from_pairs(algorithm: Algorithm, pairs: Iterable[tuple[str, str]]) -> Findings:
    """Ordered findings from URL pairs; a repeated key is refused."""
    out: Findings = {}
    for key, text in pairs:
        finding = _finding(algorithm, key)
        if key in out:
            raise FindingError(key, "given more than once.")
        out[key] = parse_text(key, finding, text)
    return out


def findings_from_json(algorithm: Algorithm, data: Mapping[str, object]) -> Findings:
    return {key: parse_json(key, _finding(algorithm, key), v) for key, v in data.items()}


def findings_to_pairs(findings: Findings) -> list[tuple[str, str]]:
    return [(k, encode_text(v)) for k, v in findings.items()]


def findings_to_json(findings: Findings) -> dict[str, object]:
    return {k: encode_json(v) for k, v in findings.items()}
