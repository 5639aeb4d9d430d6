"""Statistical models of daily pollutant concentrations: regression with ARMA errors on logs.

One model per (series, pollutant): the log of the daily value (24-h mean; for O3 the daily
maximum 8-h mean) is a linear regression on calendar terms (annual and weekly harmonics)
and, when configured, on same-day weather, with ARMA errors (statsmodels ``SARIMAX``).
Logs make the predictive distribution log-normal, which matches the right-skewed,
multiplicative behaviour of pollution episodes and keeps forecasts positive.

Fitting estimates the parameters once (:func:`fit_pollutant`) and keeps the filter state at
the end of the training days; forecasting assimilates only the days since that state with
the fixed parameters (:func:`filter_and_forecast`, the ``extend`` of statsmodels without
refit), so a run costs a short filter pass, not an optimisation.
A missing day is a missing observation for the Kalman filter (it is skipped, never filled);
a day whose weather input is missing is treated as a missing observation as well.

References
----------
.. [1] Durbin, J. and Koopman, S. J., *Time Series Analysis by State Space Methods*, 2nd ed.,
   Oxford University Press, 2012, ch. 4 (Kalman filter, missing observations) and 5.
.. [2] statsmodels ``SARIMAX``: regression with SARIMA errors estimated by exact maximum
   likelihood via the Kalman filter.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.statespace.sarimax import SARIMAX
from threadpoolctl import threadpool_limits

from monitor.forecast_config import ModelSpec
from monitor.statistics import DAILY_MEAN_POLLUTANTS

FloatArray = npt.NDArray[np.float64]

#: The pollutants of the daily AQI (HJ 633 clause 5): 24-h means and the O3 daily max 8-h mean.
AQI_POLLUTANTS: tuple[str, ...] = (*DAILY_MEAN_POLLUTANTS, "o3")
#: Averaging period of each daily value, as :func:`monitor.aqi.iaqi` names it.
DAILY_PERIOD: dict[str, str] = {p: "24h" for p in DAILY_MEAN_POLLUTANTS} | {"o3": "8h_max_24h"}
#: Floor applied before taking logs (canonical unit; CO in mg/m3): about the detection limit.
LOG_FLOOR: dict[str, float] = {p: 1.0 for p in AQI_POLLUTANTS} | {"co": 0.01}
#: Days in a mean tropical year, the period of the annual harmonics.
YEAR_DAYS = 365.2425


class InsufficientHistory(ValueError):
    """A series has too few valid days to estimate a model."""

    def __init__(self, pollutant: str, n_valid: int, needed: int) -> None:
        super().__init__(f"insufficient data: {pollutant} has {n_valid} valid days in its "
                         f"history, at least {needed} are needed")
        self.pollutant = pollutant
        self.n_valid = n_valid
        self.needed = needed


@dataclass(frozen=True)
class FittedModel:
    """Estimated parameters of one pollutant's model and its Kalman filter state.

    ``trained_until`` is the first day *not* used to estimate ``params`` (estimation is
    strictly before it) and ``n_valid`` the valid days used.  ``state_mean`` and
    ``state_cov`` are the predicted state for the day ``state_until`` given every day before
    it: new days are assimilated from there (statsmodels ``extend`` semantics), so a forecast
    run filters only the days that arrived since the last run.
    """

    pollutant: str
    spec: ModelSpec
    params: tuple[float, ...]
    trained_until: pd.Timestamp
    n_valid: int
    state_until: pd.Timestamp
    state_mean: tuple[float, ...]
    state_cov: tuple[tuple[float, ...], ...]


def single_threaded_blas() -> threadpool_limits:
    """Context limiting BLAS to one thread.

    The Kalman filter makes many tiny matrix operations; a multi-threaded BLAS spends far
    more time synchronising threads than computing (20x slower measured on a loaded
    2-core machine), and parallelism belongs across series, not inside a 2x2 product.
    """
    return threadpool_limits(limits=1, user_api="blas")


def to_log(values: pd.Series | FloatArray, pollutant: str) -> FloatArray:
    """Natural log of daily values floored at :data:`LOG_FLOOR` (NaN stays NaN)."""
    arr = np.asarray(values, dtype=np.float64)
    return np.log(np.maximum(arr, LOG_FLOOR[pollutant]))


def design_matrix(days: pd.DatetimeIndex, spec: ModelSpec,
                  weather: pd.DataFrame | None = None) -> pd.DataFrame:
    """Regression inputs of ``spec`` for each day: constant, harmonics, weather.

    Parameters
    ----------
    days : DatetimeIndex
        Local calendar days (naive dates).
    spec : ModelSpec
        Which terms to build.
    weather : DataFrame, optional
        Daily weather per day (columns ``temp pres dewp rh`` in degC / hPa / %,
        ``rain`` in mm/day, ``wspd`` and the northerly component ``wind_north`` in m/s);
        required when ``spec.weather`` is not empty.
        It may cover more days than ``days`` (the day before the first is used for changes).

    Returns
    -------
    DataFrame
        One row per day; NaN where a weather input is missing.
    """
    columns: dict[str, FloatArray] = {"const": np.ones(len(days))}
    angle = 2 * np.pi * (days.day_of_year.to_numpy() - 1) / YEAR_DAYS
    for k in range(1, spec.annual_harmonics + 1):
        columns[f"year_sin{k}"] = np.sin(k * angle)
        columns[f"year_cos{k}"] = np.cos(k * angle)
    if spec.weekly:
        week = 2 * np.pi * days.day_of_week.to_numpy() / 7
        columns["week_sin"] = np.sin(week)
        columns["week_cos"] = np.cos(week)
    frame = pd.DataFrame(columns, index=days)
    if not spec.weather:
        return frame
    if weather is None:
        raise ValueError(f"model uses weather inputs {list(spec.weather)} but no weather "
                         "series was given")
    missing = [w for w in spec.weather if w not in weather.columns]
    if missing:
        raise ValueError(f"weather series lacks {missing} (has {list(weather.columns)})")
    full = weather.sort_index().asfreq("D")
    inputs = pd.DataFrame({
        name: (np.log1p(full[name].clip(lower=0)) if name == "rain"
               else np.log(full[name].clip(lower=0.1)) if name == "wspd" else full[name])
        for name in spec.weather
    })
    if spec.weather_changes:
        inputs = inputs.join(inputs.diff().add_prefix("change_"))
    return frame.join(inputs.reindex(days).add_prefix("wx_"))


def _model(endog: FloatArray, exog: pd.DataFrame, spec: ModelSpec,
           state: tuple[FloatArray, FloatArray] | None = None) -> SARIMAX:
    """SARIMAX over ``endog``; days with a missing input become missing observations.

    ``state`` (mean, covariance) initializes the filter as known; otherwise the default
    (stationary) initialization of statsmodels applies.
    """
    incomplete = exog.isna().any(axis=1).to_numpy()
    y = np.where(incomplete, np.nan, endog)
    known = {} if state is None else {"initialization": "known", "initial_state": state[0],
                                      "initial_state_cov": state[1]}
    return SARIMAX(y, exog=exog.fillna(0.0).to_numpy(), order=spec.order, trend="n", **known)


def fit_pollutant(daily: pd.Series, exog: pd.DataFrame, pollutant: str, spec: ModelSpec,
                  min_history_days: int, start: FittedModel | None = None
                  ) -> tuple[FittedModel, pd.Series]:
    """Estimate the model of one pollutant by maximum likelihood.

    Parameters
    ----------
    daily : Series
        Daily values on a gap-free daily index (missing days NaN), strictly before the
        first day to forecast.
    exog : DataFrame
        :func:`design_matrix` for the same days.
    pollutant, spec, min_history_days
        What is modelled, how, and the fewest valid days accepted.
    start : FittedModel, optional
        Earlier estimates of the same specification: the optimiser starts from them
        (a refit after a month of new data then takes a few iterations).

    Returns
    -------
    (FittedModel, Series)
        The parameters, and the standardized one-step forecast errors per day (used for
        the correlation between pollutants).

    Raises
    ------
    InsufficientHistory
        with fewer than ``min_history_days`` valid days.
    """
    model = _model(to_log(daily, pollutant), exog, spec)
    n_valid = int(np.isfinite(model.endog).sum())
    if n_valid < min_history_days:
        raise InsufficientHistory(pollutant, n_valid, min_history_days)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        start_params = None if start is None or start.spec != spec else np.asarray(start.params)
        result = model.fit(start_params=start_params, disp=False, maxiter=200, cov_type="none")
    std_error = pd.Series(result.standardized_forecasts_error[0], index=daily.index)
    until = daily.index[-1] + pd.Timedelta(days=1)
    fitted = FittedModel(pollutant=pollutant, spec=spec,
                         params=tuple(float(x) for x in result.params), trained_until=until,
                         n_valid=n_valid, state_until=until,
                         state_mean=tuple(float(x) for x in result.predicted_state[:, -1]),
                         state_cov=tuple(tuple(float(x) for x in row)
                                         for row in result.predicted_state_cov[:, :, -1]))
    return fitted, std_error


def filter_and_forecast(fitted: FittedModel, new_days: pd.Series, exog_new: pd.DataFrame,
                        exog_future: pd.DataFrame
                        ) -> tuple[FittedModel, FloatArray, FloatArray]:
    """Assimilate the days since the cached state, then forecast the log value.

    One Kalman filter pass with the fixed parameters, started from the cached state:
    over ``new_days`` (the days from ``fitted.state_until`` up to the day before the first
    forecast day; gaps NaN, possibly none) and then over the future days as missing
    observations, whose one-step predictions are the multi-step forecasts.

    Returns
    -------
    (FittedModel, ndarray, ndarray)
        The model with its state moved to the first future day, and the mean and
        variance of the log value on each future day.

    Raises
    ------
    ValueError
        when a future day lacks a regression input (e.g. no weather forecast for it).
    """
    if exog_future.isna().any().any():
        lacking = exog_future.index[exog_future.isna().any(axis=1)]
        raise ValueError(f"{fitted.pollutant}: no regression input (weather) for "
                         f"{', '.join(d.date().isoformat() for d in lacking)}")
    endog = np.concatenate([to_log(new_days, fitted.pollutant), np.full(len(exog_future), np.nan)])
    state = (np.asarray(fitted.state_mean), np.asarray(fitted.state_cov))
    model = _model(endog, pd.concat([exog_new, exog_future]), fitted.spec, state)
    result = model.filter(np.asarray(fitted.params), cov_type="none")
    n_new = len(new_days)
    moved = replace(
        fitted, state_until=exog_future.index[0],
        state_mean=tuple(float(x) for x in result.predicted_state[:, n_new]),
        state_cov=tuple(tuple(float(x) for x in row)
                        for row in result.predicted_state_cov[:, :, n_new]))
    return (moved, np.asarray(result.forecasts[0, n_new:], dtype=np.float64),
            np.asarray(result.forecasts_error_cov[0, 0, n_new:], dtype=np.float64))
