"""Scoring engine of the air quality index: one scale, one report row set at a time.

Applies the data of :mod:`monitor.aqi_tables` and :mod:`monitor.epa` (which standard
applies when is decided in :mod:`monitor.aqi`).  Everything is vectorised; bad values
give NaN or a capped index with a QC reason, never an exception mid-dataset.

References
----------
.. [1] HJ 633-2012 and HJ 633-2026, Technical Regulation on Ambient Air Quality Index,
   clause 4.1 (IAQI by linear interpolation in Table 1, rounded up to an integer),
   clause 4.2 (AQI = max IAQI; primary pollutant(s) when AQI > 50, ties all named;
   HJ 633-2012: non-attainment pollutants, IAQI > 100), Table 2 (categories).
.. [2] US EPA, EPA-454/B-24-002 (2024), section IV: equation 1, truncation of
   concentrations; the index rounded up (see :mod:`monitor.epa` on rounding).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from monitor.aqi_tables import (
    HJ633_2012,
    HJ633_2026,
    AqiStandard,
    Category,
    Indicator,
    OverflowAction,
    Scale,
)
from monitor.epa import EPA_2024

FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]
ArrayLike = npt.ArrayLike

#: Every standard, by name.
STANDARDS: dict[str, AqiStandard] = {s.name: s for s in (HJ633_2012, HJ633_2026, EPA_2024)}

#: QC reasons returned alongside IAQI values.
REASON_NEGATIVE = "negative_concentration"
REASON_BELOW_SCALE = "below_scale"
REASON_ABOVE_SCALE = "above_scale_capped"
REASON_FALLBACK = "above_scale_used_{period}"
REASON_FALLBACK_MISSING = "above_scale_no_{period}_value"
REASON_INCOMPLETE = "incomplete_aqi_not_published"


def get_standard(name: str) -> AqiStandard:
    """The standard called ``name``; ValueError listing the allowed names."""
    try:
        return STANDARDS[name]
    except KeyError:
        raise ValueError(
            f"unknown standard {name!r}; allowed: {', '.join(sorted(STANDARDS))}"
        ) from None


@dataclass(frozen=True, slots=True)
class Scored:
    """IAQI values and, per value, the QC reason (None when the value is ordinary)."""

    iaqi: FloatArray
    reason: ObjectArray


def _round_up(values: FloatArray) -> FloatArray:
    """IAQI rounded up to an integer (HJ 633 clause 4.1; EPA worked examples)."""
    return np.ceil(np.round(values, 6))  # no 50.000000001 -> 51 from binary floating point


def _interpolate(scale: Scale, conc: FloatArray) -> tuple[FloatArray, ObjectArray]:
    """Linear interpolation inside the scale's segments, before rounding and overflow."""
    c_lo, c_hi, i_lo, i_hi = scale.arrays()
    if scale.truncate_decimals is not None:
        factor = 10.0 ** scale.truncate_decimals
        conc = np.floor(np.round(conc * factor, 6)) / factor
    seg = np.clip(np.searchsorted(c_lo, conc, side="right") - 1, 0, len(c_lo) - 1)
    values = i_lo[seg] + (i_hi[seg] - i_lo[seg]) * (conc - c_lo[seg]) / (c_hi[seg] - c_lo[seg])
    reason = np.full(conc.shape, None, dtype=object)
    below = conc < c_lo[0]
    values[below] = np.nan
    reason[below] = REASON_BELOW_SCALE
    return values, reason


def score_scale(
    standard: AqiStandard,
    scale: Scale,
    concentration: ArrayLike,
    fallback: ArrayLike | None = None,
) -> Scored:
    """IAQI of concentrations on one scale, with the standard's overflow and rounding rules.

    Parameters
    ----------
    standard, scale
        The standard and one of its scales.
    concentration
        Values in the scale's unit; NaN for missing.
    fallback
        For a scale whose overflow rule falls back to another period (HJ 633-2012
        Table 1 notes 2 and 3; EPA O3 8-h and SO2 1-h), the same pollutant's
        concentration for that period, aligned with ``concentration``.
    """
    conc = np.asarray(concentration, dtype="float64")
    values, reason = _interpolate(scale, conc)
    negative = conc < 0
    above = conc > scale.top_concentration
    if scale.overflow is OverflowAction.CAP:
        values[above] = scale.top_index
        reason[above] = REASON_ABOVE_SCALE
    else:
        period = scale.fallback_period or ""
        fb_conc = np.full(conc.shape, np.nan) if fallback is None else np.broadcast_to(
            np.asarray(fallback, dtype="float64"), conc.shape)
        replacement = score_scale(standard, resolve_scale(standard, scale.pollutant, period),
                                  fb_conc).iaqi
        if standard.fallback_at_least_top:  # a fallback value below its scale counts too
            replacement = np.where(fb_conc >= 0, np.fmax(replacement, scale.top_index),
                                   np.nan)
        values[above] = replacement[above]
        missing = above & np.isnan(replacement)
        reason[above] = REASON_FALLBACK.format(period=period)
        reason[missing] = REASON_FALLBACK_MISSING.format(period=period)
    values[negative] = np.nan
    reason[negative] = REASON_NEGATIVE
    return Scored(_round_up(values), reason)


def resolve_scale(standard: AqiStandard, pollutant: str, period: str) -> Scale:
    """The scale a reading of ``pollutant`` for ``period`` is scored on.

    A reading period may differ from the scale's: PM2.5 1-h values are scored on the
    24-h scale in the real-time report, daily maxima of 8-h means on the 8-h scale.
    """
    if (pollutant, period) in standard.scales:
        return standard.scales[(pollutant, period)]
    for ind in (*standard.realtime, *standard.daily):
        if ind.pollutant == pollutant and ind.reading_period == period:
            return standard.scales[(pollutant, ind.scale_period)]
    pollutants = sorted({p for p, _ in standard.scales})
    if pollutant not in pollutants:
        raise ValueError(f"unknown pollutant {pollutant!r} for {standard.name}; "
                         f"allowed: {', '.join(pollutants)}")
    periods = sorted({q for p, q in standard.scales if p == pollutant} | {
        i.reading_period for i in (*standard.realtime, *standard.daily)
        if i.pollutant == pollutant})
    raise ValueError(f"unknown period {period!r} for {pollutant} in {standard.name}; "
                     f"allowed: {', '.join(periods)}")


def category_level(aqi: ArrayLike, standard: str = "hj633-2026") -> FloatArray:
    """Category level 1-6 of each AQI (NaN for NaN), HJ 633 Table 2 / EPA Table 1."""
    cats = get_standard(standard).categories
    values = np.asarray(aqi, dtype="float64")
    highs = np.array([c.index_hi for c in cats[:-1]], dtype="float64")
    levels = np.searchsorted(highs, values, side="left") + 1.0
    return np.where(np.isnan(values), np.nan, levels)


def categories(aqi: ArrayLike, standard: str = "hj633-2026") -> pd.DataFrame:
    """Level, Chinese and English name, colour and advice of each AQI value."""
    cats = get_standard(standard).categories
    table = pd.DataFrame([{
        "level": float(c.level), "name_zh": c.name_zh, "name_en": c.name_en,
        "colour": c.hex_colour, "health_effects": c.health_effects, "advice": c.advice,
    } for c in cats])
    levels = pd.DataFrame({"level": category_level(aqi, standard)})
    return levels.merge(table, on="level", how="left")


def category(level: int, standard: str = "hj633-2026") -> Category:
    """The category with ``level`` (1-6)."""
    return get_standard(standard).categories[level - 1]


#: The reports a standard may define.
REPORTS: tuple[str, ...] = ("daily", "realtime")


def check_report(report: str) -> None:
    """ValueError listing :data:`REPORTS` unless ``report`` is one of them."""
    if report not in REPORTS:
        raise ValueError(f"unknown report {report!r}; allowed: {', '.join(REPORTS)}")


def report_indicators(standard: AqiStandard, report: str) -> tuple[Indicator, ...]:
    """Indicators of the ``realtime`` or ``daily`` report; ValueError if there is none."""
    check_report(report)
    indicators = standard.realtime if report == "realtime" else standard.daily
    if not indicators:
        others = [s.name for s in STANDARDS.values()
                  if (s.realtime if report == "realtime" else s.daily)]
        raise ValueError(f"{standard.name} defines no {report} report; "
                         f"standards with one: {', '.join(others)}")
    return indicators


def combine(
    standard: AqiStandard,
    report: str,
    columns: Mapping[tuple[str, str], FloatArray],
    n_rows: int,
    unmonitored: Mapping[tuple[str, str], npt.NDArray[np.bool_]] | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """AQI report for rows of one standard from per-indicator concentration columns.

    ``columns`` maps ``(pollutant, reading period)`` to aligned concentration arrays
    (NaN = missing).  A pollutant a station does not monitor (no column, or True in
    ``unmonitored``) does not make the report incomplete; a missing value does
    (HJ 633-2026 completeness rule).  Returns aligned arrays ``aqi``, ``category``,
    ``primary_pollutants``, ``nonattainment_pollutants``, ``iaqi_<label>`` and ``reason``.
    """
    indicators = report_indicators(standard, report)
    nan = np.full(n_rows, np.nan)
    labels = [ind.label for ind in indicators]
    matrix = np.empty((n_rows, len(indicators)))
    missing = np.zeros((n_rows, len(indicators)), dtype=bool)
    reasons: list[tuple[npt.NDArray[np.intp], ObjectArray]] = []
    for k, ind in enumerate(indicators):
        scale = standard.scales[(ind.pollutant, ind.scale_period)]
        fallback = None
        if ind.fallback_reading is not None:
            fallback = columns.get((ind.pollutant, ind.fallback_reading), nan)
        scored = score_scale(standard, scale, columns.get((ind.pollutant, ind.reading_period),
                                                          nan), fallback)
        matrix[:, k] = scored.iaqi
        # below a scale that starts above zero (EPA O3 1-h) is not scored, not missing
        below = np.equal(scored.reason, REASON_BELOW_SCALE)
        key = (ind.pollutant, ind.reading_period)
        if key in columns:
            skipped = (unmonitored or {}).get(key, np.zeros(n_rows, dtype=bool))
            missing[:, k] = np.isnan(scored.iaqi) & ~skipped & ~below
        flagged = np.flatnonzero(np.not_equal(scored.reason, None) & ~below)
        reasons.append((flagged, ind.label + ":" + scored.reason[flagged].astype(str)))
    present = ~np.isnan(matrix)
    aqi = np.where(present.any(axis=1), np.nanmax(np.where(present, matrix, -np.inf), axis=1),
                   np.nan)
    aqi = np.where(np.isnan(aqi), np.nan, np.clip(aqi, standard.aqi_floor, None))
    if standard.incomplete_publish_above is not None:
        required = [k for k, ind in enumerate(indicators)
                    if ind.pollutant not in standard.completeness_ignores]
        complete = ~missing[:, required].any(axis=1)
        withheld = ~complete & (aqi <= standard.incomplete_publish_above)
        aqi = np.where(withheld, np.nan, aqi)
        rows = np.flatnonzero(withheld & present.any(axis=1))
        reasons.append((rows, np.full(len(rows), REASON_INCOMPLETE, dtype=object)))
    return {
        "aqi": aqi,
        "category": category_level(aqi, standard.name),
        "primary_pollutants": _pollutants_at(matrix, labels, aqi, standard.primary_above,
                                             equal=True),
        "nonattainment_pollutants": _pollutants_at(matrix, labels, aqi,
                                                   standard.nonattainment_above, equal=False),
        **{f"iaqi_{label}": matrix[:, k] for k, label in enumerate(labels)},
        "reason": _join_reasons(reasons, n_rows),
    }


def _pollutants_at(matrix: FloatArray, labels: list[str], aqi: FloatArray,
                   threshold: float | None, *, equal: bool) -> ObjectArray:
    """Comma-joined labels: IAQI == AQI when AQI > threshold (primary pollutants,
    ties all listed), or IAQI > threshold (non-attainment); None when not applicable."""
    if threshold is None:
        return np.full(len(aqi), None, dtype=object)
    hit = (matrix == aqi[:, None]) & (aqi[:, None] > threshold) if equal else matrix > threshold
    return _label_sets(hit, labels)


def _label_sets(hit: npt.NDArray[np.bool_], labels: list[str]) -> ObjectArray:
    """Comma-joined labels of the True cells of each row (None for none), via bit codes."""
    codes = hit.astype(np.int64) @ (np.int64(1) << np.arange(len(labels), dtype=np.int64))
    names = np.array([",".join(lb for k, lb in enumerate(labels) if code >> k & 1) or None
                      for code in range(2 ** len(labels))], dtype=object)
    return names[codes]


def _join_reasons(parts: list[tuple[npt.NDArray[np.intp], ObjectArray]],
                  n_rows: int) -> ObjectArray:
    """Semicolon-joined reasons per row (None for rows without any) from sparse parts
    ``(row positions, reasons)``, in the order of ``parts``."""
    result = np.full(n_rows, None, dtype=object)
    if not parts:
        return result
    rows = np.concatenate([r for r, _ in parts])
    texts = np.concatenate([t for _, t in parts])
    order = np.lexsort((np.repeat(np.arange(len(parts)), [len(r) for r, _ in parts]), rows))
    rows, texts = rows[order], texts[order]
    starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1] if rows.size else rows
    rank = np.arange(rows.size) - np.repeat(starts, np.diff(np.r_[starts, rows.size]))
    for r in range(int(rank.max()) + 1 if rows.size else 0):
        at = rank == r
        result[rows[at]] = texts[at] if r == 0 else result[rows[at]] + ";" + texts[at]
    return result
