"""Rolling-origin backtest of the daily forecasts, with persistence and climatology baselines.

For every origin (a local day) in the test period the model is given only the days
strictly before the origin: its parameters are re-estimated on them every
``refit_every_days`` (otherwise the cached parameters' filter state is moved forward day by
day, exactly as operational runs do), and it forecasts days 1..H.  Each case pairs the
forecast with the observation of its day and with the two baselines:

* **persistence**: the observed value of the day before the origin, for every horizon;
* **climatology**: the mean of the observed values within +-15 days of the target day's
  date in each earlier year (the windows centred 365, 730, ... days before the target),
  so it too uses only days long before the origin.

The observed daily AQI is computed from the observed daily concentrations with the same
function as the forecast AQI (:func:`monitor.forecast.aqi_from_concentrations`); it is
NaN on days without a valid PM2.5 value.

Modes: ``history-only`` (calendar terms only) and ``perfect-prognosis`` (the observed
weather of the target days stands in for a weather forecast: an upper bound of what a
weather forecast could add, never operational skill).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitor.forecast import (
    AQI_THRESHOLDS,
    INTERVALS,
    PERFECT_PROGNOSIS,
    aqi_from_concentrations,
    forecast_series,
    graded_aqi,
)
from monitor.forecast_cache import current_models
from monitor.forecast_config import ForecastConfig
from monitor.forecast_models import AQI_POLLUTANTS, design_matrix

#: Half-width in days of the climatology window around the target's date.
CLIMATOLOGY_HALF_WINDOW = 15
#: Shift between the climatology's yearly windows (days).
CLIMATOLOGY_YEAR = 365


def observed_aqi(daily: pd.DataFrame, tz: str) -> pd.Series:
    """Daily AQI of observed daily concentrations (NaN on days without PM2.5)."""
    days = pd.DatetimeIndex(daily.index)
    conc = {p: (daily[p] if p in daily else pd.Series(np.nan, days)).to_numpy(dtype=np.float64)
            for p in AQI_POLLUTANTS}
    aqi, _ = aqi_from_concentrations(conc, days.tz_localize(tz))
    return pd.Series(np.where(np.isfinite(conc["pm25"]), aqi, np.nan), index=days, name="aqi")


def persistence(values: pd.Series, origins: pd.DatetimeIndex) -> pd.Series:
    """Observed value of the day before each origin (NaN when that day is missing)."""
    return pd.Series(values.reindex(origins - pd.Timedelta(days=1)).to_numpy(), index=origins)


def climatology(values: pd.Series, targets: pd.DatetimeIndex) -> pd.Series:
    """Mean of ``values`` within +-15 days of each target's date in each earlier year.

    The windows are centred ``k * 365`` days before the target, k = 1, 2, ...: the mean
    weights every valid day in them equally; NaN when no earlier year has data.
    """
    if not len(targets):
        return pd.Series(dtype=np.float64, index=targets)
    start = min(values.index.min(), targets.min()) - pd.Timedelta(days=CLIMATOLOGY_HALF_WINDOW)
    grid = pd.date_range(start, targets.max(), freq="D")
    series = values.reindex(grid)
    width = 2 * CLIMATOLOGY_HALF_WINDOW + 1
    sums = series.rolling(width, center=True, min_periods=1).sum()
    counts = series.rolling(width, center=True, min_periods=1).count()
    total = pd.Series(0.0, index=targets)
    count = pd.Series(0.0, index=targets)
    k = 1
    while (targets - pd.Timedelta(days=k * CLIMATOLOGY_YEAR)).max() >= grid[0]:
        earlier = targets - pd.Timedelta(days=k * CLIMATOLOGY_YEAR)
        total += sums.reindex(earlier).fillna(0.0).to_numpy()
        count += counts.reindex(earlier).fillna(0.0).to_numpy()
        k += 1
    return (total / count.where(count > 0)).rename("climatology")


def _forecast_rows(forecast: Any, graded: pd.Series | None) -> pd.DataFrame:
    pm25 = forecast.concentrations[forecast.concentrations["pollutant"] == "pm25"]
    rows = pd.DataFrame({"horizon": forecast.aqi["horizon"].to_numpy(),
                         "day": forecast.aqi["day"].to_numpy(),
                         "model_pm25": pm25["point"].to_numpy(),
                         "model_aqi": forecast.aqi["aqi"].to_numpy()})
    for level in INTERVALS:
        rows[f"model_pm25_lo{level}"] = pm25[f"lo{level}"].to_numpy()
        rows[f"model_pm25_hi{level}"] = pm25[f"hi{level}"].to_numpy()
        rows[f"model_aqi_lo{level}"] = forecast.aqi[f"aqi_lo{level}"].to_numpy()
        rows[f"model_aqi_hi{level}"] = forecast.aqi[f"aqi_hi{level}"].to_numpy()
    for threshold in AQI_THRESHOLDS:
        rows[f"model_p_gt_{threshold}"] = forecast.aqi[f"p_gt_{threshold}"].to_numpy()
    if graded is not None:
        rows["model_aqi_graded"] = graded.to_numpy()
    return rows


def rolling_origin(series_id: str, daily: pd.DataFrame, origins: pd.DatetimeIndex,
                   config: ForecastConfig, *, tz: str, mode: str,
                   weather: pd.DataFrame | None = None) -> pd.DataFrame:
    """Backtest cases: one row per (origin, horizon) with model, baselines and observation.

    Parameters
    ----------
    series_id : str
        Name of the series.
    daily : DataFrame
        Observed daily values (index local dates, columns among the AQI pollutants).
    origins : DatetimeIndex
        Local days to forecast from, increasing.
    config : ForecastConfig
        Settings, chosen models and the grading basis.
    tz : str
        Time zone of the series (AQI standard in force per day).
    mode : str
        ``history-only`` or ``perfect-prognosis`` (then ``weather`` is the observed weather).

    Returns
    -------
    DataFrame
        ``origin horizon day status`` and ``model_*``, ``persistence_*``,
        ``climatology_*``, ``obs_*`` for ``pm25`` and ``aqi``; the model's intervals,
        exceedance probabilities and the graded AQI.  Model columns are NaN where the
        model had insufficient data (``status`` says so).

    Raises
    ------
    ValueError
        when no origin had enough history, with the reasons.
    """
    with_weather = mode == PERFECT_PROGNOSIS
    spec = config.model(with_weather)
    settings = config.forecast
    horizon = settings.horizon_days
    models = None
    parts = []
    reasons: set[str] = set()
    for origin in origins:
        before = daily.loc[daily.index < origin]
        known_weather = None
        if with_weather and weather is not None:
            known_weather = weather.loc[weather.index < origin + pd.Timedelta(days=horizon)]
        future = pd.date_range(origin, periods=horizon, freq="D")
        if with_weather and design_matrix(future, spec, known_weather).isna().any().any():
            # no (observed) weather for a target day: no forecast from this origin; the
            # model state simply assimilates these days at the next origin
            rows = pd.DataFrame({"origin": origin, "horizon": np.arange(1, horizon + 1),
                                 "day": future, "status": "no weather input"})
            parts.append(rows)
            continue
        models = current_models(models, series_id, before, origin, spec, settings, known_weather)
        forecast, models = forecast_series(models, before, origin, settings, tz=tz, mode=mode,
                                           weather=known_weather)
        if forecast.ok:
            rows = _forecast_rows(forecast, graded_aqi(forecast, config.grading))
        else:
            reasons.add(forecast.reason)
            rows = pd.DataFrame({"horizon": np.arange(1, horizon + 1),
                                 "day": pd.date_range(origin, periods=horizon, freq="D")})
        rows.insert(0, "origin", origin)
        rows["status"] = forecast.status
        parts.append(rows)
    cases = pd.concat(parts, ignore_index=True)
    if "model_pm25" not in cases:
        raise ValueError(f"{series_id}: no origin had enough history to forecast: "
                         + "; ".join(sorted(reasons)))
    return add_baselines(cases, daily, tz)


def add_baselines(cases: pd.DataFrame, daily: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Add observations and the persistence and climatology forecasts to backtest cases."""
    observed = pd.DataFrame({"pm25": daily["pm25"], "aqi": observed_aqi(daily, tz)})
    origins = pd.DatetimeIndex(cases["origin"])
    days = pd.DatetimeIndex(cases["day"])
    out = cases.copy()
    for name in ("pm25", "aqi"):
        values = observed[name]
        out[f"obs_{name}"] = values.reindex(days).to_numpy()
        out[f"persistence_{name}"] = persistence(values, origins).to_numpy()
        out[f"climatology_{name}"] = climatology(values, days).to_numpy()
    return out
