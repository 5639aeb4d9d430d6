"""Verification metrics on hand-made tables, baselines as defined, and the no-leak backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from forecast_samples import TZ, full_daily, sample_daily

from monitor.backtest import add_baselines, climatology, observed_aqi, persistence, rolling_origin
from monitor.forecast import HISTORY_ONLY, PERFECT_PROGNOSIS
from monitor.forecast_config import ForecastConfig, ForecastSettings, ModelSpec
from monitor.verification import (
    category_accuracy,
    contingency,
    continuous_scores,
    coverage,
    mse_skill,
    verification_table,
)


def test_contingency_scores_on_a_hand_made_table() -> None:
    # event "> 200": 3 hits, 1 false alarm, 2 misses, 4 correct negatives
    forecast = [250, 210, 301, 220, 150, 190, 100, 50, 180, 120]
    observed = [260, 205, 320, 150, 250, 230, 90, 60, 100, 199]
    table = contingency(forecast, observed, 200)
    assert (table.hits, table.false_alarms, table.misses, table.correct_negatives) == (3, 1, 2, 4)
    assert table.pod == pytest.approx(3 / 5)
    assert table.far == pytest.approx(1 / 4)
    assert table.csi == pytest.approx(3 / 6)


def test_contingency_edges_and_missing_pairs() -> None:
    never = contingency([10, 20], [30, 40], 200)
    assert np.isnan(never.pod) and np.isnan(never.far) and np.isnan(never.csi)
    # exactly at the threshold is not an exceedance ("> 200"); NaN pairs are left out
    table = contingency([200, 201, np.nan], [201, 200, 500], 200)
    assert (table.hits, table.false_alarms, table.misses) == (0, 1, 1)


def test_continuous_scores_by_hand() -> None:
    scores = continuous_scores([12, 8, 30, np.nan], [10, 10, 20, 5])
    assert scores["n"] == 3
    assert scores["mae"] == pytest.approx((2 + 2 + 10) / 3)
    assert scores["rmse"] == pytest.approx(np.sqrt((4 + 4 + 100) / 3))
    assert scores["bias"] == pytest.approx((2 - 2 + 10) / 3)


def test_category_accuracy_uses_the_six_aqi_categories() -> None:
    # boundaries of HJ 633 Table 2: 50|51, 100|101, 150|151, 200|201, 300|301
    forecast = [50, 100, 151, 201, 301, 40]
    observed = [51, 99, 200, 300, 500, 10]
    assert category_accuracy(forecast, observed) == pytest.approx(5 / 6)


def test_skill_and_coverage() -> None:
    assert mse_skill(5.0, 10.0) == pytest.approx(0.75)
    assert mse_skill(10.0, 10.0) == 0.0
    assert np.isnan(mse_skill(1.0, 0.0))
    assert coverage([0, 0, 0, np.nan], [10, 10, 10, 10], [5, 10, 11, 5]) == pytest.approx(2 / 3)


def test_persistence_is_the_day_before_the_origin() -> None:
    days = pd.date_range("2016-01-01", periods=6, freq="D")
    values = pd.Series([1.0, 2.0, np.nan, 4.0, 5.0, 6.0], index=days)
    origins = pd.DatetimeIndex(["2016-01-03", "2016-01-04", "2016-01-06"])
    # the day before 2016-01-04 is missing: no persistence forecast (not the day before that)
    np.testing.assert_array_equal(persistence(values, origins).to_numpy(), [2.0, np.nan, 5.0])


def test_climatology_is_the_mean_of_earlier_years_windows() -> None:
    days = pd.date_range("2013-01-01", "2016-12-31", freq="D")
    values = pd.Series(np.arange(len(days), dtype=float), index=days)
    target = pd.Timestamp("2016-06-15")
    expected_days = pd.DatetimeIndex([])
    for k in (1, 2, 3):
        centre = target - pd.Timedelta(days=365 * k)
        expected_days = expected_days.append(
            pd.date_range(centre - pd.Timedelta(days=15), centre + pd.Timedelta(days=15)))
    expected = values.reindex(expected_days).mean()
    got = climatology(values, pd.DatetimeIndex([target]))
    assert got.iloc[0] == pytest.approx(expected)
    # nothing before the data: NaN, not zero
    assert np.isnan(climatology(values, pd.DatetimeIndex(["2013-06-01"])).iloc[0])


def test_observed_aqi_needs_pm25() -> None:
    daily = sample_daily()[0].loc["2016-12-01":"2016-12-05"].copy()
    daily.loc["2016-12-03", "pm25"] = np.nan
    aqi = observed_aqi(daily, TZ)
    assert np.isnan(aqi.loc["2016-12-03"])
    assert aqi.drop(pd.Timestamp("2016-12-03")).notna().all()


CONFIG = ForecastConfig(
    forecast=ForecastSettings(monte_carlo_draws=200, refit_every_days=30),
    models={"history_only": ModelSpec(), "with_weather": ModelSpec(weather=("dewp", "wspd"))})


def _spiked(daily: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    changed = daily.copy()
    changed.loc[changed.index >= start] *= 25
    return changed


@pytest.mark.parametrize("mode", [HISTORY_ONLY, PERFECT_PROGNOSIS])
def test_backtest_cannot_see_data_at_or_after_the_origin(mode: str) -> None:
    """A spike planted from day S on changes no forecast made from an origin <= S."""
    daily, weather = sample_daily()
    origins = pd.date_range("2016-12-20", periods=5, freq="D")
    spike_day = origins[2]
    clean = rolling_origin("leak", daily, origins, CONFIG, tz=TZ, mode=mode, weather=weather)
    spiked = rolling_origin("leak", _spiked(daily, spike_day), origins, CONFIG, tz=TZ,
                            mode=mode, weather=weather)
    model_columns = [c for c in clean.columns if c.startswith(("model_", "persistence_"))]
    before = clean["origin"] <= spike_day
    pd.testing.assert_frame_equal(clean.loc[before, model_columns],
                                  spiked.loc[before, model_columns])
    # ... and the spike is visible from the next origin on, so the test can see a leak
    after = clean["origin"] > spike_day
    assert (spiked.loc[after, "model_pm25"] > clean.loc[after, "model_pm25"]).all()
    assert (clean["status"] == "ok").all()


def test_perfect_prognosis_without_weather_for_a_target_day() -> None:
    daily, weather = sample_daily()
    gappy = weather.copy()
    gappy.loc["2016-12-22"] = np.nan
    origins = pd.date_range("2016-12-18", periods=6, freq="D")
    cases = rolling_origin("wx", daily, origins, CONFIG, tz=TZ, mode=PERFECT_PROGNOSIS,
                           weather=gappy)
    status = cases.groupby("origin")["status"].first()
    # origins 19..22 have 2016-12-22 among their days 1-4
    assert list(status) == ["ok"] + ["no weather input"] * 4 + ["ok"]
    assert cases.loc[cases["status"] != "ok", "model_pm25"].isna().all()


def test_verification_table_by_hand() -> None:
    cases = pd.DataFrame({
        "horizon": [1, 1, 1, 2],
        "obs_pm25": [100.0, 50.0, 200.0, 80.0], "obs_aqi": [130.0, 70.0, 250.0, 105.0],
        "model_pm25": [90.0, 60.0, 180.0, 80.0], "model_aqi": [120.0, 80.0, 230.0, 105.0],
        "persistence_pm25": [50.0, 100.0, 50.0, 80.0],
        "persistence_aqi": [70.0, 130.0, 70.0, 105.0],
        "climatology_pm25": [80.0, 80.0, 80.0, np.nan],
        "climatology_aqi": [105.0, 105.0, 105.0, np.nan],
    })
    for level in (80, 95):
        for what in ("pm25", "aqi"):
            cases[f"model_{what}_lo{level}"] = cases[f"model_{what}"] * 0.5
            cases[f"model_{what}_hi{level}"] = cases[f"model_{what}"] * 1.05
    table = verification_table(cases)
    assert set(table) == {"1"}  # horizon 2 has no climatology: not comparable
    model, pers = table["1"]["model"], table["1"]["persistence"]
    assert model["n"] == pers["n"] == 3
    assert model["pm25_rmse"] == pytest.approx(np.sqrt((100 + 100 + 400) / 3))
    assert pers["pm25_rmse"] == pytest.approx(np.sqrt((2500 + 2500 + 22500) / 3))
    assert model["aqi_gt_200"]["hits"] == 1 and pers["aqi_gt_200"]["misses"] == 1
    assert model["pm25_coverage_80"] == pytest.approx(1 / 3)  # only 50 in [30, 63]
    assert model["skill_vs_persistence"] == pytest.approx(
        1 - model["pm25_rmse"] ** 2 / pers["pm25_rmse"] ** 2)


@pytest.mark.shared
def test_verification_table_on_real_data(shared_data) -> None:
    daily = full_daily(shared_data)[0]
    origins = pd.date_range("2016-12-01", periods=12, freq="D")
    cases = rolling_origin("table", daily, origins, CONFIG, tz=TZ, mode=HISTORY_ONLY)
    table = verification_table(cases)
    assert set(table) == {"1", "2", "3", "4"}
    for row in table.values():
        assert set(row) == {"model", "persistence", "climatology"}
        assert len({scores["n"] for scores in row.values()}) == 1
        model = row["model"]
        for key in ("pm25_rmse", "aqi_mae", "category_accuracy", "aqi_gt_200",
                    "pm25_coverage_80", "aqi_coverage_95", "skill_vs_persistence",
                    "pm25_rmse_ratio_climatology"):
            assert key in model
        assert model["skill_vs_persistence"] == pytest.approx(
            1 - (model["pm25_rmse"] / row["persistence"]["pm25_rmse"]) ** 2)
    # baselines straight from their definitions
    h1 = cases[cases["horizon"] == 1].set_index("origin")
    day_before = daily["pm25"].reindex(h1.index - pd.Timedelta(days=1)).to_numpy()
    np.testing.assert_array_equal(h1["persistence_pm25"].to_numpy(), day_before)
    assert add_baselines(cases, daily, TZ)["obs_pm25"].equals(cases["obs_pm25"])


@pytest.mark.shared
def test_intervals_cover_about_their_nominal_share(shared_data) -> None:
    """Weekly origins over the test year (parameters fitted once, before 2016-03-01)."""
    daily = full_daily(shared_data)[0]
    config = CONFIG.model_copy(update={"forecast": CONFIG.forecast.model_copy(
        update={"refit_every_days": 400})})
    origins = pd.date_range("2016-03-01", "2017-02-28", freq="7D")
    cases = rolling_origin("coverage", daily, origins, config, tz=TZ, mode=HISTORY_ONLY)
    cov80 = coverage(cases["model_pm25_lo80"], cases["model_pm25_hi80"], cases["obs_pm25"])
    cov95 = coverage(cases["model_pm25_lo95"], cases["model_pm25_hi95"], cases["obs_pm25"])
    print(f"PM2.5 interval coverage over {cases['obs_pm25'].notna().sum()} cases: "
          f"80 % -> {cov80:.3f}, 95 % -> {cov95:.3f}")
    assert 0.70 <= cov80 <= 0.90
    assert 0.88 <= cov95 <= 0.99
