"""The generic tabular reader: a new province's CSV needs only a config entry."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from ingest_support import PROJECT, reading

import ingest.tabular
from ingest.base import IngestContext, adapter_for
from ingest.harmonize import GAS_CONSTANT
from monitor.config import AppConfig, ConfigError, load_config
from monitor.schema import PARAMETERS, READING_SCHEMA

#: A fictional province's feed, described by configuration only.
FEEDS_TOML = """
[feeds.lanshan_hourly_air]
adapter = "tabular"
description = "Lanshan (fictional) provincial hourly air feed"
paths = ["incoming/lanshan/*.csv"]
encoding = "gbk"
timezone = "Asia/Shanghai"

[feeds.lanshan_hourly_air.options]
delimiter = ";"
header_row = 2
missing = ["", "--"]
station_column = "站点编码"
station_prefix = "ls:"
station_map = { "LS009" = "cn:1001A" }
time = { column = "监测时间", format = "%Y/%m/%d %H:%M" }
columns = { "SO2(ppb)" = "so2" }
units = { "SO2(ppb)" = "ppb", "一氧化碳" = "ug/m3" }
ignore_columns = ["AQI"]

[feeds.lanshan_daily_wide]
adapter = "tabular"
paths = ["incoming/lanshan_wide/*.csv"]

[feeds.lanshan_daily_wide.options]
layout = "wide_by_station"
parameter_column = "项目"
time = { date = "日期", format = "%Y%m%d", hour = "时" }
station_prefix = "ls:"
station_columns = "LS\\\\d{3}"
"""

LONG_FILE = (
    "# 岚山省空气质量小时数据 (export v2)\n"
    "站点编码;站点名称;监测时间;AQI;PM2.5;PM10_24h;SO2(ppb);一氧化碳;NO2\n"
    "LS001;青山;2026/03/03 08:00;55;35;60;10;800;--\n"
    "LS002;绿水;2026/03/03 08:00;40;--;55;4;600;21\n"
    "LS009;老城;2026/03/03 08:00;61;44;70;3;900;30\n"
)

WIDE_FILE = (
    "日期,时,项目,LS001,LS002,备注\n"
    "20260303,8,PM2.5,35,,x\n"
    "20260303,8,CO,0.8,0.6,y\n"
)


@pytest.fixture
def province(tmp_path: Path) -> AppConfig:
    cdir = tmp_path / "config"
    cdir.mkdir()
    shutil.copy(PROJECT / "config" / "regions.toml", cdir / "regions.toml")
    (cdir / "feeds.toml").write_text(FEEDS_TOML, encoding="utf-8")
    incoming = tmp_path / "incoming"
    (incoming / "lanshan").mkdir(parents=True)
    (incoming / "lanshan" / "2026-03-03T08.csv").write_bytes(LONG_FILE.encode("gbk"))
    (incoming / "lanshan_wide").mkdir()
    (incoming / "lanshan_wide" / "20260303.csv").write_text(WIDE_FILE, encoding="utf-8")
    return load_config(cdir)


def _read(config: AppConfig, feed_id: str):
    feed = config.feeds[feed_id]
    [path] = config.feed_files(feed)
    return adapter_for(feed)(path, feed, IngestContext(config=config)).check()


def test_new_province_long_csv_from_config_alone(province: AppConfig) -> None:
    result = _read(province, "lanshan_hourly_air")
    assert result.records == result.stored_records == 3
    at = "2026-03-03T00:00Z"  # 08:00 Beijing
    assert reading(result, "ls:LS001", at, "pm25")["value"] == 35
    assert reading(result, "ls:LS001", at, "pm10", "24h")["value"] == 60
    co = reading(result, "ls:LS001", at, "co")
    assert co["value"] == pytest.approx(0.8) and co["unit"] == "mg/m3"
    # 10 ppb SO2 at 298.15 K, 1013.25 hPa (Chinese reference conditions since 2018-09-01)
    expected = 10e-9 * 101325 / (GAS_CONSTANT * 298.15) * PARAMETERS["so2"].molar_mass * 1e6
    assert reading(result, "ls:LS001", at, "so2")["value"] == pytest.approx(expected)
    assert expected == pytest.approx(26.19, abs=0.01)
    no2 = reading(result, "ls:LS001", at, "no2")
    assert math.isnan(no2["value"]) and no2["flag_reason"] == "missing"
    assert reading(result, "cn:1001A", at, "pm25")["value"] == 44  # station_map
    assert "aqi" not in set(result.readings["parameter"].astype(str))  # ignore_columns
    assert reading(result, "ls:LS002", at, "pm25")["source_row"] == 4  # header is line 2


def test_new_province_wide_csv_from_config_alone(province: AppConfig) -> None:
    result = _read(province, "lanshan_daily_wide")
    assert result.records == 2 * 2  # rows x station columns; 备注 is not a station
    assert reading(result, "ls:LS001", "2026-03-03T00:00Z", "co")["value"] == 0.8
    empty = reading(result, "ls:LS002", "2026-03-03T00:00Z", "pm25")
    assert math.isnan(empty["value"]) and empty["flag"] == "invalid"


def test_bad_option_is_a_config_error_naming_feed_and_option(province: AppConfig) -> None:
    feed = province.feeds["lanshan_hourly_air"]
    broken = feed.model_copy(update={"options": {**feed.options, "units": {"CO": "furlong"}}})
    with pytest.raises(ConfigError, match=r"lanshan_hourly_air\.options.*units\.CO.*furlong"):
        adapter_for(broken)(Path("x.csv"), broken, IngestContext(config=province))


def test_readings_frame_matches_canonical_schema(province: AppConfig) -> None:
    import pyarrow as pa

    from monitor.schema import READING_COLUMNS, READING_SCHEMA

    result = _read(province, "lanshan_hourly_air")
    assert list(result.readings.columns) == READING_COLUMNS
    table = pa.Table.from_pandas(result.readings, schema=READING_SCHEMA, preserve_index=False)
    assert table.num_rows == len(result.readings)
    assert pd.Series(table.column("station_id").to_pylist()).str.startswith(("ls:", "cn:")).all()


def test_unit_conversions_read_the_same_on_the_arrow_fast_path(
        province: AppConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``station_map`` the long file takes the Arrow fast path (ppb and µg/m³
    converted there); it gives what the row-level path gives."""
    feed = province.feeds["lanshan_hourly_air"]
    feed = feed.model_copy(update={"options": {
        k: v for k, v in feed.options.items() if k != "station_map"}})
    [path] = province.feed_files(feed)
    fast = adapter_for(feed)(path, feed, IngestContext(config=province)).check()
    monkeypatch.setattr(ingest.tabular, "_long_arrow", lambda *args: None)
    general = adapter_for(feed)(path, feed, IngestContext(config=province)).check()
    assert fast.unique_keys and not general.unique_keys
    assert fast.table.cast(READING_SCHEMA).equals(general.table.cast(READING_SCHEMA))
    assert reading(fast, "ls:LS001", "2026-03-03T00:00Z", "co")["value"] == pytest.approx(0.8)
