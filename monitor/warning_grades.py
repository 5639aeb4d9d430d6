"""Heavy-pollution warning grades from a city's forecast AQI, by effective-dated rule sets.

The grading standards are data (``config/warning.toml``, validated by
:mod:`monitor.rules_config`): the 2016 Beijing-Tianjin-Hebei unified four-grade standard,
the later national three-grade form (blue dropped; durations in hours, "a day" being any
24 consecutive hours), and stricter city plans such as Beijing's 2023 revision.  One small
engine evaluates any of them: a grade holds when any of its clauses holds, a clause when all
of its conditions hold, a condition when the forecast AQI is above (>) / reaches (>=) a
threshold for at least a duration, in one unbroken run or in total.  When a forecast meets
several grades the highest applies.

The forecast is a sequence of AQI values at a regular step: daily AQI (24 h, the default) or
hourly values of the rolling 24-h AQI (1 h).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import IntEnum

import numpy as np
import pandas as pd

from monitor.rules_config import Condition, RuleSet, WarningRules

#: Region wildcard in ``RuleSet.regions``.
ANY_REGION = "*"
#: How many forecast steps a reason lists one by one before it summarizes the span.
LISTED_STEPS = 6


class Grade(IntEnum):
    """Warning grades in increasing severity."""

    NONE = 0
    BLUE = 1
    YELLOW = 2
    ORANGE = 3
    RED = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def colour(self) -> str:
        """Display colour of the grade (its name: 蓝/黄/橙/红色预警; grey for no warning)."""
        return GRADE_COLOURS[self]


#: Display colours of the warning grades, named by the grading standard itself
#: (blue, yellow, orange and red warnings); no warning is grey.
GRADE_COLOURS: dict[Grade, str] = {
    Grade.NONE: "#9E9E9E", Grade.BLUE: "#1E6FD9", Grade.YELLOW: "#FFD400",
    Grade.ORANGE: "#FF7E00", Grade.RED: "#E00000",
}


@dataclass(frozen=True)
class GradeResult:
    """The grade of one forecast and why.

    ``steps`` are the labels (index entries, or positions) of the forecast steps that meet the
    deciding clause, ``values`` their AQI; empty when the grade is ``NONE``.
    """

    grade: Grade
    rule_set: str
    reason: str
    steps: tuple[object, ...]
    values: tuple[float, ...]

    def as_dict(self) -> dict[str, object]:
        """JSON-serialisable form (e.g. for the evidence of a regional decision); ``grade``
        is the lower-case name (``none blue yellow orange red``)."""
        return {"grade": self.grade.label, "rule_set": self.rule_set, "reason": self.reason,
                "steps": [str(s) for s in self.steps], "values": list(self.values)}


@dataclass(frozen=True)
class _Match:
    positions: np.ndarray
    description: str


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start positions and lengths of the runs of True in ``mask``."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    return starts, np.flatnonzero(edges == -1) - starts


def _describe_threshold(condition: Condition) -> str:
    if condition.above is not None:
        return f"AQI > {condition.above:g}"
    return f"AQI >= {condition.reaches:g}"


def _steps_text(labels: np.ndarray, values: np.ndarray, positions: np.ndarray) -> str:
    shown = [f"{labels[p]}: {values[p]:g}" for p in positions[:LISTED_STEPS]]
    if len(positions) > LISTED_STEPS:
        top = values[positions].max()
        return (f"{labels[positions[0]]} .. {labels[positions[-1]]}, "
                f"{len(positions)} steps, max {top:g}")
    return ", ".join(shown)


def _match(condition: Condition, values: np.ndarray, labels: np.ndarray,
           step_hours: float) -> _Match | None:
    """Where the condition holds in the forecast, or None when it does not."""
    with np.errstate(invalid="ignore"):
        mask = (values > condition.above) if condition.above is not None else (
            values >= condition.reaches)
    needed_steps = int(np.ceil(condition.hours / step_hours))
    if condition.consecutive:
        starts, lengths = _runs(mask)
        if not len(lengths) or lengths.max() < needed_steps:
            return None
        longest = int(np.argmax(lengths))
        positions = np.arange(starts[longest], starts[longest] + lengths[longest])
    else:
        positions = np.flatnonzero(mask)
        if len(positions) < needed_steps:
            return None
    count = len(positions)
    word = {24: "day", 1: "hour"}.get(step_hours, "step")
    unit = (word if count == 1 else f"{word}s") + ("" if word != "step" else
                                                    f" of {step_hours:g} h")
    how = f"for {count} consecutive" if condition.consecutive and count > 1 else f"on {count}"
    text = (f"{_describe_threshold(condition)} {how} {unit} (needs {condition.hours} h) "
            f"[{_steps_text(labels, values, positions)}]")
    return _Match(positions, text)


def _as_forecast(aqi: Sequence[float] | np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(aqi, pd.Series):
        values, labels = aqi.to_numpy(dtype=np.float64), aqi.index.astype(str).to_numpy()
    else:
        values = np.asarray(aqi, dtype=np.float64)
        labels = np.array([f"step {i}" for i in range(len(values))], dtype=object)
    if values.ndim != 1:
        raise ValueError(f"forecast AQI must be one sequence per city, got shape {values.shape}")
    negative = np.flatnonzero(values < 0)
    if len(negative):
        raise ValueError(f"forecast AQI must not be negative: {labels[negative[0]]} = "
                         f"{values[negative[0]]:g}")
    return values, labels


def grade(aqi: Sequence[float] | np.ndarray | pd.Series, rule_set: RuleSet, *,
          step_hours: float = 24) -> GradeResult:
    """The warning grade of one city's AQI forecast under ``rule_set``.

    Parameters
    ----------
    aqi : sequence, array or Series
        Forecast AQI in time order at a regular step (NaN = no forecast, never counts as
        above a threshold).  A Series' index labels the steps in the reason.
    rule_set : RuleSet
        From ``config/warning.toml`` (see :func:`rule_set_for`).
    step_hours : float
        Hours per forecast step: 24 for daily AQI, 1 for hourly rolling 24-h AQI.

    Returns
    -------
    GradeResult
        the highest grade whose conditions hold, the reason (which steps, which values).
    """
    if step_hours <= 0:
        raise ValueError(f"step_hours must be positive, got {step_hours}")
    values, labels = _as_forecast(aqi)
    for rule in sorted(rule_set.grades, key=lambda r: Grade[r.grade.upper()], reverse=True):
        for clause in rule.any_of:
            matches = [_match(c, values, labels, step_hours) for c in clause.all_of]
            if all(m is not None for m in matches):
                held = [m for m in matches if m is not None]
                positions = np.unique(np.concatenate([m.positions for m in held]))
                reason = (f"{rule.grade} under {rule_set.id}: "
                          + " and ".join(m.description for m in held))
                return GradeResult(Grade[rule.grade.upper()], rule_set.id, reason,
                                   tuple(labels[positions]), tuple(values[positions].tolist()))
    peak = "no forecast values" if np.isnan(values).all() else f"max AQI {np.nanmax(values):g}"
    return GradeResult(Grade.NONE, rule_set.id,
                       f"none under {rule_set.id}: no grade's conditions hold ({peak})", (), ())


def grade_cities(aqi: pd.DataFrame, rule_set: RuleSet, *, step_hours: float = 24
                 ) -> pd.DataFrame:
    """:func:`grade` for each column (city) of a forecast frame indexed by time.

    Returns a frame indexed by city with ``grade`` (int), ``grade_name`` and ``reason``.
    """
    results = {city: grade(aqi[city], rule_set, step_hours=step_hours) for city in aqi.columns}
    return pd.DataFrame({
        "grade": [int(r.grade) for r in results.values()],
        "grade_name": [r.grade.label for r in results.values()],
        "reason": [r.reason for r in results.values()],
    }, index=pd.Index(list(results), name=aqi.columns.name or "city"))


def rule_set_for(region: str, on: date, rules: WarningRules) -> RuleSet:
    """The grading rule set in force for ``region`` on ``on``.

    A rule set naming the region wins over one for every region (``"*"``), so a region's
    stricter plan replaces the regional standard while it is in force; among equally
    specific ones the latest ``effective_from`` wins.

    Raises
    ------
    ValueError
        when no rule set applies, naming the region, the date and the configured sets.
    """
    day = on.date() if isinstance(on, datetime) else on
    in_force = [r for r in rules.rule_sets.values() if r.in_force(day)]
    for wanted in (region, ANY_REGION):
        candidates = [r for r in in_force if wanted in r.regions]
        if candidates:
            return max(candidates, key=lambda r: r.effective_from)
    configured = ", ".join(
        f"{r.id} ({'/'.join(r.regions)}, {r.effective_from}..{r.effective_until or ''})"
        for r in rules.rule_sets.values())
    raise ValueError(f"no warning rule set for region {region!r} on {day}; "
                     f"configured: {configured}")
