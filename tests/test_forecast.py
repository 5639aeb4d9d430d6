"""Forecast core on the bundled real sample: distributions, AQI, cache, bad input."""

from __future__ import annotations

import itertools
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from forecast_samples import PROJECT, TZ, sample_daily
from statsmodels.tsa.statespace.sarimax import SARIMAX

from monitor.aqi import iaqi
from monitor.config import ConfigError, load_config
from monitor.forecast import (
    AQI_THRESHOLDS,
    SeriesModels,
    fit_series,
    forecast_series,
    graded_aqi,
)
from monitor.forecast_cache import ModelCache, current_models, needs_refit
from monitor.forecast_config import ForecastSettings, Grading, ModelSpec, load_forecast_config
from monitor.forecast_models import AQI_POLLUTANTS, DAILY_PERIOD, design_matrix, to_log

PROJECT_CONFIG = PROJECT / "config"
SETTINGS = ForecastSettings(monte_carlo_draws=400)
SPEC = ModelSpec()
TRAIN_UNTIL = pd.Timestamp("2017-01-01")


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    return sample_daily()[0]


@pytest.fixture(scope="module")
def models(daily: pd.DataFrame) -> SeriesModels:
    return fit_series("beijing-sample", daily, TRAIN_UNTIL, SPEC, SETTINGS)


def test_fit_uses_only_days_before_until(models: SeriesModels, daily: pd.DataFrame) -> None:
    assert not models.insufficient
    before = daily.loc[daily.index < TRAIN_UNTIL]
    for pollutant, fitted in models.models.items():
        assert fitted.trained_until == TRAIN_UNTIL
        # gaps are missing observations, not filled: n_valid counts the real values only
        assert fitted.n_valid == before[pollutant].notna().sum()
    assert np.allclose(np.diag(models.correlation), 1.0)
    # PM2.5 and PM10 errors move together on real data
    k25, k10 = AQI_POLLUTANTS.index("pm25"), AQI_POLLUTANTS.index("pm10")
    assert models.correlation[k25, k10] > 0.5


def test_forecast_distribution_is_ordered_and_consistent(models: SeriesModels,
                                                         daily: pd.DataFrame) -> None:
    origin = pd.Timestamp("2017-01-10")
    forecast, _ = forecast_series(models, daily, origin, SETTINGS, tz=TZ)
    assert forecast.ok
    conc = forecast.concentrations
    assert len(conc) == 4 * len(AQI_POLLUTANTS)
    assert list(forecast.aqi["day"]) == list(pd.date_range(origin, periods=4, freq="D"))
    assert (conc["lo95"] < conc["lo80"]).all() and (conc["lo80"] < conc["point"]).all()
    assert (conc["point"] < conc["hi80"]).all() and (conc["hi80"] < conc["hi95"]).all()
    # uncertainty grows with the horizon
    pm25 = conc[conc["pollutant"] == "pm25"]
    assert pm25["hi95"].diff().dropna().gt(0).all()
    aqi = forecast.aqi
    for a, b in itertools.pairwise(AQI_THRESHOLDS):
        assert (aqi[f"p_gt_{a}"] >= aqi[f"p_gt_{b}"]).all()
    assert ((aqi["aqi_lo95"] <= aqi["aqi_lo80"]) & (aqi["aqi_hi80"] <= aqi["aqi_hi95"])).all()
    # the point AQI is the max IAQI of the point concentrations (HJ 633 clause 4.2)
    day1 = conc[conc["horizon"] == 1].set_index("pollutant")["point"]
    by_pollutant = {p: iaqi(p, [day1[p]], period=DAILY_PERIOD[p], at=origin)[0]
                    for p in AQI_POLLUTANTS}
    assert aqi.loc[0, "aqi"] == max(by_pollutant.values())
    if aqi.loc[0, "aqi"] > 50:
        assert aqi.loc[0, "primary"] == max(by_pollutant, key=lambda p: by_pollutant[p])
    assert forecast.aqi_sample.shape == (4, SETTINGS.monte_carlo_draws)


def test_cached_state_equals_a_full_filter(models: SeriesModels, daily: pd.DataFrame) -> None:
    """Assimilating new days from the cached state = filtering the whole history afresh."""
    origin = pd.Timestamp("2017-01-20")
    forecast, moved = forecast_series(models, daily, origin, SETTINGS, tz=TZ)
    fitted = models.models["pm25"]
    history = daily.loc[daily.index < origin, "pm25"].asfreq("D")
    exog = design_matrix(history.index.append(pd.date_range(origin, periods=4)), SPEC)
    reference = SARIMAX(to_log(history, "pm25"), exog=exog.iloc[:len(history)].to_numpy(),
                        order=SPEC.order, trend="n").filter(np.asarray(fitted.params))
    expected = reference.get_forecast(4, exog=exog.iloc[len(history):].to_numpy())
    point = np.exp(expected.predicted_mean + expected.var_pred_mean / 2)
    got = forecast.concentrations.query("pollutant == 'pm25'")["point"].to_numpy()
    np.testing.assert_allclose(got, point, rtol=1e-6)
    assert moved.models["pm25"].state_until == origin
    # from the moved state, the same origin gives the same forecast
    again, _ = forecast_series(moved, daily, origin, SETTINGS, tz=TZ)
    pd.testing.assert_frame_equal(again.concentrations, forecast.concentrations)


def test_forecast_never_runs_from_a_state_past_the_origin(models: SeriesModels,
                                                          daily: pd.DataFrame) -> None:
    _, moved = forecast_series(models, daily, pd.Timestamp("2017-01-20"), SETTINGS, tz=TZ)
    with pytest.raises(ValueError, match="would leak"):
        forecast_series(moved, daily, pd.Timestamp("2017-01-15"), SETTINGS, tz=TZ)
    assert needs_refit(moved, pd.Timestamp("2017-01-15"), SPEC, SETTINGS)


def test_cache_round_trip_and_refit_policy(models: SeriesModels, daily: pd.DataFrame,
                                          data_dir) -> None:
    cache = ModelCache(data_dir)
    path = cache.save(models, "history-only")
    assert path.parent == data_dir / "forecast_models"
    loaded = cache.load("beijing-sample", "history-only")
    assert loaded is not None
    origin = pd.Timestamp("2017-01-05")
    a, _ = forecast_series(models, daily, origin, SETTINGS, tz=TZ)
    b, _ = forecast_series(loaded, daily, origin, SETTINGS, tz=TZ)
    pd.testing.assert_frame_equal(a.aqi, b.aqi)
    assert cache.load("another-city", "history-only") is None
    # within refit_every_days the cached parameters are reused, after it they are refitted
    assert current_models(loaded, "beijing-sample", daily, origin, SPEC, SETTINGS) is loaded
    late = TRAIN_UNTIL + pd.Timedelta(days=SETTINGS.refit_every_days)
    assert needs_refit(loaded, late, SPEC, SETTINGS)
    assert needs_refit(loaded, origin, ModelSpec(order=(2, 0, 0)), SETTINGS)


def test_graded_aqi_bases(models: SeriesModels, daily: pd.DataFrame) -> None:
    forecast, _ = forecast_series(models, daily, pd.Timestamp("2017-01-10"), SETTINGS, tz=TZ)
    point = graded_aqi(forecast, Grading(basis="point"))
    upper = graded_aqi(forecast, Grading(basis="upper", interval=80))
    likely = graded_aqi(forecast, Grading(basis="probability", probability=0.5))
    rare = graded_aqi(forecast, Grading(basis="probability", probability=0.1))
    np.testing.assert_array_equal(point.to_numpy(), forecast.aqi["aqi"].to_numpy())
    np.testing.assert_array_equal(upper.to_numpy(), forecast.aqi["aqi_hi80"].to_numpy())
    assert (rare >= likely).all()
    # "graded value > T" is "P(AQI > T) >= p", up to one draw of the sample
    step = 1 / SETTINGS.monte_carlo_draws
    for threshold in AQI_THRESHOLDS:
        prob = forecast.aqi[f"p_gt_{threshold}"].to_numpy()
        above = rare.to_numpy() > threshold
        assert (prob[above] >= 0.1 - step).all()
        assert (prob[~above] <= 0.1 + step).all()


def test_median_aqi_point_is_the_median_of_the_aqi_distribution(models: SeriesModels,
                                                                 daily: pd.DataFrame) -> None:
    origin = pd.Timestamp("2017-01-10")
    of_mean, _ = forecast_series(models, daily, origin, SETTINGS, tz=TZ)
    median_spec = SPEC.model_copy(update={"aqi_point": "median"})
    with_median = replace(models, models={p: replace(m, spec=median_spec)
                                          for p, m in models.models.items()})
    of_median, _ = forecast_series(with_median, daily, origin, SETTINGS, tz=TZ)
    median = of_median.aqi["aqi"].to_numpy()
    np.testing.assert_array_equal(median, np.median(of_median.aqi_sample, axis=1))
    # same draws: only the AQI point changes, and the median lies inside the 80 % interval
    np.testing.assert_array_equal(of_median.aqi_sample, of_mean.aqi_sample)
    assert ((of_median.aqi["aqi_lo80"] <= median) & (median <= of_median.aqi["aqi_hi80"])).all()
    pd.testing.assert_frame_equal(of_median.concentrations, of_mean.concentrations)


def test_too_little_history_gives_insufficient_data(daily: pd.DataFrame) -> None:
    short = daily.loc["2016-03-01":"2016-04-15"]
    models = fit_series("short", short, pd.Timestamp("2016-04-16"), SPEC, SETTINGS)
    assert set(models.insufficient) == set(AQI_POLLUTANTS)
    forecast, _ = forecast_series(models, short, pd.Timestamp("2016-04-16"), SETTINGS, tz=TZ)
    assert forecast.status == "insufficient data"
    assert "at least 180 are needed" in forecast.reason
    assert forecast.aqi.empty
    with pytest.raises(ValueError, match="no forecast to grade"):
        graded_aqi(forecast, Grading())


def test_a_month_long_gap_is_skipped_not_filled(daily: pd.DataFrame) -> None:
    gappy = daily.copy()
    gappy.loc["2016-11-01":"2016-11-30"] = np.nan
    models = fit_series("gappy", gappy, TRAIN_UNTIL, SPEC, SETTINGS)
    before = gappy.loc[gappy.index < TRAIN_UNTIL, "pm25"]
    assert models.models["pm25"].n_valid == before.notna().sum()
    forecast, _ = forecast_series(models, gappy, pd.Timestamp("2017-01-05"), SETTINGS, tz=TZ)
    assert forecast.ok and forecast.aqi["aqi"].notna().all()
    # gaps just before the issue day are reported with the forecast, not hidden
    gappy.loc["2017-01-20":"2017-01-24"] = np.nan
    later, _ = forecast_series(models, gappy, pd.Timestamp("2017-01-25"), SETTINGS, tz=TZ)
    expected = gappy.loc["2016-12-26":"2017-01-24", "pm25"].isna().sum()
    assert later.recent_missing["pm25"] == expected >= 5


def test_weather_inputs_must_cover_the_forecast_days() -> None:
    pollutants, weather = sample_daily()
    spec = ModelSpec(weather=("temp", "dewp", "wspd"))
    models = fit_series("wx", pollutants, TRAIN_UNTIL, spec, SETTINGS, weather)
    origin = pd.Timestamp("2017-01-10")
    ok, _ = forecast_series(models, pollutants, origin, SETTINGS, tz=TZ, weather=weather)
    assert ok.ok
    cut = weather.loc[weather.index < origin + pd.Timedelta(days=2)]
    with pytest.raises(ValueError, match="no regression input"):
        forecast_series(models, pollutants, origin, SETTINGS, tz=TZ, weather=cut)


def test_forecast_config_errors_name_file_and_key(tmp_path: Path) -> None:
    shutil.copytree(PROJECT_CONFIG, tmp_path / "config")
    bad = tmp_path / "config" / "forecast.toml"
    bad.write_text('[forecast]\nhistory_only_model = "nope"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"forecast.toml: .*history_only_model: no \[models"):
        load_forecast_config(load_config(tmp_path / "config"))
    bad.write_text('[decision.areas]\nnorth = ["beijing", "mars"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"decision.areas.north: unknown regions \['mars'\]"):
        load_forecast_config(load_config(tmp_path / "config"))
    bad.write_text('[grading]\nbasis = "median"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"grading.basis"):
        load_forecast_config(load_config(tmp_path / "config"))
