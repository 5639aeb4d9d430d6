"""Bad input: a clear reason naming file, line and field, and nothing valid lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_support import SAMPLES, context, feed_with, reading

from ingest import cnemc_hourly_air, tabular
from ingest.base import FileResult
from ingest.quotsoft_china_sites import OPTIONS as QUOTSOFT_OPTIONS
from monitor.config import AppConfig, Feed

SAMPLE = SAMPLES / "cnemc_hourly_air" / "2026-03-03" / "2026-03-03T08.csv"
LINES = SAMPLE.read_bytes().splitlines(keepends=True)
DATA_ROWS = len(LINES) - 1
AT = "2026-03-03T00:00Z"


@pytest.fixture
def feed(config: AppConfig) -> Feed:
    return config.feeds["cnemc_hourly_air"]


def _read(path: Path, feed: Feed, config: AppConfig) -> FileResult:
    return cnemc_hourly_air.read(path, feed, context(config)).check()


def _write(tmp_path: Path, lines: list[bytes], name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    return path


def _code(line: bytes) -> str:
    return "cn:" + line.decode("utf-8").split(",")[1]


def test_truncated_last_line(tmp_path: Path, feed: Feed, config: AppConfig) -> None:
    cut = LINES[-1][:40]  # the file ends in the middle of its last row, no line end
    result = _read(_write(tmp_path, [*LINES[:-1], cut]), feed, config)
    [bad] = result.quarantine.itertuples()
    assert bad.source_row == len(LINES)
    assert bad.reason.startswith("truncated last line: 5 of 22 fields and no line end")
    assert bad.raw == cut.decode("utf-8", errors="backslashreplace")
    assert result.stored_records == DATA_ROWS - 1
    assert reading(result, "cn:1001A", AT, "pm25")["value"] == 131


def test_gbk_file_declared_utf8(tmp_path: Path, feed: Feed, config: AppConfig) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    path = tmp_path / "gbk.csv"
    path.write_bytes(text.encode("gbk"))
    result = _read(path, feed, config)
    # every data line names a Chinese city: each is refused, with the encoding named
    assert result.stored_records == 0 and len(result.quarantine) == DATA_ROWS
    reason = result.quarantine["reason"].iloc[0]
    assert "not valid utf-8" in reason and "GBK" in reason
    assert result.quarantine["source_row"].tolist() == list(range(2, DATA_ROWS + 2))
    raw = result.quarantine.loc[result.quarantine["source_row"] == 11, "raw"].iloc[0]
    assert raw.startswith("2026-03-03T0800,1001A,") and "\\x" in raw  # bytes kept, escaped


def test_mixed_encodings_keep_every_good_line(tmp_path: Path, feed: Feed,
                                              config: AppConfig) -> None:
    # one line re-encoded to GBK inside a UTF-8 file: only that line is refused
    bad = LINES[5].decode("utf-8").encode("gbk")
    result = _read(_write(tmp_path, [*LINES[:5], bad, *LINES[6:]]), feed, config)
    assert result.quarantine["source_row"].tolist() == [6]
    assert result.stored_records == DATA_ROWS - 1


def test_utf8_file_declared_gbk(tmp_path: Path, feed: Feed, config: AppConfig) -> None:
    path = _write(tmp_path, LINES)
    result = _read(path, feed_with(feed.model_copy(update={"encoding": "gbk"})), config)
    assert result.stored_records == 0 and len(result.quarantine) == DATA_ROWS
    assert set(result.quarantine["reason"]) == {
        "undecodable bytes: the line is UTF-8 text, not gbk as the feed declares "
        "(check the feed's encoding setting)"}


def test_repeated_header_line(tmp_path: Path, feed: Feed, config: AppConfig) -> None:
    result = _read(_write(tmp_path, [*LINES[:20], LINES[0], *LINES[20:]]), feed, config)
    [bad] = result.quarantine.itertuples()
    assert (bad.source_row, bad.reason) == (21, "repeated header line inside the file")
    assert result.stored_records == DATA_ROWS


def test_wrong_field_count(tmp_path: Path, feed: Feed, config: AppConfig) -> None:
    short = LINES[3].replace(b",NA,", b",", 1) if b",NA," in LINES[3] else LINES[3][:-8] + b"\n"
    extra = LINES[4].rstrip(b"\r\n") + b",999\n"
    result = _read(_write(tmp_path, [*LINES[:3], short, extra, *LINES[5:]]), feed, config)
    reasons = dict(zip(result.quarantine["source_row"], result.quarantine["reason"],
                       strict=True))
    assert set(reasons) == {4, 5}
    assert reasons[5] == "wrong field count: 23 fields, header has 22"
    assert reasons[4].startswith("wrong field count: 21 fields")
    assert result.stored_records == DATA_ROWS - 2
    assert _code(LINES[6]) in set(result.readings["station_id"].astype(str))


def test_unknown_station(tmp_path: Path, config: AppConfig) -> None:
    path = tmp_path / "fixed.csv"
    path.write_text("stationcode,timepoint,pm2_5\n1001A,2026-03-03T0800,131\n"
                    "9999Z,2026-03-03T0800,50\n", encoding="utf-8")
    feed = Feed(id="strict", adapter="tabular", paths=[], options={
        "station_column": "stationcode", "station_prefix": "cn:",
        "require_known_station": True,
        "time": {"column": "timepoint", "format": "%Y-%m-%dT%H%M"}})
    result = tabular.read(path, feed, context(config)).check()
    [bad] = result.quarantine.itertuples()
    assert (bad.source_row, bad.field) == (3, "stationcode")
    assert bad.reason == "unknown station '9999Z': not in the station table"
    assert bad.raw == "9999Z,2026-03-03T0800,50"
    assert reading(result, "cn:1001A", AT, "pm25")["value"] == 131


def test_bad_timestamp_and_unparseable_value(tmp_path: Path, feed: Feed,
                                             config: AppConfig) -> None:
    when = LINES[7].replace(b"2026-03-03T0800", b"2026-03-33T0800")
    text = LINES[8].decode("utf-8").split(",")
    text[10] = "12a"  # pm2_5
    result = _read(_write(tmp_path, [*LINES[:7], when, ",".join(text).encode(), *LINES[9:]]),
                   feed, config)
    [bad] = result.quarantine.itertuples()
    assert (bad.source_row, bad.field) == (8, "timepoint")
    assert bad.reason.startswith("bad timestamp '2026-03-33T0800' (expected %Y-%m-%dT%H%M")
    value = reading(result, "cn:" + text[1], AT, "pm25")
    assert value["flag"] == "invalid" and value["flag_reason"] == "unparseable:12a"
    assert reading(result, "cn:" + text[1], AT, "pm10")["flag"] != "invalid"


def test_duplicate_rows(tmp_path: Path, feed: Feed, config: AppConfig) -> None:
    changed = LINES[2].decode("utf-8").split(",")
    changed[10] = "999"
    lines = [*LINES, LINES[1], ",".join(changed).encode()]
    result = _read(_write(tmp_path, lines), feed, config)
    assert result.duplicates == 1
    [bad] = result.quarantine.itertuples()
    assert bad.source_row == len(LINES) + 2
    assert bad.reason.startswith("conflicting duplicate of line 3")
    assert result.stored_records == DATA_ROWS


def test_unknown_layout_refused_with_missing_columns(tmp_path: Path, feed: Feed,
                                                     config: AppConfig) -> None:
    path = _write(tmp_path, [b"site,city,AQI,PM2.5,time\n", "西湖,杭州市,50,30,x\n".encode()])
    result = _read(path, feed, config)
    assert result.records == 1 and result.readings.empty
    [bad] = result.quarantine.itertuples()
    assert bad.source_row == 0
    assert "unknown layout: required columns missing: timepoint, stationcode" in bad.reason


@pytest.mark.parametrize("content", [b"", b"\n", LINES[0]])
def test_empty_file(tmp_path: Path, feed: Feed, config: AppConfig, content: bytes) -> None:
    result = _read(_write(tmp_path, [content]), feed, config)
    assert result.records == 0 and result.readings.empty and result.quarantine.empty
    assert result.notes and ("empty file" in result.notes[0] or "header only" in result.notes[0])


def test_wide_file_unknown_parameter_and_station_cells(tmp_path: Path,
                                                       config: AppConfig) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("date,hour,type,1001A,9999A\n"
                    "20170101,0,PM2.5,417,50\n"
                    "20170101,0,Benzene,3,4\n"
                    "2017-01-01,1,PM2.5,400,40\n", encoding="utf-8")
    feed = Feed(id="wide", adapter="quotsoft_china_sites", paths=[],
                options={"require_known_station": True})
    result = tabular.read_tabular(path, feed, context(config),
                                  dict(QUOTSOFT_OPTIONS)).result.check()
    assert result.records == 3 * 2  # every (row, station) cell is a record
    reasons = result.quarantine.groupby("source_row")["reason"].apply(list).to_dict()
    assert reasons[3] == ["unknown parameter 'Benzene'"] * 2
    assert reasons[4] == ["bad timestamp '2017-01-01 1' (expected %Y%m%d, local time "
                          "Asia/Shanghai)"] * 2
    assert reasons[2] == ["unknown station 'cn:9999A': not in the station table"]
    unknown = result.quarantine[result.quarantine["source_row"] == 2].iloc[0]
    assert (unknown["field"], unknown["raw"]) == ("9999A", "50")
    assert reading(result, "cn:1001A", "2016-12-31T16:00Z", "pm25")["value"] == 417



@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=len(b"".join(LINES))),
       junk=st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")),
       where=st.integers(min_value=1, max_value=len(LINES) - 1))
def test_any_corruption_is_accounted_for_and_never_raises(
        tmp_path: Path, feed: Feed, config: AppConfig, cut: int, junk: bytes,
        where: int) -> None:
    # insert a junk line, then cut the file anywhere: reading never raises, the counts add
    # up, and every untouched complete line before the cut is stored
    lines = [*LINES[:where], junk + b"\n", *LINES[where:]]
    data = b"".join(lines)[:cut]
    result = cnemc_hourly_air.read(_write(tmp_path, [data], "fuzz.csv"), feed,
                                   context(config)).check()
    stored = set(result.readings["source_row"].unique())
    complete = data.count(b"\n")
    if not data.startswith(LINES[0]):
        return  # header cut: the file is empty or refused as a whole (one record)
    for number in range(2, complete + 1):  # complete lines after the header
        if number != where + 1:  # the junk line
            assert number in stored, number
