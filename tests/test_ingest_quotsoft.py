"""The quotsoft daily file, wide by station: one record per (row, station) cell."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from ingest_support import SAMPLES, context, reading

from ingest import quotsoft_china_sites
from ingest.pipeline import run_ingest
from monitor.config import AppConfig
from monitor.store import Store

SAMPLE = SAMPLES / "quotsoft_china_sites" / "china_sites_20170101.csv"
MIDNIGHT = "2016-12-31T16:00Z"  # Beijing 2017-01-01 00:00


@pytest.fixture(scope="module")
def day(config: AppConfig):
    return quotsoft_china_sites.read(SAMPLE, config.feeds["quotsoft_china_sites"],
                                     context(config))


def test_known_cells_in_canonical_form(day) -> None:
    # 20170101,0,AQI,445,...   20170101,0,PM2.5,417,...   20170101,0,CO,5.2,...
    aqi = reading(day, "cn:1001A", MIDNIGHT, "aqi")
    assert (aqi["value"], aqi["source_row"]) == (445, 2)
    assert reading(day, "cn:1001A", MIDNIGHT, "pm25")["value"] == 417
    co = reading(day, "cn:1001A", MIDNIGHT, "co")
    assert co["value"] == pytest.approx(5.2) and co["unit"] == "mg/m3"
    assert reading(day, "cn:1001A", MIDNIGHT, "pm25", "24h")["value"] == 397


def test_ozone_types_get_their_periods(day) -> None:
    # 20170101,0,O3_24h,9,...: the max 1-h value of the last 24 h
    assert reading(day, "cn:1001A", MIDNIGHT, "o3", "1h_max_24h")["value"] == 9
    periods = set(day.readings.loc[day.readings["parameter"] == "o3", "period"].astype(str))
    assert periods == {"1h", "1h_max_24h", "8h", "8h_max_24h"}


def test_each_cell_is_a_record_and_empty_cells_are_missing(day) -> None:
    day.check()
    header = SAMPLE.read_text(encoding="utf-8").splitlines()[0].split(",")
    rows = len(SAMPLE.read_text(encoding="utf-8").splitlines()) - 1
    assert day.records == rows * (len(header) - 3) == day.stored_records
    empty = reading(day, "cn:1013A", MIDNIGHT, "aqi")  # 20170101,0,AQI,...,498,,,260
    assert math.isnan(empty["value"]) and empty["flag_reason"] == "missing"


def test_codes_missing_from_station_table_are_kept_and_listed(config: AppConfig, day,
                                                              tmp_path: Path) -> None:
    # 1002A and 1012A were Beijing codes in 2017, absent from today's national list
    assert reading(day, "cn:1002A", MIDNIGHT, "aqi")["value"] == 280
    store = Store(tmp_path / "var")
    run_ingest(config, store, ["quotsoft_china_sites"])
    listed = store.stations().set_index("station_id")
    assert listed.loc["cn:1002A", "medium"] == "air"
    assert listed.loc["cn:1002A", "source"] == "quotsoft_china_sites"
    assert listed.loc["cn:1001A", "name"] == "万寿西宫"  # known stations keep their metadata


def test_haze_day_pm25_above_pm10_is_suspect_on_both(day) -> None:
    # 20170101,0,PM2.5_24h,397,207,...  20170101,0,PM10_24h,433,205,...  (station 1002A)
    pm25 = reading(day, "cn:1002A", MIDNIGHT, "pm25", "24h")
    pm10 = reading(day, "cn:1002A", MIDNIGHT, "pm10", "24h")
    assert (pm25["value"], pm10["value"]) == (207, 205)
    assert pm25["flag"] == pm10["flag"] == "suspect"
    assert pm25["flag_reason"] == pm10["flag_reason"] == "pm25_gt_pm10"
    ok = reading(day, "cn:1001A", MIDNIGHT, "pm25", "24h")
    assert ok["flag"] == "valid"


@pytest.mark.shared
def test_full_day_file(config: AppConfig, shared_data: Path) -> None:
    result = quotsoft_china_sites.read(
        shared_data / "quotsoft_china_sites" / "china_sites_20170101.csv",
        config.feeds["quotsoft_china_sites"], context(config)).check()
    assert result.records == result.stored_records == 19 * 15 * 1497
    flagged = result.readings[result.readings["flag_reason"].fillna("").str.contains(
        "pm25_gt_pm10")]
    assert len(flagged) == 2 * 314  # 314 station-hours with PM2.5_24h > PM10_24h
