"""City warning grades from the forecasts, and ONE regional warning decision.

1. Each member city's forecast daily AQI (days 1..H) is reduced to the value that is graded
   (:func:`monitor.forecast.graded_aqi`: point, upper interval bound, or the quantile that
   makes "P(AQI > threshold) >= p" equivalent to "value > threshold") and graded with the
   rule set in force for its region on the issue day (:mod:`monitor.warning_grades`).
2. The regional level is the highest grade G that enough member cities reach: at least
   ``k`` cities (``k_of_n``; all of them when the area has fewer than ``k``) or at least
   ``ceil(share * N)`` of the N member cities (``share``), a city "reaching" G when its
   grade is G or higher.  Cities whose grades
   differ therefore pool down to the highest grade enough of them share.  A city without a
   forecast (insufficient data) counts as not reaching any grade and is named in the
   evidence.  Optionally the cities are counted under one area-wide rule set
   (``decision.area_rule_set``) instead of their regions' own ones.
3. Every member city applies at least the regional level; a city whose own rule gives a
   higher grade applies its own (the stricter one).
4. All cities share one effective start: the first local midnight at least ``lead_hours``
   (>= 24) after the issue time.

References
----------
.. [1] 京津冀及周边地区重污染天气预警分级标准 (unified regional warning grading of
   Beijing-Tianjin-Hebei and surrounding areas, 2016): regional warnings on the forecast,
   issued in advance, cities applying at least the regional grade.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from monitor.config import AppConfig
from monitor.forecast import RECENT_DAYS, SeriesForecast, graded_aqi
from monitor.forecast_config import DecisionSettings, Grading
from monitor.rules_config import WarningRules
from monitor.warning_grades import Grade, GradeResult, grade, rule_set_for

#: (region id, city name): how member cities are keyed.
CityKey = tuple[str, str]


@dataclass(frozen=True)
class RegionalDecision:
    """One regional warning decision with its evidence (consumed by ``alerts``).

    Attributes
    ----------
    level
        The regional grade (``Grade.NONE``: no regional warning).
    area
        Joint-control area id (or a single region id).
    regions
        Member region ids, in order.
    city_levels
        Per region, per city, the level the city applies: max(regional, own).
    own_levels
        Per region, per city, the grade of the city's own rule set.
    rule
        The regional rule that was applied, e.g. ``"k_of_n(k=2)"``.
    why
        Which rule fired and why, in words.
    issue_time, effective_start
        Timezone-aware; ``effective_start`` >= issue time + lead (>= 24 h).
    evidence
        JSON-serialisable: per city the forecast days (AQI, intervals, probabilities,
        primary pollutant), the graded values, the grade, its rule set and reason.
    """

    level: Grade
    area: str
    regions: tuple[str, ...]
    city_levels: Mapping[str, Mapping[str, Grade]]
    own_levels: Mapping[str, Mapping[str, Grade]]
    rule: str
    why: str
    issue_time: datetime
    effective_start: datetime
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.issue_time.tzinfo is None or self.effective_start.tzinfo is None:
            raise ValueError("RegionalDecision times must be timezone-aware")
        if (self.effective_start - self.issue_time).total_seconds() < 24 * 3600:
            raise ValueError("the effective start must be at least 24 h after the issue time")

    @property
    def decided_at(self) -> datetime:
        """The issue time (the name ``alerts.decision.RegionalDecision`` uses)."""
        return self.issue_time

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (levels as lower-case names)."""
        def names(levels: Mapping[str, Mapping[str, Grade]]) -> dict[str, dict[str, str]]:
            return {r: {c: g.label for c, g in cities.items()} for r, cities in levels.items()}
        return {"level": self.level.label, "area": self.area, "regions": list(self.regions),
                "city_levels": names(self.city_levels), "own_levels": names(self.own_levels),
                "rule": self.rule, "why": self.why, "issue_time": self.issue_time.isoformat(),
                "effective_start": self.effective_start.isoformat(),
                "evidence": dict(self.evidence)}


def effective_start(issue_time: datetime, lead_hours: int, tz: str) -> pd.Timestamp:
    """First local midnight of ``tz`` at or after ``issue_time + lead_hours`` (UTC result)."""
    if lead_hours < 24:
        raise ValueError(f"lead_hours must be at least 24, got {lead_hours}")
    earliest = pd.Timestamp(issue_time).tz_convert(tz) + pd.Timedelta(hours=lead_hours)
    midnight = earliest.normalize()
    start = midnight if midnight == earliest else midnight + pd.Timedelta(days=1)
    return start.tz_convert("UTC")


def cities_needed(n_cities: int, settings: DecisionSettings) -> int:
    """How many member cities must reach a grade for the regional level to be that grade."""
    if settings.rule == "k_of_n":
        return max(1, min(settings.k, n_cities))
    return max(1, math.ceil(settings.share * n_cities - 1e-9))


def regional_level(grades: Mapping[CityKey, Grade | None], settings: DecisionSettings
                   ) -> tuple[Grade, str]:
    """The highest grade reached by enough member cities, and why.

    ``grades`` holds every member city; ``None`` marks a city without a forecast.
    """
    n = len(grades)
    needed = cities_needed(n, settings)
    missing = sorted(city for (_, city), g in grades.items() if g is None)
    note = f"; no forecast for {', '.join(missing)}" if missing else ""
    lower_counts = []
    for level in sorted((g for g in Grade if g is not Grade.NONE), reverse=True):
        reaching = sorted(city for (_, city), g in grades.items() if g is not None and g >= level)
        if len(reaching) >= needed:
            why = (f"{len(reaching)} of {n} member cities reach {level.label} "
                   f"({needed} needed): {', '.join(reaching)}")
            higher = f"; {'; '.join(lower_counts)}" if lower_counts else ""
            return level, why + higher + note
        lower_counts.append(f"{level.label} reached by {len(reaching)} (< {needed})")
    return Grade.NONE, (f"no grade reached by {needed} of {n} member cities: "
                        + "; ".join(lower_counts) + note)


def rule_name(settings: DecisionSettings) -> str:
    return (f"k_of_n(k={settings.k})" if settings.rule == "k_of_n"
            else f"share(share={settings.share:g})")


def _city_evidence(forecast: SeriesForecast, graded: pd.Series | None,
                   result: GradeResult | None) -> dict[str, Any]:
    evidence: dict[str, Any] = {"status": forecast.status, "mode": forecast.mode}
    if not forecast.ok or graded is None or result is None:
        evidence["reason"] = forecast.reason
        return evidence
    days = forecast.aqi.assign(day=forecast.aqi["day"].dt.strftime("%Y-%m-%d"))
    evidence["days"] = days.round(4).to_dict(orient="records")
    evidence[f"missing_days_in_last_{RECENT_DAYS}"] = forecast.recent_missing
    evidence["graded_aqi"] = {str(k): round(float(v), 1) for k, v in graded.items()}
    evidence["grade"] = result.grade.label
    evidence["rule_set"] = result.rule_set
    evidence["reason"] = result.reason
    return evidence


def decide(area: str, members: Mapping[str, list[str]],
           forecasts: Mapping[CityKey, SeriesForecast], issue_time: datetime, *,
           rules: WarningRules, grading: Grading, settings: DecisionSettings,
           tz: str) -> RegionalDecision:
    """The regional decision of ``area`` from the member cities' forecasts.

    Parameters
    ----------
    area : str
        Area id (for the record).
    members : mapping
        Region id -> its member cities; every one must have an entry in ``forecasts``
        (an "insufficient data" forecast is an entry).
    forecasts : mapping
        (region, city) -> :class:`SeriesForecast` from the issue day.
    issue_time : datetime
        Timezone-aware issue time.
    rules, grading, settings
        Warning rule sets, grading basis, regional rule.
    tz : str
        Local time zone of the area (day boundaries of the effective start).
    """
    day = pd.Timestamp(issue_time).tz_convert(tz).date()
    if settings.area_rule_set and settings.area_rule_set not in rules.rule_sets:
        raise ValueError(f"decision.area_rule_set {settings.area_rule_set!r} is not a rule set "
                         f"of warning.toml ({', '.join(sorted(rules.rule_sets))})")
    own: dict[CityKey, Grade | None] = {}
    counted: dict[CityKey, Grade | None] = {}
    evidence: dict[str, dict[str, Any]] = {}
    for region, cities in members.items():
        own_rules = rule_set_for(region, day, rules)
        area_rules = (rules.rule_sets[settings.area_rule_set] if settings.area_rule_set
                      else own_rules)
        for city in cities:
            forecast = forecasts.get((region, city))
            if forecast is None:
                raise ValueError(f"no forecast given for member city {city} of {region}")
            graded = graded_aqi(forecast, grading) if forecast.ok else None
            result = grade(graded, own_rules) if graded is not None else None
            own[(region, city)] = result.grade if result is not None else None
            counted[(region, city)] = (grade(graded, area_rules).grade
                                       if graded is not None else None)
            evidence.setdefault(region, {})[city] = _city_evidence(forecast, graded, result)
    level, why = regional_level(counted, settings)
    own_levels: dict[str, dict[str, Grade]] = {}
    applied: dict[str, dict[str, Grade]] = {}
    for (region, city), g in own.items():
        own_levels.setdefault(region, {})[city] = g if g is not None else Grade.NONE
        applied.setdefault(region, {})[city] = max(level, g if g is not None else Grade.NONE)
    start = effective_start(issue_time, settings.lead_hours, tz)
    return RegionalDecision(
        level=level, area=area, regions=tuple(members), city_levels=applied,
        own_levels=own_levels, rule=rule_name(settings), why=why, issue_time=issue_time,
        effective_start=start.to_pydatetime(),
        evidence={"grading": grading.model_dump(), "cities": evidence})


def regional_decision(config: AppConfig, data_dir: Path, now: datetime
                      ) -> RegionalDecision | None:
    """The decision of ``[decision] default_area`` at ``now``: the ``decision_source`` of
    scheduled consultations (``config/alerts.toml``); None without a default area.

    Reads the store of ``data_dir`` and the model cache in it.
    """
    # imported here: the run module builds on this one (forecasts -> decision)
    from monitor.forecast_run import decision_source

    return decision_source(config, data_dir, now)
