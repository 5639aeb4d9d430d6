"""Forecast verification: continuous scores, categorical scores, skill, interval coverage.

Pure, vectorised functions over paired forecast/observation arrays (pairs with a NaN on
either side are left out), and :func:`verification_table`, which scores the rolling-origin
backtest cases of :mod:`monitor.backtest` per horizon and method.

References
----------
.. [1] Jolliffe, I. T. and Stephenson, D. B. (eds.), *Forecast Verification: A
   Practitioner's Guide in Atmospheric Science*, 2nd ed., Wiley, 2012: ch. 3 (2x2
   contingency table; POD = a/(a+c), FAR = b/(a+b), CSI = a/(a+b+c)), ch. 5 (MAE, RMSE,
   bias; skill score SS = 1 - MSE/MSE_ref against a reference forecast).
.. [2] WMO/WWRP Joint Working Group on Forecast Verification Research, "Forecast
   verification methods" (the same definitions).
.. [3] HJ 633-2012 / HJ 633-2026, Table 2: the six AQI categories (0-50, 51-100, 101-150,
   151-200, 201-300, > 300) used by the category accuracy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from monitor.aqi import category_level
from monitor.forecast import AQI_THRESHOLDS, INTERVALS
from monitor.rules_config import RuleSet
from monitor.warning_grades import grade

ArrayLike = npt.ArrayLike
#: Methods compared side by side, in table order.
METHODS: tuple[str, ...] = ("model", "persistence", "climatology")


@dataclass(frozen=True, slots=True)
class Contingency:
    """2x2 contingency table of a yes/no event: a hits, b false alarms, c misses, d correct
    negatives (Jolliffe and Stephenson 2012, Table 3.1)."""

    hits: int
    false_alarms: int
    misses: int
    correct_negatives: int

    @property
    def pod(self) -> float:
        """Probability of detection a / (a + c); NaN when the event never occurred."""
        return _ratio(self.hits, self.hits + self.misses)

    @property
    def far(self) -> float:
        """False alarm ratio b / (a + b); NaN when the event was never forecast."""
        return _ratio(self.false_alarms, self.hits + self.false_alarms)

    @property
    def csi(self) -> float:
        """Critical success index a / (a + b + c); NaN when neither occurred nor forecast."""
        return _ratio(self.hits, self.hits + self.misses + self.false_alarms)


def _ratio(num: int, den: int) -> float:
    return float(num / den) if den else float("nan")


def _pairs(forecast: ArrayLike, observed: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(forecast, dtype=np.float64)
    o = np.asarray(observed, dtype=np.float64)
    if f.shape != o.shape:
        raise ValueError(f"forecast and observations differ in shape: {f.shape} vs {o.shape}")
    both = np.isfinite(f) & np.isfinite(o)
    return f[both], o[both]


def contingency(forecast: ArrayLike, observed: ArrayLike, threshold: float) -> Contingency:
    """Contingency table of the event "value > threshold" over the paired values."""
    f, o = _pairs(forecast, observed)
    fe, oe = f > threshold, o > threshold
    return Contingency(hits=int((fe & oe).sum()), false_alarms=int((fe & ~oe).sum()),
                       misses=int((~fe & oe).sum()), correct_negatives=int((~fe & ~oe).sum()))


def continuous_scores(forecast: ArrayLike, observed: ArrayLike) -> dict[str, float]:
    """``n``, ``mae``, ``rmse`` and ``bias`` (mean forecast minus observation)."""
    f, o = _pairs(forecast, observed)
    if not len(f):
        return {"n": 0, "mae": float("nan"), "rmse": float("nan"), "bias": float("nan")}
    error = f - o
    return {"n": len(f), "mae": float(np.abs(error).mean()),
            "rmse": float(np.sqrt((error ** 2).mean())), "bias": float(error.mean())}


def category_accuracy(forecast_aqi: ArrayLike, observed_aqi: ArrayLike,
                      standard: str = "hj633-2026") -> float:
    """Share of pairs whose forecast AQI falls in the observed AQI's category (of six)."""
    f, o = _pairs(forecast_aqi, observed_aqi)
    if not len(f):
        return float("nan")
    return float((category_level(f, standard) == category_level(o, standard)).mean())


def mse_skill(rmse: float, rmse_reference: float) -> float:
    """Skill score against a reference forecast: 1 - MSE / MSE_ref (1 perfect, 0 no skill)."""
    if not np.isfinite(rmse_reference) or rmse_reference == 0:
        return float("nan")
    return float(1 - (rmse / rmse_reference) ** 2)


def coverage(lower: ArrayLike, upper: ArrayLike, observed: ArrayLike) -> float:
    """Share of observations inside [lower, upper] (pairs with any NaN left out)."""
    lo = np.asarray(lower, dtype=np.float64)
    hi = np.asarray(upper, dtype=np.float64)
    o = np.asarray(observed, dtype=np.float64)
    ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(o)
    if not ok.any():
        return float("nan")
    return float(((o[ok] >= lo[ok]) & (o[ok] <= hi[ok])).mean())


def method_scores(cases: pd.DataFrame, method: str, standard: str) -> dict[str, Any]:
    """Scores of one method on backtest cases (columns ``<method>_pm25``, ``<method>_aqi``,
    ``obs_pm25``, ``obs_aqi``; the model also ``model_pm25_lo80`` ... for coverage)."""
    pm25 = continuous_scores(cases[f"{method}_pm25"], cases["obs_pm25"])
    aqi = continuous_scores(cases[f"{method}_aqi"], cases["obs_aqi"])
    scores: dict[str, Any] = {"n": pm25["n"]}
    scores |= {f"pm25_{k}": v for k, v in pm25.items() if k != "n"}
    scores |= {f"aqi_{k}": v for k, v in aqi.items() if k != "n"}
    scores["category_accuracy"] = category_accuracy(cases[f"{method}_aqi"], cases["obs_aqi"],
                                                    standard)
    for threshold in AQI_THRESHOLDS:
        table = contingency(cases[f"{method}_aqi"], cases["obs_aqi"], threshold)
        scores[f"aqi_gt_{threshold}"] = {"pod": table.pod, "far": table.far, "csi": table.csi,
                                         "hits": table.hits, "misses": table.misses,
                                         "false_alarms": table.false_alarms}
    if method == "model":
        for level in INTERVALS:
            scores[f"pm25_coverage_{level}"] = coverage(
                cases[f"model_pm25_lo{level}"], cases[f"model_pm25_hi{level}"], cases["obs_pm25"])
            scores[f"aqi_coverage_{level}"] = coverage(
                cases[f"model_aqi_lo{level}"], cases[f"model_aqi_hi{level}"], cases["obs_aqi"])
    return scores


def comparable(cases: pd.DataFrame) -> pd.DataFrame:
    """The cases where the observation and every method's forecast exist (same sample for all).

    A method without any forecast at all (e.g. climatology when no earlier year is in the
    data) does not empty the table: it is left out of the condition and scores n = 0.
    """
    available = [m for m in METHODS if cases[f"{m}_pm25"].notna().any()]
    needed = ["obs_pm25", "obs_aqi"] + [f"{m}_{v}" for m in available for v in ("pm25", "aqi")]
    return cases.dropna(subset=needed)


def verification_table(cases: pd.DataFrame, *, standard: str = "hj633-2026"
                       ) -> dict[str, dict[str, dict[str, Any]]]:
    """Per horizon, the scores of the model and of both baselines on the same cases.

    The model's entry adds ``skill_vs_persistence`` / ``skill_vs_climatology`` (MSE skill
    on PM2.5) and the RMSE ratios ``pm25_rmse_ratio_persistence`` / ``..._climatology``.
    """
    table: dict[str, dict[str, dict[str, Any]]] = {}
    usable = comparable(cases)
    for horizon, group in usable.groupby("horizon", sort=True):
        row = {method: method_scores(group, method, standard) for method in METHODS}
        model = row["model"]
        for reference in METHODS[1:]:
            ref_rmse = row[reference]["pm25_rmse"]
            model[f"skill_vs_{reference}"] = mse_skill(model["pm25_rmse"], ref_rmse)
            model[f"pm25_rmse_ratio_{reference}"] = (
                float(model["pm25_rmse"] / ref_rmse) if ref_rmse else float("nan"))
        table[str(int(horizon))] = row
    return table


def grade_scores(cases: pd.DataFrame, rule_set_of: Callable[[pd.Timestamp], RuleSet | None]
                 ) -> dict[str, dict[str, Any]]:
    """Warning-grade verification: per origin, the grade of each method's days 1..H
    against the grade the observed days later justified.

    The model is graded on ``model_aqi_graded`` (the configured grading basis), the
    baselines on their AQI.  Origins without a rule set in force (``rule_set_of`` returns
    None) or with any value missing are left out.  Scores: ``n``, ``accuracy`` (same
    grade), ``too_high`` / ``too_low`` counts, and POD / FAR / CSI of "a warning at all".
    """
    columns = {"model": "model_aqi_graded", "persistence": "persistence_aqi",
               "climatology": "climatology_aqi"}
    sources = {name: c for name, c in columns.items() if c in cases and cases[c].notna().any()}
    needed = ["obs_aqi", *sources.values()]
    graded: dict[str, list[int]] = {name: [] for name in ("obs", *columns)}
    for origin, group in cases.dropna(subset=needed).groupby("origin", sort=True):
        if len(group) != cases.loc[cases["origin"] == origin].shape[0]:
            continue
        rule_set = rule_set_of(pd.Timestamp(origin))
        if rule_set is None:
            continue
        ordered = group.sort_values("horizon")
        graded["obs"].append(int(grade(ordered["obs_aqi"].to_numpy(), rule_set).grade))
        for name, column in sources.items():
            graded[name].append(int(grade(ordered[column].to_numpy(), rule_set).grade))
    observed = np.asarray(graded["obs"], dtype=np.float64)
    out: dict[str, dict[str, Any]] = {}
    for name in columns:
        if name not in sources:  # no forecast at all (e.g. climatology without earlier years)
            out[name] = {"n": 0, "accuracy": float("nan")}
            continue
        forecast = np.asarray(graded[name], dtype=np.float64)
        warning = contingency(forecast, observed, 0)
        out[name] = {
            "n": len(observed),
            "accuracy": float((forecast == observed).mean()) if len(observed) else float("nan"),
            "too_high": int((forecast > observed).sum()),
            "too_low": int((forecast < observed).sum()),
            "warning": {"pod": warning.pod, "far": warning.far, "csi": warning.csi,
                        "hits": warning.hits, "misses": warning.misses,
                        "false_alarms": warning.false_alarms},
        }
    return out
