"""The algorithm file format: pydantic models for findings, conditions, nodes and diagnoses.

Everything here is data. Nothing is evaluated with `eval`; conditions are a small tagged
language (`finding` comparisons combined with `all`, `any`, `not`) interpreted by
`app.engine.conditions`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=80)]
FindingKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- sources


class Source(Strict):
    """One published source. `evidence` uses the tags of the clinical reference."""

    citation: str
    url: str | None = None
    evidence: Literal["R", "R-2", "NV", "derived", "protocol"]
    note: str | None = None


# --------------------------------------------------------------------------- findings


class UnitConversion(Strict):
    """`canonical = value * factor` for a value entered in `unit`."""

    unit: str
    factor: float = Field(gt=0)
    source: Id


class AgeBand(Strict):
    """Selects whom a band applies to. Bounds are in days (age) and grams (birth weight);
    `min_*` inclusive, `max_*` exclusive. A band with no bounds applies to everyone."""

    min_age_days: float | None = None
    max_age_days: float | None = None
    min_birth_weight_g: float | None = None
    max_birth_weight_g: float | None = None


class Grade(Strict):
    """A named band below the reference interval (25-OH vitamin D: deficient, insufficient), in
    the finding's canonical unit; the flag of a low value names its grade."""

    below: float
    label: str


class ReferenceRange(AgeBand):
    """An age- (or birth-weight-) specific reference interval, in the finding's canonical unit.
    `grades` name the bands under `low` (most severe first), from the same source."""

    low: float | None = None
    high: float | None = None
    label: str
    source: Id
    grades: list[Grade] = []

    @model_validator(mode="after")
    def _has_a_bound(self) -> ReferenceRange:
        if self.low is None and self.high is None:
            raise ValueError("a reference range needs `low`, `high` or both")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("`low` is above `high`")
        return self


class LoincCode(Strict):
    """A LOINC code under which laboratories report this finding, with where it was checked."""

    code: Annotated[str, Field(pattern=r"^[0-9]{1,7}-[0-9]$")]
    name: str
    source: Id


class RefusedCode(Strict):
    """A LOINC code that looks right but must never fill this finding, and why."""

    code: Annotated[str, Field(pattern=r"^[0-9]{1,7}-[0-9]$")]
    name: str
    reason: str
    source: Id


class Finding(Strict):
    """One fact about the patient. `kind` decides how it is asked and stored."""

    kind: Literal["boolean", "choice", "quantity"]
    label: str
    help: str | None = None
    # choice
    options: dict[Id, str] | None = None
    # quantity
    unit: str | None = None
    conversions: list[UnitConversion] = []
    plausible: tuple[float, float] | None = None
    ranges: list[ReferenceRange] = []
    range_note: str | None = None
    loinc: list[LoincCode] = []
    loinc_refused: list[RefusedCode] = []
    step: float | None = None
    # Names used on lab reports ("Mg", "25(OH)D"), for reading pasted results.
    names: list[str] = []
    # Other spellings of the units (`m` and `mo` for months), accepted in forms and URLs.
    unit_aliases: dict[str, str] = {}
    # A number typed without a unit is asked back instead of read in the canonical unit (age:
    # 9 could be hours, days, weeks, months or years).
    require_unit: bool = False

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Finding:
        if self.kind == "choice" and not self.options:
            raise ValueError("a choice finding needs `options`")
        if self.options and "unknown" in self.options:
            raise ValueError("`unknown` is the answer 'not known'; it cannot be an option id")
        if self.kind != "choice" and self.options:
            raise ValueError("only a choice finding has `options`")
        if self.kind == "quantity":
            if self.plausible is None:
                raise ValueError("a quantity finding needs `plausible` (min, max)")
            if self.plausible[0] > self.plausible[1]:
                raise ValueError("`plausible` min is above max")
        elif (
            self.unit
            or self.conversions
            or self.ranges
            or self.plausible
            or self.loinc
            or self.loinc_refused
        ):
            raise ValueError(
                "only a quantity finding has units, ranges, LOINC codes or a plausible range"
            )
        for alias, unit in self.unit_aliases.items():
            if unit not in self.units():
                raise ValueError(f"unit alias {alias!r} names {unit!r}, which is not a unit")
        return self

    def units(self) -> list[str]:
        """Accepted units, canonical first ("" for a unitless quantity such as pH)."""
        return [self.unit or ""] + [c.unit for c in self.conversions]

    def factor(self, unit: str) -> float | None:
        if unit == (self.unit or ""):
            return 1.0
        for c in self.conversions:
            if c.unit == unit:
                return c.factor
        return None


# --------------------------------------------------------------------------- conditions


class Threshold(Strict):
    """One of three forms: a number with its unit and source; `range: low|high`, the bound of
    the compared finding's age-specific reference range; or `limit: <id>`, an age- or
    weight-specific decision limit declared under `limits`."""

    value: float | None = None
    unit: str | None = None
    source: Id | None = None
    range: Literal["low", "high"] | None = None
    limit: Id | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Threshold:
        if self.range is not None or self.limit is not None:
            if self.range is not None and self.limit is not None:
                raise ValueError("a threshold takes `range` or `limit`, not both")
            if self.value is not None or self.unit is not None:
                raise ValueError("a range or limit threshold takes no `value` or `unit`")
        else:
            missing = [n for n in ("value", "unit", "source") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"a threshold needs {', '.join(missing)}")
        return self


class FindingTest(Strict):
    """A test on one finding. Exactly one comparison must be given."""

    finding: FindingKey
    is_: str | bool | None = Field(default=None, alias="is")
    below: Threshold | None = None
    at_least: Threshold | None = None
    above: Threshold | None = None
    at_most: Threshold | None = None
    known: bool | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_comparison(self) -> FindingTest:
        given = [
            n
            for n in ("is_", "below", "at_least", "above", "at_most", "known")
            if getattr(self, n) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "a finding test takes exactly one of is, below, at_least, above, at_most, known"
            )
        return self

    @field_validator("is_", mode="before")
    @classmethod
    def _yes_no(cls, v: object) -> object:
        # YAML 1.1 reads unquoted yes/no as booleans; accept either spelling.
        if v is True:
            return "yes"
        if v is False:
            return "no"
        return v


class AllOf(Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(Strict):
    any: list[Condition] = Field(min_length=1)


class NotOf(Strict):
    not_: Condition = Field(alias="not")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _condition_kind(value: Any) -> str | None:
    """Which kind of condition a mapping is, from its key (`finding`, `all`, `any`, `not`), so
    that one authoring mistake gives one message instead of one per possible kind."""
    if isinstance(value, dict):
        for key in ("finding", "all", "any", "not"):
            if key in value:
                return key
        return None
    kinds: dict[type, str] = {FindingTest: "finding", AllOf: "all", AnyOf: "any", NotOf: "not"}
    return kinds.get(type(value))


Condition = Annotated[
    Annotated[FindingTest, Tag("finding")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotOf, Tag("not")],
    Discriminator(
        _condition_kind,
        custom_error_type="condition",
        custom_error_message="a condition needs one of `finding`, `all`, `any` or `not`",
    ),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


# --------------------------------------------------------------------------- nodes


class Disagreement(Strict):
    """Where sources disagree: what was chosen, and the other positions with their sources."""

    topic: str
    chosen: str
    sources: list[Id] = Field(min_length=1)
    alternatives: list[Alternative] = Field(min_length=1)


class Alternative(Strict):
    position: str
    sources: list[Id] = Field(min_length=1)


Disagreement.model_rebuild()


class NodeBase(Strict):
    """What every node kind has. Each kind answers for itself what it records, where it can
    lead, whether it is computed, and which conditions it reads (no `isinstance` chains)."""

    id: Id
    title: str
    prompt: str | None = None
    rationale: str
    sources: list[Id] = Field(min_length=1)
    disagreements: list[Disagreement] = []
    uncertain: str | None = None

    computed: ClassVar[bool] = False  # worked out from findings, never shown as a step
    ends: ClassVar[bool] = False  # a result: the walk stops here

    def records(self) -> tuple[str, ...]:
        """The findings this step records."""
        return ()

    def targets(self) -> list[str]:
        """The nodes it can lead to."""
        return []

    def conditions(self) -> list[tuple[str, Condition]]:
        """The conditions it reads, each with where it sits (for checks and messages)."""
        return []


class QuestionNode(NodeBase):
    """Asks one or more yes/no or choice findings on one screen. `layout: checklist` shows
    yes/no findings as one "tick all that apply" list with "None of these" (unticked boxes are
    "no"); `skippable` adds a button that records them all as not known."""

    kind: Literal["question"]
    asks: list[FindingKey] = Field(min_length=1)
    next: Id
    layout: Literal["each", "checklist"] = "each"
    skippable: bool = False

    def records(self) -> tuple[str, ...]:
        return tuple(self.asks)

    def targets(self) -> list[str]:
        return [self.next]


class MeasurementNode(NodeBase):
    """Asks one or more lab values (or age, weight), each typed with its unit."""

    kind: Literal["measurement"]
    asks: list[FindingKey] = Field(min_length=1)
    next: Id
    shows_limits: list[Id] = []

    def records(self) -> tuple[str, ...]:
        return tuple(self.asks)

    def targets(self) -> list[str]:
        return [self.next]


class Branch(Strict):
    when: Condition
    next: Id
    label: str
    note: str | None = None


class Fallback(Strict):
    next: Id
    label: str
    note: str | None = None


class DecisionNode(NodeBase):
    """A branch computed from findings already known. Branches are tried in order; the first
    that is true is taken. If a branch cannot be decided (a finding it needs is unknown) before
    one is true, `unknown` is taken; if every branch is false, `otherwise`."""

    kind: Literal["decision"]
    branches: list[Branch] = Field(min_length=1)
    otherwise: Fallback
    unknown: Fallback

    computed: ClassVar[bool] = True

    def targets(self) -> list[str]:
        return [b.next for b in self.branches] + [self.otherwise.next, self.unknown.next]

    def conditions(self) -> list[tuple[str, Condition]]:
        return [(f"branches.{i}.when", b.when) for i, b in enumerate(self.branches)]


Route = Literal["IV", "IO", "IM", "SC"]


class Dilution(Strict):
    """How the stated strength is diluted before it is given: each mL made up to
    `final_ml_per_ml` mL with `diluent` (\"1 in 5\" is 5)."""

    final_ml_per_ml: float = Field(gt=1)
    diluent: str
    source: Id


class Drug(Strict):
    """A product at a stated strength, and the per-dose ceiling that no dose row may pass,
    whatever the row says (`app.engine.doses`)."""

    name: str  # "Calcium gluconate 10%"
    salt: str  # "calcium gluconate": every mg figure is of this salt unless said otherwise
    element: Literal["calcium", "magnesium"]
    mmol_per_ml: float = Field(gt=0)  # of the element, in the stated strength
    mg_salt_per_ml: float = Field(gt=0)
    strength_source: Id
    ceiling_ml: float = Field(gt=0)  # per dose, of the stated strength
    ceiling_source: Id
    # The fastest rate any row may be given at (mL of the stated strength per minute).
    max_ml_per_min: float | None = Field(default=None, gt=0)
    max_rate_source: Id | None = None
    never_routes: list[Route] = []
    never_routes_source: Id | None = None
    # Not for the youngest (calcium chloride is not for newborns, for example).
    min_age_days: float | None = Field(default=None, gt=0)
    min_age_source: Id | None = None
    min_age_reason: str | None = None
    indication: str | None = None  # "only when magnesium is low", shown beside its default

    @property
    def ceiling_mmol(self) -> float:
        return self.ceiling_ml * self.mmol_per_ml

    @model_validator(mode="after")
    def _sourced(self) -> Drug:
        pairs = (
            ("max_ml_per_min", "max_rate_source"),
            ("never_routes", "never_routes_source"),
            ("min_age_days", "min_age_source"),
        )
        for value, source in pairs:
            if getattr(self, value) and getattr(self, source) is None:
                raise ValueError(f"`{value}` needs `{source}`")
        if self.min_age_days is not None and not self.min_age_reason:
            raise ValueError("`min_age_days` needs `min_age_reason`")
        return self


class Dose(AgeBand):
    """One named source's dose of one drug for one age band, as the source reports it.

    The model refuses the rows that made unsafe volumes: every row declares its age band (both
    ends), its dose per kg of the drug's stated strength (or a fixed dose), a per-dose maximum,
    the routes, how it is prepared (a dilution, or `undiluted: true`) and the shortest time it
    may be given over. `app.engine.doses` caps every row at the lower of its own maximum and the
    drug's ceiling. Exactly one row per drug and age band is the `default` regimen."""

    drug: Id
    label: str  # "Bolus", "Correction"
    population: str
    default: bool = False
    ml_per_kg_low: float | None = Field(default=None, gt=0)
    ml_per_kg_high: float | None = Field(default=None, gt=0)
    fixed_ml: float | None = Field(default=None, gt=0)  # a dose not per kg ("4 mmol")
    max_ml: float = Field(gt=0)
    max_source: Id | None = None  # when the maximum is not the row's own source's
    routes: list[Route] = Field(min_length=1)
    line: str
    dilution: Dilution | None = None
    undiluted: bool = False
    min_minutes: float = Field(gt=0)
    rate_source: Id | None = None  # when the duration is not the row's own source's
    interval: str | None = None
    # The source's own words where they differ from mL and mmol ("100-200 mg/kg"), with the
    # basis of every mg figure in them.
    reported: str | None = None
    reported_basis: Literal["salt", "elemental"] | None = None
    notes: str | None = None
    source: Id

    @model_validator(mode="after")
    def _safe_row(self) -> Dose:
        if self.max_age_days is None:
            raise ValueError("a dose row needs an age band with `max_age_days`")
        if (self.ml_per_kg_low is None) == (self.fixed_ml is None):
            raise ValueError("a dose row needs `ml_per_kg_low` or `fixed_ml`, not both")
        if self.ml_per_kg_high is not None:
            if self.ml_per_kg_low is None:
                raise ValueError("`ml_per_kg_high` needs `ml_per_kg_low`")
            if self.ml_per_kg_low > self.ml_per_kg_high:
                raise ValueError("`ml_per_kg_low` is above `ml_per_kg_high`")
        if self.fixed_ml is not None and self.fixed_ml > self.max_ml:
            raise ValueError("`fixed_ml` is above `max_ml`")
        if (self.dilution is None) == (not self.undiluted):
            raise ValueError("a dose row needs `dilution` or `undiluted: true`, not both")
        if self.reported and re.search(r"\bmg\b", self.reported) and not self.reported_basis:
            raise ValueError("`reported` gives mg: say whether of the salt or elemental")
        return self


class Caution(Strict):
    """A safety point with the sources that state it. With `drug`, it stands on that drug's
    card; with `when`, it is shown only when the values given make it true."""

    text: str
    sources: list[Id] = Field(min_length=1)
    drug: Id | None = None
    when: Condition | None = None


class Withhold(Strict):
    """The values given rule a drug out: no dose of it is shown, and `text` says why."""

    drug: Id
    when: Condition
    text: str
    sources: list[Id] = Field(min_length=1)


class FirstStep(Strict):
    """An action put first when the values given make it true (glucose in a seizing newborn)."""

    text: str
    when: Condition
    sources: list[Id] = Field(min_length=1)


class ActionNode(NodeBase):
    """Steps to carry out and acknowledge (for example emergency care) before going on."""

    kind: Literal["action"]
    severity: Literal["emergency", "info"] = "info"
    steps: list[str] = Field(min_length=1)  # the few actions shown first
    more_steps: list[str] = []
    cautions: list[Caution] = []
    # Optional values asked on the same screen (age, weight for the dose card); leaving them
    # empty does not hold the walk.
    offers: list[FindingKey] = []
    first_steps: list[FirstStep] = []
    doses: list[Dose] = []
    withhold: list[Withhold] = []
    acknowledge: FindingKey
    next: Id

    def records(self) -> tuple[str, ...]:
        return (self.acknowledge,)

    def conditions(self) -> list[tuple[str, Condition]]:
        found: list[tuple[str, Condition]] = []
        for i, first in enumerate(self.first_steps):
            found.append((f"first_steps.{i}.when", first.when))
        for i, caution in enumerate(self.cautions):
            if caution.when is not None:
                found.append((f"cautions.{i}.when", caution.when))
        for i, rule in enumerate(self.withhold):
            found.append((f"withhold.{i}.when", rule.when))
        return found

    def targets(self) -> list[str]:
        return [self.next]


class Obtain(Strict):
    """A test to obtain next, and the findings it would give (it is not offered once they are
    all known)."""

    test: str
    meaning: str
    findings: list[FindingKey] = Field(min_length=1)


class ResultNode(NodeBase):
    """Where the walk ends. The differential is ranked over the whole catalogue from every
    finding known (see `app.engine.ranking`); `candidates` are this leaf's prior: they are
    always shown, gain the `listed` weight, and their order breaks ties."""

    kind: Literal["result"]
    candidates: list[Id] = Field(min_length=1)
    provisional: bool = False
    obtain: list[Obtain] = []
    advice: list[str] = []

    ends: ClassVar[bool] = True


Node = Annotated[
    QuestionNode | MeasurementNode | DecisionNode | ActionNode | ResultNode,
    Field(discriminator="kind"),
]


# --------------------------------------------------------------------------- diagnoses


class Clue(Strict):
    """A finding that points to a diagnosis. `key`: a defining finding (when present, the
    diagnosis joins the differential wherever the walk ends; when known to be absent, it counts
    against). `support`: a clue that adds weight. `prior`: a background likelihood such as an
    age band, which weighs least. Under `against`, a clue subtracts the `against` weight, or,
    marked `prior`, only the `prior` weight (a caution rather than evidence against)."""

    when: Condition
    label: str
    weight: Literal["key", "support", "prior"] = "support"


class Diagnosis(Strict):
    name: str
    summary: str
    supports: list[Clue] = Field(min_length=1)
    against: list[Clue] = []
    tests: list[str] = Field(min_length=1)
    sources: list[Id] = Field(min_length=1)
    excluded: Condition | None = None
    # Diagnoses this one can be a consequence of (kidney injury of tumour lysis): when one of
    # them has a key finding present, this one is placed after it, never above its named cause.
    consequence_of: list[Id] = []


class Ranking(Strict):
    """How evidence is weighed (see `app.engine.ranking`). A design choice, stated as data so
    that a reviewer sees it and can change it in one place."""

    key: float = Field(default=3, gt=0)
    support: float = Field(default=1, gt=0)
    prior: float = Field(default=0.5, gt=0)
    against: float = Field(default=2, ge=0)
    key_absent: float = Field(default=2, ge=0)
    listed: float = Field(default=1, ge=0)
    main_list: int = Field(default=8, ge=1)

    @model_validator(mode="after")
    def _order(self) -> Ranking:
        if not self.key > self.support > self.prior:
            raise ValueError("weights must order key > support > prior")
        return self


class Limit(Strict):
    """A decision limit that depends on age or birth weight, shown beside the value."""

    finding: FindingKey
    label: str
    bands: list[LimitBand] = Field(min_length=1)


class LimitBand(AgeBand):
    value: float
    unit: str
    label: str
    source: Id


Limit.model_rebuild()


class ImportRule(Strict):
    """One rule of the FHIR import, as a clinician reviews it: what it does, the value it uses
    (if any), and either the source of that value or, when the app chose it, why."""

    id: Id
    rule: str
    value: str | None = None
    source: Id | None = None
    choice: str | None = None  # the app's own choice: why this value

    @model_validator(mode="after")
    def _sourced(self) -> ImportRule:
        if self.source is None and self.choice is None:
            raise ValueError("a rule names its `source`, or says why the app chose it (`choice`)")
        return self


class FhirImport(Strict):
    """How results from a hospital system (FHIR Observations) fill findings: which statuses
    count, UCUM unit codes and the app's spelling of them, and the index draw: the lowest recent
    calcium sets the index time; every other finding comes from the sample nearest to it, no
    earlier than its look-back window and no later than `draw_after_hours` after it."""

    statuses: list[str] = Field(min_length=1)
    window_hours: float = Field(gt=0)  # look-back before the index calcium
    windows: dict[FindingKey, float] = {}  # hours, where a finding's look-back differs
    paired_with_calcium_hours: dict[FindingKey, float] = {}  # e.g. PTH drawn with the calcium
    draw_after_hours: float = Field(default=1, ge=0)  # latest a result may follow the index
    card_max_age_hours: float = Field(default=72, gt=0)  # an older index calcium: no card
    same_sample_tolerance: float = Field(default=0.02, ge=0, lt=0.5)  # two units, one sample
    ucum: dict[str, str] = Field(min_length=1)  # UCUM code -> the finding's unit spelling
    sources: list[Id] = Field(min_length=1)
    rules: list[ImportRule] = []

    def look_back(self, key: str) -> float:
        """Hours before the index calcium a result of `key` may have been drawn."""
        return self.paired_with_calcium_hours.get(key) or self.windows.get(key, self.window_hours)


class WeightCheck(Strict):
    """A weight is checked against a growth reference for the age (corrected for gestation
    when it is given) before any volume is worked out; outside `sds_low`..`sds_high` for both
    sexes it is asked back as a likely slip."""

    reference: Literal["uk-who"] = "uk-who"
    reference_source: Id
    sds_low: float = Field(lt=0)
    sds_high: float = Field(gt=0)
    cutoff_source: Id


class Algorithm(Strict):
    id: Id
    title: str
    version: str
    reviewed: str
    summary: str
    start: Id
    protocol_definition: str
    sources: dict[Id, Source] = Field(min_length=1)
    findings: dict[FindingKey, Finding] = Field(min_length=1)
    limits: dict[Id, Limit] = {}
    diagnoses: dict[Id, Diagnosis] = Field(min_length=1)
    nodes: list[Node] = Field(min_length=1)
    algorithm_sources: list[Id] = Field(min_length=1)
    ranking: Ranking = Ranking()
    fhir_import: FhirImport | None = None
    drugs: dict[Id, Drug] = {}
    weight_check: WeightCheck | None = None

    _by_id: dict[str, Any] = PrivateAttr(default_factory=dict)
    _memo: dict[str, Any] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        # Built once per loaded algorithm, so a step costs the path walked, not the tree size.
        self._by_id = {node.id: node for node in self.nodes}

    def node(self, node_id: str) -> Any:
        return self._by_id[node_id]

    def node_ids(self) -> dict[str, Any]:
        return self._by_id

    def memo(self) -> dict[str, Any]:
        """Values derived from the (immutable) algorithm, computed once. Fetch it once per use:
        pydantic resolves private attributes on a slow path."""
        return self._memo
