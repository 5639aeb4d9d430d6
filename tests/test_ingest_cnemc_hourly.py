"""The national hourly release (CNEMC) becomes canonical readings and stations."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from ingest_support import SAMPLES, context, reading

from ingest import cnemc_hourly_air
from monitor.config import AppConfig

EPISODE = SAMPLES / "cnemc_hourly_air" / "2026-03-03"


@pytest.fixture(scope="module")
def at_08(config: AppConfig):
    return cnemc_hourly_air.read(EPISODE / "2026-03-03T08.csv",
                                 config.feeds["cnemc_hourly_air"], context(config))


def test_beijing_0800_reading_is_0000_utc_with_published_values(at_08) -> None:
    # raw line: 2026-03-03T0800,1001A,...,万寿西宫,细颗粒物(PM2.5),173,141,120,131,111,...,1.2,1.2
    pm25 = reading(at_08, "cn:1001A", "2026-03-03T00:00Z", "pm25")
    assert pm25["value"] == 131 and pm25["unit"] == "ug/m3" and pm25["flag"] == "valid"
    assert pm25["source_row"] == 11  # line 11 of the file, header is line 1
    assert reading(at_08, "cn:1001A", "2026-03-03T00:00Z", "pm25", "24h")["value"] == 111
    assert reading(at_08, "cn:1001A", "2026-03-03T00:00Z", "pm10")["value"] == 141
    assert reading(at_08, "cn:1001A", "2026-03-03T00:00Z", "aqi")["value"] == 173
    co = reading(at_08, "cn:1001A", "2026-03-03T00:00Z", "co")
    assert co["value"] == pytest.approx(1.2) and co["unit"] == "mg/m3"


def test_ozone_columns_get_the_periods_the_data_show(at_08) -> None:
    # o3_8h is the day's max 8-h mean so far, o3_8h_24h the current 8-h mean, o3_24h a copy
    at = "2026-03-03T00:00Z"
    assert reading(at_08, "cn:1001A", at, "o3")["value"] == 35
    assert reading(at_08, "cn:1001A", at, "o3", "8h_max_24h")["value"] == 45
    assert reading(at_08, "cn:1001A", at, "o3", "8h")["value"] == 45
    o3 = at_08.readings[(at_08.readings["station_id"] == "cn:1001A")
                        & (at_08.readings["parameter"] == "o3")]
    assert sorted(o3["period"].astype(str)) == ["1h", "8h", "8h_max_24h"]


def test_slash_is_not_monitored_and_na_missing_both_kept_invalid(at_08) -> None:
    # 2026-03-03T0800,1268A,...,丽水市,莲都小学,,21,14,7,8,4,65,65,69,69,8,9,/,/,/,/
    for period in ("1h", "24h"):
        so2 = reading(at_08, "cn:1268A", "2026-03-03T00:00Z", "so2", period)
        assert math.isnan(so2["value"]) and so2["flag"] == "invalid"
        assert so2["flag_reason"] == "not_monitored"
    assert reading(at_08, "cn:1268A", "2026-03-03T00:00Z", "no2")["value"] == 8
    # 2026-03-03T0800,1051A,...,保定市,游泳馆,细颗粒物(PM2.5),140,NA,89,...
    pm10 = reading(at_08, "cn:1051A", "2026-03-03T00:00Z", "pm10")
    assert math.isnan(pm10["value"]) and pm10["flag"] == "invalid"
    assert pm10["flag_reason"] == "missing"


def test_every_row_is_stored_and_counts_add_up(at_08) -> None:
    lines = (EPISODE / "2026-03-03T08.csv").read_text(encoding="utf-8").splitlines()
    assert at_08.records == len(lines) - 1 == at_08.stored_records
    assert at_08.quarantine.empty and at_08.duplicates == 0
    assert len(at_08.readings) == at_08.records * len(cnemc_hourly_air.VARIABLE_MAP)


def test_station_metadata_collected_with_region(at_08) -> None:
    st = at_08.stations.set_index("station_id")
    assert len(st) == at_08.records
    wsxg = st.loc["cn:1001A"]
    assert (wsxg["name"], wsxg["city"], wsxg["region"]) == ("万寿西宫", "北京市", "beijing")
    assert (wsxg["lon"], wsxg["lat"]) == (116.3611, 39.8786)
    assert set(st["region"]) == {"beijing", "tianjin", "hebei", "zhejiang"}


def test_all_sample_hours_read(config: AppConfig) -> None:
    ctx = context(config)
    feed = config.feeds["cnemc_hourly_air"]
    files = config.feed_files(feed)
    assert len(files) == 48
    for path in files:
        result = cnemc_hourly_air.read(path, feed, ctx).check()
        assert result.quarantine.empty, path
        assert result.readings["time"].nunique() == 1


@pytest.mark.shared
def test_full_national_release(config: AppConfig, shared_data: Path) -> None:
    ctx = context(config)
    feed = config.feeds["cnemc_hourly_air"]
    result = cnemc_hourly_air.read(shared_data / "cnemc_hourly_air" / "2026-03-03"
                                   / "2026-03-03T08.csv", feed, ctx).check()
    assert result.records == result.stored_records == 1597
    # a station far from the samples: 2026-03-03T0800,2695A,...,阿克苏地区,电视台,...,298,418
    assert reading(result, "cn:2695A", "2026-03-03T00:00Z", "pm10")["value"] == 418
    aksu = result.stations.set_index("station_id").loc["cn:2695A"]
    assert aksu["region"] == "新疆维吾尔自治区"


@pytest.mark.shared
def test_every_national_file_accounts_for_every_row(config: AppConfig,
                                                    shared_data: Path) -> None:
    ctx = context(config)
    feed = config.feeds["cnemc_hourly_air"]
    files = sorted((shared_data / "cnemc_hourly_air").glob("*/*.csv"))
    assert len(files) == 48
    for path in files:
        result = cnemc_hourly_air.read(path, feed, ctx).check()
        lines = path.read_bytes().count(b"\n")
        assert result.records == result.stored_records == lines - 1, path
        assert result.quarantine.empty, path


@pytest.mark.shared
def test_samples_are_unchanged_lines_of_the_release(config: AppConfig,
                                                    shared_data: Path) -> None:
    cities = {c for r in ("beijing", "tianjin", "hebei", "zhejiang")
              for c in config.regions[r].cities}
    for sample in sorted((SAMPLES / "cnemc_hourly_air").glob("*/*.csv")):
        original = shared_data / "cnemc_hourly_air" / sample.parent.name / sample.name
        kept = sample.read_bytes().splitlines(keepends=True)
        source = original.read_bytes().splitlines(keepends=True)
        assert kept[0] == source[0]
        assert set(kept[1:]) <= set(source[1:]), sample
        expected = [ln for ln in source[1:] if ln.decode("utf-8").split(",")[4] in cities]
        if sample.parent.name == "2026-05-01":
            zhejiang = set(config.regions["zhejiang"].cities)
            expected = [ln for ln in expected if ln.decode("utf-8").split(",")[4] in zhejiang]
        assert kept[1:] == expected, sample


@pytest.mark.shared
def test_station_list_is_reproducible(config: AppConfig, shared_data: Path) -> None:
    import importlib.util

    import pandas as pd
    from ingest_support import PROJECT

    spec = importlib.util.spec_from_file_location(
        "make_stations_cn", PROJECT / "scripts" / "make_stations_cn.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    built = script.national_stations(shared_data / "cnemc_hourly_air", config)
    committed = pd.read_csv(PROJECT / "config" / "stations_cn.csv", dtype=str)
    assert built.astype(str).reset_index(drop=True).equals(committed.astype(str))
