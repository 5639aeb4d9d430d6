"""Daily forecast inputs from canonical readings: valid station days only, no filling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitor.forecast_inputs import daily_pollutants, daily_weather
from monitor.schema import READING_COLUMNS

TZ = "Asia/Shanghai"


def _readings(parameter: str, values: dict[str, list[float]], unit: str) -> pd.DataFrame:
    """Hourly readings of 2016-12-01 .. 12-02 (Beijing days), one list of 48 per station."""
    hours = pd.date_range("2016-11-30T17:00Z", periods=48, freq="h")  # ends 01:00 .. 24:00
    frames = []
    for station, series in values.items():
        frames.append(pd.DataFrame({
            "station_id": station, "time": hours, "period": "1h", "parameter": parameter,
            "value": series, "unit": unit,
            "flag": ["invalid" if np.isnan(v) else "valid" for v in series],
            "flag_reason": None, "source": "test", "source_file": "test.csv",
            "source_row": np.arange(48)}))
    return pd.concat(frames, ignore_index=True)[READING_COLUMNS]


def test_city_value_is_the_mean_of_valid_station_days() -> None:
    a = [100.0] * 24 + [200.0] * 24
    b = [50.0] * 24 + [np.nan] * 14 + [80.0] * 10  # day 2: 10 valid hours < 20
    daily = daily_pollutants(_readings("pm25", {"cn:A": a, "cn:B": b}, "ug/m3"), TZ)
    assert daily.loc["2016-12-01", "pm25"] == pytest.approx(75.0)
    assert daily.loc["2016-12-02", "pm25"] == pytest.approx(200.0)  # B's day is not valid
    assert daily.loc["2016-12-01":"2016-12-02", "pm10"].isna().all()  # not measured: NaN


def test_a_day_without_valid_values_stays_missing() -> None:
    a = [40.0] * 24 + [np.nan] * 24
    daily = daily_pollutants(_readings("no2", {"cn:A": a}, "ug/m3"), TZ)
    assert daily.loc["2016-12-01", "no2"] == pytest.approx(40.0)
    assert daily["no2"].reindex(pd.DatetimeIndex(["2016-12-02"])).isna().all()


def test_weather_keeps_negative_temperatures_and_sums_rain() -> None:
    temp = _readings("temp", {"cn:A": [-5.0] * 24 + [-1.0] * 24}, "degC")
    rain = _readings("rain", {"cn:A": [0.5] * 24 + [0.0] * 24}, "mm")
    weather = daily_weather(pd.concat([temp, rain], ignore_index=True), TZ)
    assert weather.loc["2016-12-01", "temp"] == pytest.approx(-5.0)
    assert weather.loc["2016-12-02", "temp"] == pytest.approx(-1.0)
    assert weather.loc["2016-12-01", "rain"] == pytest.approx(12.0)


def test_north_wind_is_the_mean_northerly_component_of_hours_with_speed_and_direction() -> None:
    # day 1: 12 h of 4 m/s from the north (0 deg) and 12 h of 2 m/s from the south (180 deg)
    # -> (12 * 4 - 12 * 2) / 24 = 1 m/s; day 2: east wind (90 deg) -> 0, but 6 hours lack
    # a direction, so only 18 valid hours remain (< 20): the day stays missing
    speed = [4.0] * 12 + [2.0] * 12 + [3.0] * 24
    direction = [0.0] * 12 + [180.0] * 12 + [90.0] * 18 + [np.nan] * 6
    readings = pd.concat([_readings("wspd", {"cn:A": speed}, "m/s"),
                          _readings("wdir", {"cn:A": direction}, "degree")], ignore_index=True)
    weather = daily_weather(readings, TZ)
    assert weather.loc["2016-12-01", "wind_north"] == pytest.approx(1.0)
    assert np.isnan(weather.loc["2016-12-02", "wind_north"])
    assert weather.loc["2016-12-02", "wspd"] == pytest.approx(3.0)
