"""Typed models of the domain-rule configuration files, and their loaders.

``water.toml``
    GB 3838-2002 Table 1 class limits per parameter (river and lake/reservoir variants) and
    named assessments (which parameters decide the class of a river or lake section).
``warning.toml``
    Effective-dated, per-region heavy-pollution warning rule sets: each grade is a list of
    alternative clauses (OR), each clause a list of conditions (AND) on the forecast AQI.

Both are validated at load time; a mistake raises :class:`monitor.config.ConfigError` naming
the file and the field.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, model_validator

from monitor.config import DEFAULT_CONFIG_DIR, _Model, read_toml, validate_model
from monitor.schema import PARAMETERS

#: Number of graded classes in GB 3838-2002 Table 1 (I..V); class 6 is "worse than V".
N_CLASSES = 5
#: Water-body types of the station table (``water_body``) with lake/reservoir limits.
LAKE_LIKE: frozenset[str] = frozenset({"lake", "reservoir"})
#: All accepted water-body types.
WATER_BODIES: frozenset[str] = frozenset({"river", *LAKE_LIKE})


def _check_limits(limits: list[float] | None, increasing: bool, what: str) -> None:
    if limits is None:
        return
    if len(limits) != N_CLASSES:
        raise ValueError(f"{what} must list {N_CLASSES} limits (classes I-V), got {len(limits)}")
    if not all((a <= b) if increasing else (a >= b) for a, b in pairwise(limits)):
        order = "non-decreasing" if increasing else "non-increasing"
        raise ValueError(f"{what} must be {order} from class I to V: {limits}")


class ClassLimits(_Model):
    """Class I..V limits of one parameter (GB 3838-2002 Table 1)."""

    kind: Literal["maximum", "minimum", "range"]
    #: Limits for classes I..V for rivers (and for lakes when ``lake_limits`` is absent).
    limits: list[float] | None = None
    #: Limits for classes I..V for lakes and reservoirs, where the table differs.
    lake_limits: list[float] | None = None
    #: For ``kind = "range"``: the closed range every class I-V requires.
    range: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kind == "range":
            if self.range is None or self.limits or self.lake_limits:
                raise ValueError("kind 'range' takes only range = [low, high]")
            return self
        if self.limits is None and self.lake_limits is None:
            raise ValueError(f"kind {self.kind!r} needs limits and/or lake_limits")
        increasing = self.kind == "maximum"
        _check_limits(self.limits, increasing, "limits")
        _check_limits(self.lake_limits, increasing, "lake_limits")
        return self

    def for_body(self, lake: bool) -> list[float] | None:
        """The limits that apply to a lake/reservoir (``lake=True``) or river section."""
        return (self.lake_limits or self.limits) if lake else self.limits


class Assessment(_Model):
    """Which parameters decide a section's class, for rivers and for lakes/reservoirs."""

    description: str = ""
    river: list[str]
    lake: list[str]


class WaterStandardInfo(_Model):
    name: str
    table: str
    no_exceedance_multiple: list[str] = Field(default_factory=list)
    default_assessment: str


class WaterRules(_Model):
    """The content of ``water.toml``."""

    standard: WaterStandardInfo
    limits: dict[str, ClassLimits]
    assessments: dict[str, Assessment]

    @model_validator(mode="after")
    def _known_names(self) -> Self:
        unknown = [p for p in self.limits if p not in PARAMETERS]
        if unknown:
            raise ValueError(f"limits for unknown parameters {unknown}")
        for name, assessment in self.assessments.items():
            for body in ("river", "lake"):
                for p in getattr(assessment, body):
                    limits = self.limits.get(p)
                    if limits is None:
                        raise ValueError(f"assessments.{name}.{body}: no limits for {p!r}")
                    if limits.kind != "range" and limits.for_body(body == "lake") is None:
                        raise ValueError(f"assessments.{name}.{body}: {p!r} has no {body} limits")
        if self.standard.default_assessment not in self.assessments:
            raise ValueError(f"standard.default_assessment {self.standard.default_assessment!r} "
                             f"is not one of {sorted(self.assessments)}")
        return self

    def assessment(self, name: str | None = None) -> Assessment:
        """The named assessment (default: ``standard.default_assessment``)."""
        chosen = name or self.standard.default_assessment
        try:
            return self.assessments[chosen]
        except KeyError:
            raise ValueError(f"unknown assessment {chosen!r}; configured: "
                             f"{', '.join(sorted(self.assessments))}") from None


# --- warning grading -------------------------------------------------------------------------

class Condition(_Model):
    """Forecast AQI above (or reaching) a threshold for at least a duration.

    ``above``: strictly greater than; ``reaches``: greater than or equal.  ``hours`` is the
    minimum duration (a forecast day counts 24 h); ``consecutive`` asks for one unbroken run
    ("将持续"), otherwise the hours are counted anywhere in the forecast ("出现").
    """

    above: float | None = None
    reaches: float | None = None
    hours: int = Field(24, ge=1)
    consecutive: bool = True

    @model_validator(mode="after")
    def _one_threshold(self) -> Self:
        if (self.above is None) == (self.reaches is None):
            raise ValueError("give exactly one of 'above' (>) or 'reaches' (>=)")
        return self


class Clause(_Model):
    """All conditions must hold (AND)."""

    all_of: list[Condition] = Field(min_length=1)


class GradeRule(_Model):
    """A grade is issued when any clause holds (OR)."""

    grade: Literal["blue", "yellow", "orange", "red"]
    any_of: list[Clause] = Field(min_length=1)


class RuleSet(_Model):
    """One effective-dated heavy-pollution warning grading standard."""

    id: str
    name: str
    source: str = ""
    #: Region ids it applies to; ``"*"`` = every region without a more specific rule set.
    regions: list[str] = Field(min_length=1)
    effective_from: date
    #: First day it no longer applies (exclusive); open-ended when absent.
    effective_until: date | None = None
    grades: list[GradeRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _dates_and_grades(self) -> Self:
        if self.effective_until is not None and self.effective_until <= self.effective_from:
            raise ValueError("effective_until must be after effective_from")
        names = [g.grade for g in self.grades]
        if len(set(names)) != len(names):
            raise ValueError(f"a grade is defined twice: {names}")
        return self

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_until is None
                                               or on < self.effective_until)


class WarningRules(_Model):
    """The content of ``warning.toml``."""

    rule_sets: dict[str, RuleSet]


def _load(path: Path, model: type[_Model], prepare: Any = None) -> Any:
    raw = read_toml(path)
    if prepare is not None:
        raw = prepare(raw)
    return validate_model(model, raw, path)


def load_water_rules(config_dir: Path | str | None = None) -> WaterRules:
    """Load and validate ``water.toml`` from ``config_dir`` (default: the project's config/)."""
    return _load(Path(config_dir or DEFAULT_CONFIG_DIR) / "water.toml", WaterRules)


def _with_ids(raw: dict[str, Any]) -> dict[str, Any]:
    sets = raw.get("rule_sets", {})
    if not isinstance(sets, dict):
        return raw
    return {**raw, "rule_sets": {key: {"id": key, **value} if isinstance(value, dict) else value
                                 for key, value in sets.items()}}


def load_warning_rules(config_dir: Path | str | None = None) -> WarningRules:
    """Load and validate ``warning.toml`` from ``config_dir`` (default: the project's config/)."""
    return _load(Path(config_dir or DEFAULT_CONFIG_DIR) / "warning.toml", WarningRules,
                 _with_ids)
