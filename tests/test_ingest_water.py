"""The CNEMC surface-water adapter on the bundled excerpt and the full snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import SAMPLES
from hypothesis import given
from hypothesis import strategies as st

from ingest.base import FileResult, IngestContext
from ingest.cnemc_surface_water import file_date, header_unit, parse_cells, read
from ingest.pipeline import run_ingest
from ingest.water_sections import WaterSectionsError, load_water_sections
from monitor.config import AppConfig, Feed
from monitor.store import Store

EXCERPT = SAMPLES / "water" / "cnemc_realtime_snapshot_20260821_excerpt.json"
SNAPSHOT = "cnemc_surface_water/cnemc_realtime_snapshot_20260821_p1.json"
GULOU = "cnw:北京市:鼓楼外大街"


@pytest.fixture
def feed(config: AppConfig) -> Feed:
    return config.feeds["cnemc_surface_water"]


def _read(path: Path, feed: Feed, config: AppConfig) -> FileResult:
    return read(path, feed, IngestContext(config)).check()


def _value(result: FileResult, station: str, param: str) -> pd.Series:
    r = result.readings
    row = r[(r["station_id"] == station) & (r["parameter"] == param)]
    assert len(row) == 1, f"{station} {param}: {len(row)} readings"
    return row.iloc[0]


def _page(tmp_path: Path, name: str, rows: list[list[str]],
          thead: list[str] | None = None) -> Path:
    page = json.loads(EXCERPT.read_text(encoding="utf-8"))
    page["tbody"] = rows
    if thead is not None:
        page["thead"] = thead
    path = tmp_path / name
    path.write_text(json.dumps(page, ensure_ascii=False), encoding="utf-8")
    return path


def _rows() -> list[list[str]]:
    return json.loads(EXCERPT.read_text(encoding="utf-8"))["tbody"]


def test_raw_value_from_title_wins_over_display(feed: Feed, config: AppConfig) -> None:
    result = _read(EXCERPT, feed, config)
    # <span title='原始值：26.58'>26.6</span>: the title's raw value, not the rounded text
    assert _value(result, GULOU, "wtemp")["value"] == 26.58
    assert _value(result, GULOU, "conductivity")["value"] == 487.06
    assert _value(result, GULOU, "tn")["value"] == 5.751
    do = _value(result, GULOU, "do")
    assert (do["value"], do["unit"], do["flag"]) == (6.76, "mg/L", "valid")
    assert _value(result, GULOU, "ph")["value"] == 7.6
    assert _value(result, GULOU, "chla")["flag_reason"] == "missing"


def test_time_is_beijing_time_in_utc_with_year_from_file_name(feed: Feed,
                                                             config: AppConfig) -> None:
    do = _value(_read(EXCERPT, feed, config), GULOU, "do")
    assert do["time"] == pd.Timestamp("2026-08-21 12:00", tz="UTC")  # 20:00 Beijing
    assert do["period"] == "4h"
    assert do["source_row"] == 1


def test_published_class_is_a_reference_reading(feed: Feed, config: AppConfig) -> None:
    result = _read(EXCERPT, feed, config)
    assert _value(result, GULOU, "water_class")["value"] == 2
    # 安固桥 publishes class -1 (not assessed) and no values: kept as missing, not dropped
    unassessed = _value(result, "cnw:山西省:安固桥", "water_class")
    assert pd.isna(unassessed["value"]) and unassessed["flag_reason"] == "missing"


def test_qc_tooltip_becomes_flag_reason(feed: Feed, config: AppConfig) -> None:
    codmn = _value(_read(EXCERPT, feed, config), "cnw:北京市:密云水库", "codmn")
    assert pd.isna(codmn["value"])
    assert codmn["flag"] == "invalid"
    assert codmn["flag_reason"] == "source_qc_failed:当天质控不合格"


def test_sections_with_region_basin_and_reference(feed: Feed, config: AppConfig) -> None:
    stations = _read(EXCERPT, feed, config).stations.set_index("station_id")
    gulou = stations.loc[GULOU]
    assert (gulou["name"], gulou["region"], gulou["basin"], gulou["medium"]) == (
        "鼓楼外大街", "beijing", "海河流域", "water")
    lihe = stations.loc["cnw:天津市:黎河桥"]
    assert (lihe["upstream_region"], lihe["downstream_region"]) == ("hebei", "tianjin")
    assert (lihe["water_body"], lihe["target_class"]) == ("river", 3)
    # provinces that are not configured regions keep their published name
    assert stations.loc["cnw:山西省:安固桥", "region"] == "山西省"


def test_units_come_from_the_header_span(feed: Feed, config: AppConfig,
                                         tmp_path: Path) -> None:
    page = json.loads(EXCERPT.read_text(encoding="utf-8"))
    thead = [h.replace("总磷<br/><span class='unit'>(mg/L)</span>",
                       "总磷<br/><span class='unit'>(μg/L)</span>") for h in page["thead"]]
    assert thead != page["thead"]
    result = _read(_page(tmp_path, "p_20260821.json", _rows()[:1], thead), feed, config)
    tp = _value(result, GULOU, "tp")
    assert (tp["value"], tp["unit"]) == (pytest.approx(0.035e-3), "mg/L")
    assert header_unit("溶解氧<br/><span class='unit'>(mg/L)</span>") == "mg/L"


def test_parse_cells() -> None:
    text, remark = parse_cells(pd.Series([
        "<span title='原始值：7.6'>7.60</span>", "--", "8.1",
        "<span data-toggle='tooltip' title='当天质控不合格'>--</span>",
        "<span title='原始值：1.008037E+07'>10080370</span>"]))
    assert list(text) == ["7.6", "--", "8.1", "--", "1.008037E+07"]
    assert list(remark) == [None, None, None, "当天质控不合格", None]


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_title_value_survives_any_display_rounding(raw: float) -> None:
    text, remark = parse_cells(pd.Series([f"<span title='原始值：{raw!r}'>{raw:.1f}</span>"]))
    assert float(text.iloc[0]) == raw and remark.iloc[0] is None


def test_year_from_file_name_wins_then_option(feed: Feed, config: AppConfig,
                                             tmp_path: Path) -> None:
    row = _rows()[0]
    assert feed.options["year"] == 2026
    # a file dated 2025 is read as 2025 although the option says 2026
    dated = _read(_page(tmp_path, "snap_20250821.json", [row]), feed, config)
    assert dated.readings["time"].iloc[0] == pd.Timestamp("2025-08-21 12:00", tz="UTC")
    # across a new year: a snapshot of 2027-01-01 still showing 12-31 20:00
    late = [[*row[:3], "12-31 20:00", *row[4:]]]
    rolled = _read(_page(tmp_path, "snap_20270101.json", late), feed, config)
    assert rolled.readings["time"].iloc[0] == pd.Timestamp("2026-12-31 12:00", tz="UTC")
    # no date in the name: the option's year
    undated = _read(_page(tmp_path, "snapshot.json", [row]), feed, config)
    assert undated.readings["time"].iloc[0] == pd.Timestamp("2026-08-21 12:00", tz="UTC")
    # neither: every row quarantined as a bad timestamp, nothing else lost
    bare = feed.model_copy(update={"options": {}})
    refused = read(_page(tmp_path, "snapshot.json", [row]), bare, IngestContext(config))
    assert refused.check().readings.empty
    assert refused.quarantine["reason"].str.startswith("bad timestamp").all()
    assert file_date(Path("x_20260821_p1.json")) == pd.Timestamp("2026-08-21").date()


def test_bad_rows_quarantined_good_rows_kept(feed: Feed, config: AppConfig,
                                            tmp_path: Path) -> None:
    rows = _rows()[:4]
    bad_time = [*rows[1][:3], "yesterday", *rows[1][4:]]
    short = rows[2][:10]
    path = _page(tmp_path, "p_20260821.json", [rows[0], bad_time, short, rows[3], rows[0]])
    result = _read(path, feed, config)
    assert (result.records, result.stored_records, result.duplicates) == (5, 2, 1)
    q = result.quarantine.set_index("source_row")
    assert q.loc[2, "field"] == "监测时间" and q.loc[2, "reason"].startswith("bad timestamp")
    assert q.loc[3, "reason"].startswith("wrong field count")
    assert "yesterday" in q.loc[2, "raw"]


@pytest.mark.parametrize("content, expected", [
    ("{not json", "not valid JSON"),
    ('{"rows": []}', "expected a JSON object with lists 'thead' and 'tbody'"),
])
def test_unreadable_file_is_one_quarantine_record(feed: Feed, config: AppConfig,
                                                  tmp_path: Path, content: str,
                                                  expected: str) -> None:
    path = tmp_path / "bad_20260821.json"
    path.write_text(content, encoding="utf-8")
    result = _read(path, feed, config)
    assert result.records == 1 and len(result.quarantine) == 1
    assert expected in result.quarantine["reason"].iloc[0]
    assert result.quarantine["source_row"].iloc[0] == 0


def test_declared_encoding_is_checked_both_ways(feed: Feed, config: AppConfig,
                                               tmp_path: Path) -> None:
    text = EXCERPT.read_text(encoding="utf-8")
    gbk = tmp_path / "gbk_20260821.json"
    gbk.write_bytes(text.encode("gbk"))
    refused = _read(gbk, feed, config)  # GBK bytes, feed declares UTF-8
    assert refused.readings.empty
    assert refused.quarantine["reason"].iloc[0].startswith(f"{gbk}: undecodable bytes")
    declared_gbk = feed.model_copy(update={"encoding": "gbk"})
    ok = read(gbk, declared_gbk, IngestContext(config)).check()
    assert _value(ok, GULOU, "do")["value"] == 6.76
    utf8 = tmp_path / "utf8_20260821.json"
    utf8.write_text(text, encoding="utf-8")
    wrong = read(utf8, declared_gbk, IngestContext(config)).check()  # UTF-8, declared GBK
    assert wrong.readings.empty and "undecodable bytes" in wrong.quarantine["reason"].iloc[0]


def test_unknown_header_refused_naming_the_column(feed: Feed, config: AppConfig,
                                                 tmp_path: Path) -> None:
    thead = json.loads(EXCERPT.read_text(encoding="utf-8"))["thead"]
    thead = [h if not h.startswith("浊度") else "透明度<br/><span class='unit'>(cm)</span>"
             for h in thead]
    result = _read(_page(tmp_path, "p_20260821.json", _rows()[:2], thead), feed, config)
    assert result.readings.empty
    assert "unknown columns ['透明度']" in result.quarantine["reason"].iloc[0]


def test_water_sections_reference_is_validated(config: AppConfig, tmp_path: Path) -> None:
    sections = load_water_sections(config.config_dir / "water_sections.csv", config)
    assert set(sections["target_class"].dropna()) <= {1, 2, 3, 4, 5}
    bad = tmp_path / "water_sections.csv"
    text = (config.config_dir / "water_sections.csv").read_text(encoding="utf-8")
    bad.write_text(text.replace("黎河,river,3,", "黎河,river,7,"), encoding="utf-8")
    with pytest.raises(WaterSectionsError, match=r"line 2: field 'target_class'"):
        load_water_sections(bad, config)


@pytest.mark.shared
def test_full_snapshot(shared_data: Path, feed: Feed, config: AppConfig) -> None:
    result = _read(shared_data / SNAPSHOT, feed, config)
    assert (result.records, result.stored_records) == (480, 480)
    assert len(result.readings) == 480 * 12
    reasons = result.readings["flag_reason"].str.split(":").str[0].value_counts()
    assert reasons["source_qc_failed"] == 49  # every QC tooltip of the snapshot
    assert result.stations["station_id"].is_unique and len(result.stations) == 480
    configured = result.stations.dropna(subset=["water_body"])
    assert len(configured) == len(load_water_sections(
        config.config_dir / "water_sections.csv", config))


def test_known_values_reach_the_store(config: AppConfig, tmp_path: Path) -> None:
    store = Store(tmp_path / "var")
    counts = run_ingest(config, store, ["cnemc_surface_water"]).feeds["cnemc_surface_water"]
    assert counts.rows_read == counts.stored + counts.quarantined + counts.duplicates
    do = store.readings(stations=GULOU, parameters="do", flags=None)
    assert do[["time", "value", "unit"]].values.tolist() == [
        [pd.Timestamp("2026-08-21 12:00", tz="UTC"), 6.76, "mg/L"]]
    section = store.stations(GULOU).iloc[0]
    assert (section["region"], section["medium"], section["basin"]) == (
        "beijing", "water", "海河流域")
    assert run_ingest(config, store, ["cnemc_surface_water"]).feeds[
        "cnemc_surface_water"].readings == 0  # re-ingest: nothing new
