"""The Arrow fast path of long files gives exactly what the general path gives.

Every real hourly file of the national release is read twice -- through the fast path
(:mod:`ingest.tabular_arrow`) and, with it switched off, through the general row-level
path -- and the readings (every column), stations and counts must be identical.  Crafted
files add what the real ones rarely show (negative, implausible, PM2.5 > PM10,
unparseable cells) and what the fast path must leave to the general path (duplicates,
rows without a station, bad timestamps).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ingest_support import SAMPLES, context

import ingest.tabular
from ingest import cnemc_hourly_air
from ingest.base import FileResult, IngestContext
from ingest.qc import stuck_history
from ingest.tabular_times import parse_texts
from monitor.config import AppConfig
from monitor.schema import READING_SCHEMA

FEED = "cnemc_hourly_air"
HEADER = ("timepoint,stationcode,longitude,latitude,area,positionname,primarypollutant,aqi,"
          "pm10,pm10_24h,pm2_5,pm2_5_24h,o3,o3_24h,o3_8h,o3_8h_24h,no2,no2_24h,so2,so2_24h,"
          "co,co_24h")


def _both(path: Path, config: AppConfig, monkeypatch: pytest.MonkeyPatch,
          ctx: IngestContext | None = None) -> tuple[FileResult, FileResult]:
    feed = config.feeds[FEED]
    ctx = ctx or context(config)
    fast = cnemc_hourly_air.read(path, feed, ctx)
    with monkeypatch.context() as patch:
        patch.setattr(ingest.tabular, "_long_arrow", lambda *args: None)
        general = cnemc_hourly_air.read(path, feed, ctx)
    return fast, general


def _assert_same(fast: FileResult, general: FileResult) -> None:
    assert (fast.records, fast.stored_records, fast.duplicates) == (
        general.records, general.stored_records, general.duplicates)
    pd.testing.assert_frame_equal(fast.quarantine, general.quarantine)
    pd.testing.assert_frame_equal(fast.stations.astype(object), general.stations.astype(object))
    ours, theirs = fast.table.cast(READING_SCHEMA), general.table.cast(READING_SCHEMA)
    for name in READING_SCHEMA.names:
        assert ours[name].equals(theirs[name]), f"column {name} differs"


def _hourly_files(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "cnemc_hourly_air").glob("*/*.csv"))


def test_every_real_hourly_file_reads_the_same_on_both_paths(
        config: AppConfig, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _hourly_files(shared_data)
    assert len(files) == 48
    for path in files:
        fast, general = _both(path, config, monkeypatch)
        assert fast.unique_keys and not general.unique_keys  # the fast path was taken
        _assert_same(fast, general)


def test_stuck_runs_across_files_are_the_same_on_both_paths(
        config: AppConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A frozen analyser over ten hourly sample files, each read with the history of the
    files before it (as the ingest pipeline does)."""
    hours = sorted((SAMPLES / "cnemc_hourly_air" / "2026-03-03").glob("*.csv"))[:10]
    history = {"fast": None, "general": None}
    flagged = 0
    for path in hours:
        frozen = [_field(line, 10, "88") if line.split(",")[1] == "1001A" else line
                  for line in path.read_text(encoding="utf-8").splitlines()]
        copy = tmp_path / path.name
        copy.write_text("\n".join(frozen) + "\n", encoding="utf-8")
        fast_ctx, general_ctx = context(config), context(config)
        fast_ctx.history, general_ctx.history = history["fast"], history["general"]
        fast = cnemc_hourly_air.read(copy, config.feeds[FEED], fast_ctx)
        with monkeypatch.context() as patch:
            patch.setattr(ingest.tabular, "_long_arrow", lambda *args: None)
            general = cnemc_hourly_air.read(copy, config.feeds[FEED], general_ctx)
        _assert_same(fast, general)
        history["fast"] = stuck_history(fast.readings, history["fast"])
        history["general"] = stuck_history(general.readings, history["general"])
        frozen_pm25 = fast.readings.query("station_id == 'cn:1001A' and parameter == 'pm25' "
                                          "and period == '1h'")
        flagged += int(frozen_pm25["flag_reason"].fillna("").str.contains("stuck").sum())
    assert flagged == 3  # 07:00-09:00, as tests/test_qc.py finds through the pipeline


def _field(line: str, index: int, value: str) -> str:
    fields = line.split(",")
    fields[index] = value
    return ",".join(fields)


def _row(code: str, values: list[str], time: str = "2026-03-03T0800") -> str:
    return ",".join([time, code, "116.3", "39.9", "北京市", f"站{code}", "", *values])


#: aqi pm10 pm10_24h pm2_5 pm2_5_24h o3 o3_24h o3_8h o3_8h_24h no2 no2_24h so2 so2_24h co co_24h
GOOD = ["50", "60", "55", "30", "28", "40", "40", "45", "42", "20", "22", "5", "6", "0.5", "0.6"]


def _with(values: list[str], **changes: str) -> list[str]:
    columns = HEADER.split(",")[7:]
    out = list(values)
    for column, value in changes.items():
        out[columns.index(column)] = value
    return out


def test_flags_and_reasons_of_crafted_cells_are_the_same_on_both_paths(
        config: AppConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rows = [
        _row("T001", GOOD),
        _row("T002", _with(GOOD, pm2_5="90", pm10="70")),              # PM2.5 > PM10 (1 h)
        _row("T003", _with(GOOD, pm2_5_24h="80", pm10_24h="75")),      # ... and 24 h
        _row("T004", _with(GOOD, so2="-3", no2="9999")),                # negative, implausible
        _row("T005", _with(GOOD, pm2_5="2500", pm10="100")),            # implausible and >
        _row("T006", _with(GOOD, co="NA", o3="/", aqi="")),             # missing, not monitored
        _row("T007", _with(GOOD, no2="abc", no2_24h="abc", so2=" 7 ")),  # unparseable twice
    ]
    path = tmp_path / "crafted.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    fast, general = _both(path, config, monkeypatch)
    assert fast.unique_keys
    _assert_same(fast, general)
    reasons = fast.readings.set_index(["station_id", "parameter", "period"])["flag_reason"]
    assert reasons[("cn:T002", "pm25", "1h")] == "pm25_gt_pm10"
    assert reasons[("cn:T003", "pm10", "24h")] == "pm25_gt_pm10"
    assert reasons[("cn:T004", "so2", "1h")] == "negative"
    assert reasons[("cn:T004", "no2", "1h")] == "implausible"
    assert reasons[("cn:T005", "pm25", "1h")] == "implausible;pm25_gt_pm10"
    assert reasons[("cn:T006", "o3", "1h")] == "not_monitored"
    assert reasons[("cn:T007", "no2", "24h")] == "unparseable:abc"
    assert pd.isna(reasons[("cn:T007", "so2", "1h")])


@pytest.mark.parametrize("trouble", ["duplicate station", "no station", "bad timestamp"])
def test_files_needing_row_level_work_take_the_general_path(
        config: AppConfig, tmp_path: Path, trouble: str) -> None:
    rows = [_row("T001", GOOD), _row("T002", GOOD)]
    rows.append({"duplicate station": _row("T001", _with(GOOD, aqi="99")),
                 "no station": _row(" ", GOOD),
                 "bad timestamp": _row("T003", GOOD, time="2026-03-03T25xx")}[trouble])
    path = tmp_path / "trouble.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = cnemc_hourly_air.read(path, config.feeds[FEED], context(config)).check()
    assert not result.unique_keys
    assert len(result.quarantine) == 1 and result.records == 3


def test_one_by_one_timestamps_read_as_pandas_reads_them() -> None:
    """The few timestamps of an hourly file are parsed with strptime; many with pandas."""
    texts = ["2026-03-03T0800", " 2026-03-03T0800 ", "2026-3-3T0800", "2026-03-03T2400",
             "2026-02-30T0100", "x", "", "2026-03-03T08001", "2026-03-03T0860",
             "2026-03-08T0230",   # does not exist in New York (clocks go forward)
             "2026-11-01T0130"]   # happens twice in New York (clocks go back)
    for timezone in ("Asia/Shanghai", "America/New_York", None):
        one_by_one = np.concatenate([parse_texts([t], "%Y-%m-%dT%H%M", timezone)
                                     for t in texts])
        at_once = parse_texts(texts * 2, "%Y-%m-%dT%H%M", timezone)[:len(texts)]
        assert one_by_one.astype("int64").tolist() == at_once.astype("int64").tolist()
    shanghai = parse_texts(["2026-03-03T0800"], "%Y-%m-%dT%H%M", "Asia/Shanghai")
    assert shanghai[0] == np.datetime64("2026-03-03T00:00")
