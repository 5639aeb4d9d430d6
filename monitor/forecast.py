"""Daily AQI forecasts with intervals and exceedance probabilities, per city or station.

A *series* is the daily values of the six AQI pollutants for one city (the mean over its
stations of the stations' valid daily values, as the city AQI is computed) or one station,
on a gap-free daily index of local dates (missing days NaN).  :func:`fit_series` estimates
one model per pollutant (:mod:`monitor.forecast_models`); :func:`forecast_series` applies
them to the latest history and returns, for days 1..H from the origin:

* per pollutant: point forecast (mean of the log-normal predictive distribution) and the
  80 % and 95 % central intervals (its quantiles);
* the daily AQI point forecast (the model's ``aqi_point``: the AQI of the point
  concentrations, or the median of the AQI distribution) and the primary pollutant of the
  point concentrations (HJ 633 clause 4.2); the 80/95 % intervals of the daily AQI and
  P(AQI > 150), P(AQI > 200), P(AQI > 300).

The AQI distribution is obtained by Monte Carlo from the joint log-normal distribution of
the six pollutants: per day, correlated standard normal draws (correlation = that of the
pollutants' standardized one-step forecast errors in the training period) scaled by each
pollutant's predictive standard deviation.  The daily AQI is the maximum of six piecewise
linear IAQIs, a non-linear function of correlated inputs: an analytic formula on the
dominant pollutant alone would miss the days when another pollutant (O3 in summer, PM10 in
dust) is near the threshold, and treating pollutants as independent would overstate
exceedance probabilities of the maximum.  Using one correlation for all horizons is an
approximation (documented, checked by the coverage reported in the backtest).

Day *h* is the local day ``origin + h - 1``: training and filtering use only days strictly
before the origin.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from monitor.aqi import china_standard_names, iaqi
from monitor.forecast_config import ForecastSettings, Grading, ModelSpec
from monitor.forecast_models import (
    AQI_POLLUTANTS,
    DAILY_PERIOD,
    FittedModel,
    FloatArray,
    InsufficientHistory,
    design_matrix,
    filter_and_forecast,
    fit_pollutant,
    single_threaded_blas,
)

#: Daily AQI thresholds whose exceedance probability is forecast (HJ 633 Table 2: heavy
#: pollution above 200 and severe above 300; above 150 is "unhealthy").
AQI_THRESHOLDS: tuple[int, ...] = (150, 200, 300)
#: Central interval levels reported, and their standard normal quantiles.
INTERVALS: dict[int, float] = {80: 1.2815515655446004, 95: 1.959963984540054}
#: Label of the forecast mode without weather inputs.
HISTORY_ONLY = "history-only"
#: Label of forecasts with weather inputs observed afterwards (a backtest upper bound).
PERFECT_PROGNOSIS = "perfect-prognosis"
#: Label of forecasts with a weather-forecast feed.
WEATHER_FORECAST = "weather-forecast"
#: Days before the origin whose gaps a forecast reports.
RECENT_DAYS = 30


@dataclass(frozen=True)
class SeriesModels:
    """The fitted models of one series and the correlation of their forecast errors.

    ``insufficient`` maps pollutants without a model to the reason; a series with any
    entry there gets an "insufficient data" forecast.
    """

    series_id: str
    models: dict[str, FittedModel]
    correlation: FloatArray
    trained_until: pd.Timestamp
    insufficient: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SeriesForecast:
    """Forecast of one series from one origin.

    ``concentrations`` has one row per (day, pollutant): ``day horizon pollutant point
    lo80 hi80 lo95 hi95``; ``aqi`` one row per day: ``day horizon aqi primary aqi_lo80
    aqi_hi80 aqi_lo95 aqi_hi95 p_gt_150 p_gt_200 p_gt_300``.  When ``status`` is
    ``"insufficient data"`` both are empty and ``reason`` says why.
    """

    series_id: str
    origin: pd.Timestamp
    mode: str
    status: str
    concentrations: pd.DataFrame
    aqi: pd.DataFrame
    reason: str = ""
    #: Monte Carlo sample of the daily AQI, shape (days, draws); empty when not ok.
    aqi_sample: FloatArray = field(default_factory=lambda: np.empty((0, 0)))
    #: Per pollutant, the days without a valid value among the :data:`RECENT_DAYS` before
    #: the origin (skipped by the filter, not filled; reported with the evidence).
    recent_missing: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _regular(daily: pd.DataFrame, until: pd.Timestamp) -> pd.DataFrame:
    """Daily rows strictly before ``until`` on a gap-free index (missing days NaN)."""
    if not daily.index.is_unique:
        raise ValueError("daily series has repeated days; aggregate duplicates first")
    before = daily.loc[daily.index < until]
    if before.empty:
        return before
    days = pd.date_range(before.index.min(), until - pd.Timedelta(days=1), freq="D")
    return before.reindex(days)


def fit_series(series_id: str, daily: pd.DataFrame, until: pd.Timestamp, spec: ModelSpec,
               settings: ForecastSettings, weather: pd.DataFrame | None = None,
               previous: SeriesModels | None = None) -> SeriesModels:
    """Estimate the six pollutant models of one series on the days strictly before ``until``.

    Parameters
    ----------
    series_id : str
        Name of the series (city or station id), carried into results.
    daily : DataFrame
        Daily values, index = local dates, columns among :data:`AQI_POLLUTANTS`.
    until : Timestamp
        First day excluded from training.
    spec, settings
        Model specification and forecast settings.
    weather : DataFrame, optional
        Daily weather (needed when ``spec.weather`` is not empty).
    previous : SeriesModels, optional
        Earlier fit of the series; its estimates start the optimiser.
    """
    with single_threaded_blas():
        return _fit_series(series_id, _regular(daily, until), until, spec, settings, weather,
                           previous)


def _fit_series(series_id: str, history: pd.DataFrame, until: pd.Timestamp, spec: ModelSpec,
                settings: ForecastSettings, weather: pd.DataFrame | None,
                previous: SeriesModels | None) -> SeriesModels:
    models: dict[str, FittedModel] = {}
    errors: dict[str, pd.Series] = {}
    insufficient: dict[str, str] = {}
    exog = design_matrix(history.index, spec, weather) if len(history) else None
    for pollutant in AQI_POLLUTANTS:
        if exog is None or pollutant not in history:
            insufficient[pollutant] = f"insufficient data: no {pollutant} history"
            continue
        try:
            start = previous.models.get(pollutant) if previous is not None else None
            models[pollutant], errors[pollutant] = fit_pollutant(
                history[pollutant], exog, pollutant, spec, settings.min_history_days, start)
        except InsufficientHistory as exc:
            insufficient[pollutant] = str(exc)
    corr = (pd.DataFrame(errors).reindex(columns=list(AQI_POLLUTANTS)).corr(min_periods=30)
            .fillna(0.0).to_numpy(copy=True))
    np.fill_diagonal(corr, 1.0)
    return SeriesModels(series_id, models, corr, until, insufficient)


def aqi_from_concentrations(conc: dict[str, FloatArray], at: pd.DatetimeIndex
                            ) -> tuple[FloatArray, FloatArray]:
    """Daily AQI (max IAQI, HJ 633 clause 4.2) and the IAQI stack, for (day, ...) arrays.

    ``conc`` maps each of :data:`AQI_POLLUTANTS` to an array whose first axis is the day;
    the AQI standard in force is chosen per day by its local start (``at``).  A day's AQI
    is the maximum over the pollutants present (NaN when none is).
    """
    standards = china_standard_names(at)
    stack = np.empty((len(AQI_POLLUTANTS), *conc[AQI_POLLUTANTS[0]].shape))
    for name in np.unique(standards):
        rows = standards == name
        for k, p in enumerate(AQI_POLLUTANTS):
            stack[k, rows] = iaqi(p, conc[p][rows], period=DAILY_PERIOD[p], standard=str(name))
    present = np.isfinite(stack).any(axis=0)
    aqi = np.where(present, np.nanmax(np.where(np.isfinite(stack), stack, -np.inf), axis=0),
                   np.nan)
    return aqi, stack


def _insufficient(models: SeriesModels, origin: pd.Timestamp, mode: str) -> SeriesForecast:
    reason = "; ".join(models.insufficient.values())
    return SeriesForecast(models.series_id, origin, mode, "insufficient data",
                          pd.DataFrame(), pd.DataFrame(), reason)


def forecast_series(models: SeriesModels, daily: pd.DataFrame, origin: pd.Timestamp,
                    settings: ForecastSettings, *, tz: str, mode: str = HISTORY_ONLY,
                    weather: pd.DataFrame | None = None,
                    rng: np.random.Generator | None = None
                    ) -> tuple[SeriesForecast, SeriesModels]:
    """Forecast days 1..``settings.horizon_days`` from ``origin`` with cached parameters.

    Only days of ``daily`` from the models' filter state up to the day before ``origin``
    are read; ``weather`` must cover the forecast days when the models take weather
    inputs.  ``tz`` fixes which AQI standard is in force on each day (by its local start).

    Returns
    -------
    (SeriesForecast, SeriesModels)
        The forecast, and the models with their filter state moved to ``origin`` (cache
        them to make the next run cheaper).

    Raises
    ------
    ValueError
        if the models' state is already past ``origin`` (forecasting from it would use
        data at or after the origin).
    """
    if models.insufficient:
        return _insufficient(models, origin, mode), models
    state_until = min(m.state_until for m in models.models.values())
    if origin < state_until:
        raise ValueError(f"{models.series_id}: model state includes days up to "
                         f"{(state_until - pd.Timedelta(days=1)).date()}; it cannot forecast "
                         f"from the earlier origin {origin.date()} (that would leak)")
    horizon = settings.horizon_days
    future = pd.date_range(origin, periods=horizon, freq="D")
    new_days = pd.date_range(state_until, origin - pd.Timedelta(days=1), freq="D")
    recent = daily.reindex(new_days)
    mean = np.empty((len(AQI_POLLUTANTS), horizon))
    var = np.empty_like(mean)
    moved: dict[str, FittedModel] = {}
    exog = design_matrix(new_days.append(future), models.models["pm25"].spec, weather)
    for k, pollutant in enumerate(AQI_POLLUTANTS):
        fitted = models.models[pollutant]
        values = recent[pollutant] if pollutant in recent else pd.Series(np.nan, new_days)
        moved[pollutant], mean[k], var[k] = filter_and_forecast(
            fitted, values, exog.iloc[:len(new_days)], exog.iloc[len(new_days):])
    updated = replace(models, models=moved)
    sd = np.sqrt(var)
    rows = []
    for k, pollutant in enumerate(AQI_POLLUTANTS):
        part = {"day": future, "horizon": np.arange(1, horizon + 1), "pollutant": pollutant,
                "point": np.exp(mean[k] + var[k] / 2)}
        for level, z in INTERVALS.items():
            part[f"lo{level}"] = np.exp(mean[k] - z * sd[k])
            part[f"hi{level}"] = np.exp(mean[k] + z * sd[k])
        rows.append(pd.DataFrame(part))
    concentrations = pd.concat(rows, ignore_index=True)
    at = future.tz_localize(tz)
    generator = rng if rng is not None else np.random.default_rng(0)
    draws = settings.monte_carlo_draws
    z = generator.multivariate_normal(np.zeros(len(AQI_POLLUTANTS)), models.correlation,
                                      size=(horizon, draws), method="eigh")
    # column 0: the point forecasts; columns 1..draws: the Monte Carlo sample
    columns = {p: np.column_stack([np.exp(mean[k] + var[k] / 2),
                                   np.exp(mean[k][:, None] + sd[k][:, None] * z[:, :, k])])
               for k, p in enumerate(AQI_POLLUTANTS)}
    all_aqi, all_stack = aqi_from_concentrations(columns, at)
    point_aqi, point_stack, sample_aqi = all_aqi[:, :1], all_stack[:, :, :1], all_aqi[:, 1:]
    of_mean = models.models["pm25"].spec.aqi_point == "mean"
    aqi = pd.DataFrame({"day": future, "horizon": np.arange(1, horizon + 1),
                        "aqi": point_aqi[:, 0] if of_mean else np.median(sample_aqi, axis=1)})
    names = np.array(AQI_POLLUTANTS)
    primary = names[np.nanargmax(point_stack[:, :, 0], axis=0)]
    aqi["primary"] = np.where(aqi["aqi"] > 50, primary, "")
    for level in INTERVALS:
        tail = (100 - level) / 2
        aqi[f"aqi_lo{level}"] = np.percentile(sample_aqi, tail, axis=1)
        aqi[f"aqi_hi{level}"] = np.percentile(sample_aqi, 100 - tail, axis=1)
    for threshold in AQI_THRESHOLDS:
        aqi[f"p_gt_{threshold}"] = (sample_aqi > threshold).mean(axis=1)
    last_days = daily.reindex(pd.date_range(origin - pd.Timedelta(days=RECENT_DAYS),
                                            periods=RECENT_DAYS, freq="D"))
    missing = {p: int(last_days[p].isna().sum()) if p in last_days else RECENT_DAYS
               for p in AQI_POLLUTANTS}
    forecast = SeriesForecast(models.series_id, origin, mode, "ok", concentrations, aqi,
                              aqi_sample=sample_aqi, recent_missing=missing)
    return forecast, updated


def graded_aqi(forecast: SeriesForecast, grading: Grading) -> pd.Series:
    """The daily AQI value the warning grades are applied to, per forecast day.

    ``point``: the AQI of the point forecasts.  ``upper``: the upper bound of the central
    ``grading.interval`` % interval (the practice of the 2016 regional standard).
    ``probability``: the (1 - p) quantile of the AQI distribution, so that a grade
    threshold counts as reached exactly when P(AQI > threshold) >= p.
    """
    if not forecast.ok:
        raise ValueError(f"{forecast.series_id}: no forecast to grade ({forecast.reason})")
    days = pd.DatetimeIndex(forecast.aqi["day"])
    if grading.basis == "point":
        values = forecast.aqi["aqi"].to_numpy()
    elif grading.basis == "upper":
        values = forecast.aqi[f"aqi_hi{grading.interval}"].to_numpy()
    else:
        values = np.quantile(forecast.aqi_sample, 1 - grading.probability, axis=1)
    return pd.Series(values, index=days.strftime("%Y-%m-%d"), name="aqi")
