"""The ingest pipeline: accounting, idempotency, corrected files, batching, reference stations."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from fixture_feed import FEED, PROJECT, hour_rows, make_config, write_feed_file

from ingest.base import AccountingError
from ingest.pipeline import FeedCounts, run_ingest, validate_readings
from monitor.schema import reading_table
from monitor.store import Store

DAY1 = [f"2026-03-03T{h:02d}:00Z" for h in range(0, 6)]
DAY2 = [f"2026-03-04T{h:02d}:00Z" for h in range(0, 6)]
BAD_LINES = [
    "A,北京市,2026-03-03T99:00Z,pm25,5",   # line after the hours: bad timestamp
    "B,天津市,2026-03-03T01:00Z,benzene,3",  # unknown parameter
    "A,北京市,2026-03-03T00:00Z,pm25,77",   # repeats an earlier key: duplicate
]


def _counts(summary_feed: FeedCounts) -> tuple[int, int, int, int, int]:
    c = summary_feed
    return c.rows_read, c.stored, c.quarantined, c.duplicates, c.readings


def test_counts_add_up_and_refused_rows_are_quarantined_with_reasons(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    good = hour_rows(DAY1)
    path = write_feed_file(tmp_path, "day1.csv", [*good, *BAD_LINES])
    store = Store(tmp_path / "var")
    summary = run_ingest(config, store)
    counts = summary.feeds[FEED]
    assert _counts(counts) == (len(good) + 3, len(good), 2, 1, len(good))
    assert summary.to_dict()["total"] == summary.to_dict()["feeds"][FEED]
    refused = store.quarantine()
    first_bad_line = len(good) + 2  # header is line 1
    assert refused[["source_file", "source_row", "field", "reason", "raw"]].values.tolist() == [
        [str(path), first_bad_line, "time", "bad_timestamp", "2026-03-03T99:00Z"],
        [str(path), first_bad_line + 1, "parameter", "unknown_parameter", "benzene"],
    ]
    # the duplicate did not overwrite the first value
    a = store.readings(stations="fx:A", parameters="pm25", start=DAY1[0], end=DAY1[0])
    assert a["value"].tolist() == [10.0]


def test_reingest_gives_zero_new_readings(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    write_feed_file(tmp_path, "day1.csv", hour_rows(DAY1))
    write_feed_file(tmp_path, "day2.csv", hour_rows(DAY2))
    store = Store(tmp_path / "var")
    run_ingest(config, store)
    before = store.readings(flags=None)
    again = run_ingest(config, store).feeds[FEED]
    assert (again.files, again.files_skipped, again.readings, again.rows_read) == (0, 2, 0, 0)
    pd.testing.assert_frame_equal(store.readings(flags=None), before)
    assert len(store.ledger()) == 2
    # the same content under another path is also known
    shutil.copy(tmp_path / "feed" / "day1.csv", tmp_path / "feed" / "day1-copy.csv")
    assert run_ingest(config, store).feeds[FEED].files_skipped == 3


def test_corrected_file_supersedes_values_without_duplicates(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    write_feed_file(tmp_path, "day1.csv", [*hour_rows(DAY1), *BAD_LINES])
    write_feed_file(tmp_path, "day2.csv", hour_rows(DAY2))
    store = Store(tmp_path / "var")
    run_ingest(config, store)
    before = store.readings(flags=None)
    assert len(store.quarantine()) == 2

    # the publisher corrects day 1: new values, the bad rows fixed (dropped)
    write_feed_file(tmp_path, "day1.csv", hour_rows(DAY1, offset=100.0))
    corrected = run_ingest(config, store).feeds[FEED]
    assert (corrected.files, corrected.files_skipped) == (1, 1)
    after = store.readings(flags=None)
    assert len(after) == len(before)
    assert not after.duplicated(["station_id", "time", "period", "parameter", "source"]).any()
    day1 = after[after["time"] < pd.Timestamp("2026-03-04", tz="UTC")]
    day2 = after[after["time"] >= pd.Timestamp("2026-03-04", tz="UTC")]
    old_day2 = before[before["time"] >= pd.Timestamp("2026-03-04", tz="UTC")]
    assert (day1["value"] >= 100.0).all()
    pd.testing.assert_frame_equal(day2.reset_index(drop=True), old_day2.reset_index(drop=True))
    assert store.quarantine().empty  # the corrected file's quarantine replaced the old one
    ledger = store.ledger()
    assert ledger["path"].value_counts()[str(tmp_path / "feed" / "day1.csv")] == 2


def test_small_batches_give_the_same_store_as_one_batch(tmp_path: Path) -> None:
    stores = []
    for name, batch in (("one", 1_000_000), ("many", 1)):
        root = tmp_path / name
        config = make_config(root)
        for i, day in enumerate((DAY1, DAY2)):
            write_feed_file(root, f"day{i}.csv", hour_rows(day))
        # a later file re-reports a key of an earlier one: the later file wins in both cases
        write_feed_file(root, "day9.csv", ["A,北京市,2026-03-03T00:00Z,pm25,555"])
        store = Store(root / "var")
        run_ingest(config, store, batch_readings=batch)
        stores.append(store.readings(flags=None).drop(columns="source_file"))
    pd.testing.assert_frame_equal(stores[0], stores[1])
    one = stores[0]
    overwritten = one[(one["station_id"] == "fx:A") & (one["parameter"] == "pm25")]
    assert overwritten["value"].iloc[0] == 555.0


def test_unknown_feed_and_miscounting_adapter_are_refused(tmp_path: Path) -> None:
    config = make_config(tmp_path, adapter="tests.miscounting_adapter")
    good = write_feed_file(tmp_path, "day1.csv", hour_rows(DAY1))
    bad = write_feed_file(tmp_path, "day2-miscount.csv", hour_rows(DAY2))
    store = Store(tmp_path / "var")
    with pytest.raises(ValueError, match=r"unknown feed.*nope.*configured: fixture"):
        run_ingest(config, store, ["nope"])
    with pytest.raises(AccountingError, match=re.escape(f"{bad}: 73 records read but 72 stored")):
        run_ingest(config, store)
    # the good file read before the failure is committed; nothing of the bad one
    assert store.ledger()["path"].tolist() == [str(good)]
    assert set(store.readings(flags=None)["source_file"]) == {str(good)}
    with pytest.raises(AccountingError, match="feed x: 3 records read but 1 stored"):
        FeedCounts(rows_read=3, stored=1, quarantined=1).check("feed x")


def test_bad_readings_from_an_adapter_are_named_by_file_row_and_field(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    feed = config.feeds[FEED]
    frame = pd.DataFrame({
        "station_id": ["fx:A", "fx:A"], "time": pd.to_datetime(["2026-03-03", "2026-03-03"],
                                                                utc=True),
        "period": ["1h", "1h"], "parameter": ["pm25", "pm2.5"], "value": [1.0, 2.0],
        "unit": ["ug/m3"] * 2, "flag": ["valid"] * 2, "flag_reason": [None, None],
        "source": [FEED] * 2, "source_file": ["x.csv"] * 2, "source_row": [7, 8]})
    with pytest.raises(ValueError, match=r"x\.csv: row 8: field 'parameter' is not a canonical"):
        validate_readings(reading_table(frame), feed, Path("x.csv"))
    with pytest.raises(ValueError, match=r"row 7: field 'station_id' is missing"):
        validate_readings(reading_table(frame.assign(station_id=[None, "fx:A"])), feed,
                          Path("x.csv"))


def test_reference_station_list_is_loaded_before_the_adapters_run(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    reference = (PROJECT / "config" / "stations_cn.csv").read_text(encoding="utf-8")
    (config.config_dir / "stations_cn.csv").write_text(reference, encoding="utf-8")
    store = Store(tmp_path / "var")
    run_ingest(config, store)
    stations = store.stations().set_index("station_id")
    assert len(stations) == len(reference.strip().splitlines()) - 1
    assert stations.loc["cn:1001A", ["name", "region", "medium"]].tolist() == [
        "万寿西宫", "beijing", "air"]
    (config.config_dir / "stations_cn.csv").write_text("station_id,name\ncn:1,x\n")
    with pytest.raises(ValueError, match=r"stations_cn\.csv: columns .* include station_id "
                                         r"and medium"):
        run_ingest(config, store)


def test_every_reading_station_is_listed_with_the_feed_region_as_fallback(
        tmp_path: Path) -> None:
    config = make_config(tmp_path, region="hebei")
    write_feed_file(tmp_path, "day1.csv", [
        *hour_rows(DAY1[:1], stations=["A", "D"]),
        "E,,2026-03-03T00:00Z,pm25,5",  # the adapter reports no station row for E
    ])
    store = Store(tmp_path / "var")
    run_ingest(config, store)
    stations = store.stations().set_index("station_id")
    assert stations.loc["fx:E", ["medium", "source", "region"]].tolist() == [
        "air", FEED, "hebei"]
    assert stations.loc["fx:A", "region"] == "beijing"  # from its city
    assert stations.loc["fx:D", "region"] == "hebei"  # city in no region: the feed's
