"""Real-time, daily, city and group AQI from canonical readings and from xarray."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from monitor.aqi import (
    NOT_MONITORED,
    categories,
    category,
    city_aqi,
    daily_aqi,
    group_aqi,
    iaqi,
    realtime_aqi,
    region_aqi,
    standard_at,
)
from monitor.aqi_tables import HJ633_2026
from monitor.config import AppConfig
from monitor.statistics import daily_statistics

SIX = {"so2": 5.0, "no2": 20.0, "pm10": 40.0, "co": 0.5, "o3": 60.0, "pm25": 30.0}


def readings(rows: list[tuple[str, str, str, str, float]], **extra: object) -> pd.DataFrame:
    """Canonical readings from (station, UTC time, parameter, period, value) rows."""
    frame = pd.DataFrame(rows, columns=["station_id", "time", "parameter", "period", "value"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["flag"] = "valid"
    frame["flag_reason"] = None
    for column, value in extra.items():
        frame[column] = value
    return frame


def hour(station: str, time: str, **values: float) -> list[tuple[str, str, str, str, float]]:
    return [(station, time, p, "1h", v) for p, v in {**SIX, **values}.items()]


def test_realtime_aqi_category_primary_and_iaqi_columns() -> None:
    # 2026-03-03 09:00 Beijing: PM2.5 75 -> 114 (HJ 633-2026); same hour in 2017 -> 100
    rows = hour("cn:1", "2026-03-03T01:00Z", pm25=75) + hour("cn:1", "2017-01-01T01:00Z",
                                                              pm25=75)
    out = realtime_aqi(readings(rows)).set_index("time")
    new, old = out.loc["2026-03-03T01:00Z"], out.loc["2017-01-01T01:00Z"]
    assert (new["standard"], new["aqi"], new["category"]) == ("hj633-2026", 114, 3)
    assert (old["standard"], old["aqi"], old["category"]) == ("hj633-2012", 100, 2)
    assert new["primary_pollutants"] == "pm25" and old["primary_pollutants"] == "pm25"
    assert new["iaqi_o3_1h"] == 19 and new["iaqi_co"] == 5


def test_hours_either_side_of_the_cutover_use_their_own_table() -> None:
    # The hour ending 00:00 Beijing on 03-01 belongs to 02-28; the next one to 03-01.
    rows = hour("cn:1", "2026-02-28T16:00Z", pm25=75) + hour("cn:1", "2026-02-28T17:00Z",
                                                              pm25=75)
    out = realtime_aqi(readings(rows))
    assert out["standard"].tolist() == ["hj633-2012", "hj633-2026"]
    assert out["aqi"].tolist() == [100, 114]


def test_primary_pollutant_ties_are_all_listed_and_none_up_to_50() -> None:
    # PM10 150 and PM2.5 75 both give IAQI 100 under HJ 633-2012
    tie = hour("cn:1", "2017-01-01T01:00Z", pm10=150, pm25=75)
    low = hour("cn:2", "2017-01-01T01:00Z", pm10=50, pm25=35)
    out = realtime_aqi(readings(tie + low)).set_index("station_id")
    assert out.loc["cn:1", "primary_pollutants"] == "pm10,pm25"
    assert out.loc["cn:2", "aqi"] == 50 and pd.isna(out.loc["cn:2", "primary_pollutants"])


def test_nonattainment_pollutants_only_under_2012() -> None:
    rows = hour("cn:1", "2017-01-01T01:00Z", pm10=200, pm25=90, no2=250)
    old = realtime_aqi(readings(rows)).iloc[0]
    assert old["nonattainment_pollutants"] == "no2,pm10,pm25"
    new = realtime_aqi(readings(rows), standard="hj633-2026").iloc[0]
    assert pd.isna(new["nonattainment_pollutants"])


def test_completeness_rule_2026_missing_value_withholds_aqi_up_to_100() -> None:
    t = "2026-05-01T01:00Z"
    no_o3_low = [r for r in hour("cn:1", t) if r[2] != "o3"] + [("cn:1", t, "o3", "1h", np.nan)]
    no_o3_high = ([r for r in hour("cn:2", t, pm25=90) if r[2] != "o3"]
                  + [("cn:2", t, "o3", "1h", np.nan)])
    only_pm10 = ([r for r in hour("cn:3", t) if r[2] != "pm10"]
                 + [("cn:3", t, "pm10", "1h", np.nan)])
    out = realtime_aqi(readings(no_o3_low + no_o3_high + only_pm10)).set_index("station_id")
    assert np.isnan(out.loc["cn:1", "aqi"])
    assert out.loc["cn:1", "reason"] == "incomplete_aqi_not_published"
    assert out.loc["cn:2", "aqi"] == 128  # PM2.5 90: 100 + 30/55 * 50 = 127.3 > 100
    assert out.loc["cn:3", "aqi"] == 43  # PM10 alone missing: published (national practice)
    # the same hour under HJ 633-2012 has no completeness rule
    old = realtime_aqi(readings(no_o3_low), standard="hj633-2012").iloc[0]
    assert old["aqi"] == 43


def test_not_monitored_pollutant_is_not_missing() -> None:
    t = "2026-05-01T01:00Z"
    rows = [r for r in hour("cn:1", t) if r[2] not in ("so2", "co")]
    frame = readings([*rows, ("cn:1", t, "so2", "1h", np.nan), ("cn:1", t, "co", "1h", np.nan)])
    frame.loc[frame["parameter"].isin(["so2", "co"]), "flag_reason"] = "missing;" + NOT_MONITORED
    assert realtime_aqi(frame).iloc[0]["aqi"] == 43


def test_invalid_and_negative_values_count_as_missing_and_are_reported() -> None:
    t = "2026-05-01T01:00Z"
    frame = readings(hour("cn:1", t, pm25=-3) + hour("cn:2", t, pm25=300))
    frame.loc[(frame["station_id"] == "cn:2") & (frame["parameter"] == "pm25"), "flag"] = (
        "invalid")
    out = realtime_aqi(frame).set_index("station_id")
    assert out.loc["cn:1", "reason"] == "pm25:negative_concentration;" \
                                        "incomplete_aqi_not_published"
    assert np.isnan(out.loc["cn:1", "aqi"]) and np.isnan(out.loc["cn:2", "aqi"])


def test_xarray_station_by_time_gives_the_same_as_long_readings() -> None:
    times = pd.date_range("2026-05-01T00:00", periods=3, freq="h")
    rng = np.random.default_rng(1)
    data = {p: (("station", "time"), rng.uniform(0, 3, (2, 3)) * v) for p, v in SIX.items()}
    ds = xr.Dataset(data, coords={"station": ["cn:1", "cn:2"], "time": times})
    grid = realtime_aqi(ds)
    long = ds.to_dataframe().reset_index().melt(id_vars=["station", "time"],
                                                var_name="parameter")
    frame = readings([(r.station, str(r.time), r.parameter, "1h", r.value)
                      for r in long.itertuples()])
    flat = realtime_aqi(frame).set_index(["station_id", "time"])["aqi"]
    expected = flat.unstack("time").to_numpy()
    np.testing.assert_array_equal(grid["aqi"].values, expected)
    assert grid["aqi"].dims == ("station", "time")


def test_daily_aqi_2012_scores_o3_1h_max_2026_does_not() -> None:
    def day(end: str) -> list[tuple[str, str, str, str, float]]:
        return [("cn:1", end, p, "24h", v) for p, v in SIX.items() if p != "o3"] + [
            ("cn:1", end, "o3", "8h_max_24h", 150.0), ("cn:1", end, "o3", "1h_max_24h", 350.0)]

    out = daily_aqi(readings(day("2017-01-01T16:00Z") + day("2026-05-01T16:00Z")))
    old, new = out.iloc[0], out.iloc[1]
    assert (old["standard"], old["aqi"], old["primary_pollutants"]) == ("hj633-2012", 175,
                                                                        "o3_1h")
    assert (new["standard"], new["aqi"], new["primary_pollutants"]) == ("hj633-2026", 92,
                                                                        "o3_8h")
    assert "iaqi_o3_1h" in out and np.isnan(new["iaqi_o3_1h"])


def test_daily_2012_o3_8h_above_800_gives_way_to_the_1h_maximum() -> None:
    end = "2017-07-01T16:00Z"
    frame = readings([("cn:1", end, "o3", "8h_max_24h", 850.0),
                      ("cn:1", end, "o3", "1h_max_24h", 1000.0)])
    row = daily_aqi(frame).iloc[0]
    assert row["iaqi_o3_8h"] == 400 and row["aqi"] == 400
    assert row["reason"] == "o3_8h:above_scale_used_1h"


def test_city_and_group_aqi_from_mean_concentrations() -> None:
    t = "2026-05-01T01:00Z"
    rows = hour("cn:1", t, pm25=50) + hour("cn:2", t, pm25=70) + hour("cn:3", t, pm25=10)
    stations = pd.DataFrame({"station_id": ["cn:1", "cn:2", "cn:3"],
                             "city": ["北京市", "北京市", "石家庄市"]})
    out = city_aqi(readings(rows), stations).set_index("group")
    # mean 60 -> IAQI 100 (not the mean of IAQIs 86 and 110)
    assert out.loc["北京市", "aqi"] == 100
    assert out.loc["石家庄市", "aqi"] == 40
    grouped = group_aqi(readings(rows), {"cn:1": "a", "cn:3": "a"}).set_index("group")
    assert grouped.loc["a", "iaqi_pm25"] == 43  # mean of 50 and 10 is 30


def test_region_aqi_uses_the_configured_member_cities(config: AppConfig) -> None:
    t = "2026-05-01T01:00Z"
    rows = hour("cn:1", t, pm25=50) + hour("cn:2", t, pm25=70) + hour("cn:9", t, pm25=500)
    stations = pd.DataFrame({"station_id": ["cn:1", "cn:2", "cn:9"],
                             "city": ["石家庄市", "唐山市", "巴黎"]})
    out = region_aqi(readings(rows), stations, config)
    assert out["group"].tolist() == ["hebei"] and out["aqi"].tolist() == [100]


def test_categories_names_colours_and_advice() -> None:
    table = categories([0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500, np.nan])
    assert table["level"].tolist()[:12] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    assert table["name_zh"].tolist()[::2][:6] == ["优", "良", "轻度污染", "中度污染",
                                                  "重度污染", "严重污染"]
    assert table["colour"].tolist()[10] == "#7E0023"
    assert pd.isna(table["level"].iloc[12])
    assert "儿童" in category(3).advice
    assert "哮喘" in HJ633_2026.sensitive_groups["o3"]


def test_unknown_report_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown report 'weekly'; allowed: daily, realtime"):
        group_aqi(readings(hour("cn:1", "2026-05-01T01:00Z")), {"cn:1": "a"}, report="weekly")


def test_group_pollutant_all_invalid_is_missing_not_unmonitored() -> None:
    t = "2026-05-01T01:00Z"
    frame = readings(hour("cn:1", t) + hour("cn:2", t))
    frame.loc[frame["parameter"] == "co", "flag"] = "invalid"
    out = group_aqi(frame, {"cn:1": "a", "cn:2": "a"}).iloc[0]
    assert np.isnan(out["aqi"]) and out["reason"] == "incomplete_aqi_not_published"
    frame.loc[frame["parameter"] == "co", ["flag", "flag_reason"]] = ["valid", NOT_MONITORED]
    assert group_aqi(frame, {"cn:1": "a", "cn:2": "a"}).iloc[0]["aqi"] == 43


def test_standard_at_a_date() -> None:
    assert standard_at("2026-02-28T15:59Z").name == "hj633-2012"
    assert standard_at(pd.Timestamp("2026-03-01", tz="Asia/Shanghai")).name == "hj633-2026"


def test_thresholds_on_both_sides() -> None:
    t2012, t2026 = "2017-01-01T01:00Z", "2026-05-01T01:00Z"
    zero = dict.fromkeys(SIX, 0.0)
    # AQI range 1-500 in 2026: all zero -> 1; under 2012 -> 0
    rows = hour("cn:z", t2026, **zero) + hour("cn:z", t2012, **zero)
    assert realtime_aqi(readings(rows))["aqi"].tolist() == [0, 1]
    # primary pollutant only above 50: NO2 1-h 100 -> 50 (none), 102 -> 51 (no2)
    rows = hour("cn:a", t2026, **{**zero, "no2": 100}) + hour("cn:b", t2026,
                                                             **{**zero, "no2": 102})
    out = realtime_aqi(readings(rows)).set_index("station_id")
    assert out["aqi"].tolist() == [50, 51]
    assert pd.isna(out.loc["cn:a", "primary_pollutants"])
    assert out.loc["cn:b", "primary_pollutants"] == "no2"
    # non-attainment (2012) above IAQI 100: NO2 1-h 200 -> 100 (no), 202 -> 101 (yes)
    rows = hour("cn:a", t2012, no2=200) + hour("cn:b", t2012, no2=202)
    out = realtime_aqi(readings(rows)).set_index("station_id")
    assert pd.isna(out.loc["cn:a", "nonattainment_pollutants"])
    assert out.loc["cn:b", "nonattainment_pollutants"] == "no2"
    # completeness (2026): O3 missing, AQI of the rest 100 -> withheld, 101 -> published
    rows = [r for r in hour("cn:a", t2026, no2=200) + hour("cn:b", t2026, no2=202)
            if r[2] != "o3"]
    rows += [("cn:a", t2026, "o3", "1h", np.nan), ("cn:b", t2026, "o3", "1h", np.nan)]
    out = realtime_aqi(readings(rows)).set_index("station_id")
    assert np.isnan(out.loc["cn:a", "aqi"]) and out.loc["cn:b", "aqi"] == 101


@pytest.mark.shared
def test_daily_aqi_from_valid_daily_statistics_of_a_real_day(shared_data: Path) -> None:
    files = sorted((shared_data / "cnemc_hourly_air" / "2026-03-03").glob("*.csv"))
    raw = pd.concat([pd.read_csv(f, dtype={"stationcode": str}, na_values=["NA", "/"])
                     for f in files], ignore_index=True)
    raw = raw[raw["area"] == "北京市"]
    time = (pd.to_datetime(raw["timepoint"], format="%Y-%m-%dT%H%M")
            .dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC"))
    columns = {"pm2_5": "pm25", "pm10": "pm10", "so2": "so2", "no2": "no2", "co": "co",
               "o3": "o3"}
    hourly = pd.concat([readings(list(zip("cn:" + raw["stationcode"], time.astype(str),
                                          [p] * len(raw), ["1h"] * len(raw), raw[c],
                                          strict=True)))
                        for c, p in columns.items()], ignore_index=True)
    stats = daily_statistics(hourly, "Asia/Shanghai")
    out = daily_aqi(stats)
    day = out[out["time"] == pd.Timestamp("2026-03-03T16:00Z")]  # local day 2026-03-03
    assert len(day) == raw["stationcode"].nunique() and set(day["standard"]) == {"hj633-2026"}
    assert day["aqi"].notna().all() and day["aqi"].median() > 100  # the PM2.5 episode
    means = stats[(stats["time"] == pd.Timestamp("2026-03-03T16:00Z"))
                  & (stats["parameter"] == "pm25") & (stats["period"] == "24h")]
    expected = iaqi("pm25", means["value"], period="24h", standard="hj633-2026")
    np.testing.assert_array_equal(day.set_index("station_id").loc[means["station_id"],
                                                                   "iaqi_pm25"], expected)
    # the local day 2026-03-02 has one hour here: too few for a 24-h mean, so no AQI
    before = out[out["time"] == pd.Timestamp("2026-03-02T16:00Z")]
    assert before["aqi"].isna().all()


def test_bad_layouts_are_clear_value_errors() -> None:
    with pytest.raises(ValueError, match=r"readings lack column\(s\) flag"):
        realtime_aqi(readings(hour("cn:1", "2026-05-01T01:00Z")).drop(columns="flag"))
    grid = xr.Dataset({"pm25": (("site", "time"), np.ones((1, 2)))})
    with pytest.raises(ValueError, match=r"AQI grid lacks dimension\(s\) station; it has site"):
        realtime_aqi(grid)
