"""The store's read API, its on-disk layout and its filesystem independence."""

from __future__ import annotations

import uuid
from pathlib import Path

import dask.dataframe as dd
import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from fixture_feed import CITIES, FEED, hour_rows, make_config, write_feed_file

from ingest.pipeline import run_ingest
from monitor.config import AppConfig
from monitor.ledger import LEDGER_COLUMNS
from monitor.schema import (
    QUARANTINE_COLUMNS,
    READING_COLUMNS,
    READING_SCHEMA,
    READING_TABLE_SCHEMA,
    reading_table,
)
from monitor.store import Store

#: Four UTC hours crossing a day and a month boundary.
HOURS = ["2026-03-31T22:00Z", "2026-03-31T23:00Z", "2026-04-01T00:00Z", "2026-04-01T01:00Z"]
#: One extra row: station C's PM2.5 at 2026-04-01T02:00Z without a value (stored invalid).
MISSING_ROW = "C,石家庄市,2026-04-01T02:00Z,pm25,"


def _ingest(root: Path, readings_root: str | None = None) -> tuple[Store, AppConfig]:
    config = make_config(root)
    write_feed_file(root, "hours.csv", [*hour_rows(HOURS), MISSING_ROW])
    store = Store(root / "var", readings_root=readings_root)
    run_ingest(config, store)
    return store, config


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return _ingest(tmp_path)[0]


def test_readings_are_canonical_and_exclude_invalid_by_default(store: Store) -> None:
    valid = store.readings()
    assert list(valid.columns) == READING_COLUMNS
    assert len(valid) == len(CITIES) * 3 * len(HOURS)
    assert str(valid["time"].dtype) == "datetime64[s, UTC]"
    everything = store.readings(flags=None)
    assert len(everything) == len(valid) + 1
    missing = everything[everything["flag"] == "invalid"].iloc[0]
    assert (missing["station_id"], missing["time"], missing["flag_reason"]) == (
        "fx:C", pd.Timestamp("2026-04-01T02:00Z"), "missing")
    assert np.isnan(missing["value"])


def test_read_filters_select_exactly_what_they_say(store: Store) -> None:
    pm25 = store.readings(parameters="pm25")
    assert set(pm25["parameter"]) == {"pm25"} and len(pm25) == len(CITIES) * len(HOURS)
    two = store.readings(stations=["fx:A", "fx:D"])
    assert set(two["station_id"]) == {"fx:A", "fx:D"}
    hebei = store.readings(regions="hebei")
    assert set(hebei["station_id"]) == {"fx:C"}
    assert store.readings(regions=["beijing", "tianjin"], stations=["fx:B", "fx:C"])[
        "station_id"].unique().tolist() == ["fx:B"]
    window = store.readings(start="2026-03-31T23:00Z", end=pd.Timestamp("2026-04-01T00:00Z"))
    assert sorted(window["time"].unique()) == [pd.Timestamp(HOURS[1]), pd.Timestamp(HOURS[2])]
    naive_start = store.readings(start="2026-04-01 01:00")  # naive = UTC
    assert set(naive_start["time"]) == {pd.Timestamp(HOURS[3])}
    assert store.readings(periods="24h").empty
    assert store.readings(sources=["another_feed"]).empty
    assert len(store.readings(sources=FEED)) == len(store.readings())
    assert store.readings(flags=["invalid"])["station_id"].tolist() == ["fx:C"]


def test_dataset_is_station_by_time_with_station_coords(store: Store) -> None:
    data = store.dataset()
    assert dict(data.sizes) == {"station": len(CITIES), "time": len(HOURS)}
    assert sorted(data.data_vars) == ["co", "pm10", "pm25"]
    assert data["co"].attrs["units"] == "mg/m3" and data["pm25"].attrs["units"] == "ug/m3"
    assert data["region"].sel(station="fx:B").item() == "tianjin"
    assert data["city"].sel(station="fx:D").item() == CITIES["D"]
    for coord in ("name", "city", "region", "lon", "lat"):
        assert data[coord].dims == ("station",)
    # hour index 2 of hour_rows: base value + 2
    assert data["pm10"].sel(station="fx:A", time=np.datetime64("2026-04-01T00:00")).item() == 22.0
    # the invalid reading is excluded by default; with all flags its hour appears, as NaN
    assert np.datetime64("2026-04-01T02:00") not in data["time"].values
    with_invalid = store.dataset(flags=None)
    assert with_invalid.sizes["time"] == len(HOURS) + 1
    assert np.isnan(with_invalid["pm25"].sel(time=np.datetime64("2026-04-01T02:00"))).all()
    only_hebei = store.dataset(regions="hebei", parameters="pm25", flags=None)
    assert only_hebei["station"].values.tolist() == ["fx:C"]
    assert list(only_hebei.data_vars) == ["pm25"]
    assert store.dataset(sources="nothing").sizes["station"] == 0


def test_files_follow_the_canonical_schema_and_are_readable_by_pyarrow_and_dask(
        store: Store) -> None:
    root = store.data_dir / "readings"
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    assert files == [f"feed={FEED}/month=2026-03/part-2026-03-31.parquet",
                     f"feed={FEED}/month=2026-04/part-2026-04-01.parquet"]
    assert store.partitions.layout(FEED) == "day"
    schema = pq.read_schema(root / files[0])
    assert schema.names == READING_TABLE_SCHEMA.names
    for name in READING_TABLE_SCHEMA.names:
        if name != "time":  # Parquet has no second resolution: stored as ms, same instant
            assert schema.field(name).type == READING_TABLE_SCHEMA.field(name).type
    # read as the canonical schema: the dictionary encoding is a storage detail
    assert store.partitions.open_dataset().to_table().schema.field("station_id").type == (
        READING_SCHEMA.field("station_id").type)
    total = len(store.readings(flags=None))
    assert ds.dataset(root, partitioning="hive").count_rows() == total
    frame = dd.read_parquet(str(root)).compute()
    assert len(frame) == total and set(frame["feed"].astype(str)) == {FEED}


def test_a_long_first_batch_gets_month_files_for_good(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    long_span = ["2025-01-01T00:00Z", "2025-02-15T12:00Z", "2025-04-30T23:00Z"]
    write_feed_file(tmp_path, "archive.csv", hour_rows(long_span))
    store = Store(tmp_path / "var")
    run_ingest(config, store)
    assert store.partitions.layout(FEED) == "month"
    # a later short file of the same feed still goes into the month files
    write_feed_file(tmp_path, "update.csv", hour_rows(["2025-02-15T12:00Z", "2025-02-16T00:00Z"],
                                                      offset=50.0))
    run_ingest(config, store)
    root = store.data_dir / "readings" / f"feed={FEED}"
    assert sorted(p.name for p in root.rglob("*.parquet")) == [
        "part-2025-01.parquet", "part-2025-02.parquet", "part-2025-04.parquet"]
    readings = store.readings()
    assert len(readings) == len(CITIES) * 3 * 4  # 3 + 1 new hour; 2025-02-15T12 superseded
    feb15 = readings[readings["time"] == pd.Timestamp("2025-02-15T12:00Z")]
    assert (feb15["value"] >= 50.0).all()


@pytest.mark.parametrize("scheme", ["memory", "file"])
def test_fsspec_url_root_holds_the_same_readings(tmp_path: Path, scheme: str) -> None:
    url = (f"memory://jointwatch-{uuid.uuid4().hex}/readings" if scheme == "memory"
           else (tmp_path / "elsewhere" / "readings").as_uri())
    on_disk = _ingest(tmp_path / "disk")[0]
    at_url = _ingest(tmp_path / "url", readings_root=url)[0]
    pd.testing.assert_frame_equal(at_url.readings(flags=None).drop(columns="source_file"),
                                  on_disk.readings(flags=None).drop(columns="source_file"))
    assert not (tmp_path / "url" / "var" / "readings").exists()
    fs, path = fsspec.core.url_to_fs(url)
    assert len(fs.glob(f"{path}/feed={FEED}/month=*/part-*.parquet")) == 2


def test_upsert_supersedes_per_key_and_keeps_other_readings(store: Store) -> None:
    before = store.readings(flags=None)
    key = before.iloc[[0]]
    changed = key.assign(value=999.0, source_row=1000)
    table = pa.Table.from_pandas(changed[READING_COLUMNS], schema=READING_SCHEMA,
                                 preserve_index=False)
    assert store.partitions.upsert(table) == 1
    after = store.readings(flags=None)
    assert len(after) == len(before)
    row = after[(after["station_id"] == key["station_id"].iloc[0])
                & (after["time"] == key["time"].iloc[0])
                & (after["parameter"] == key["parameter"].iloc[0])]
    assert row[["value", "source_row"]].values.tolist() == [[999.0, 1000]]


def test_dataset_takes_the_first_listed_source_when_feeds_overlap(store: Store) -> None:
    ours = store.readings(stations="fx:A", parameters="pm25")
    theirs = ours.assign(source="other_feed", value=ours["value"] + 1000)
    store.partitions.upsert(pa.Table.from_pandas(theirs[READING_COLUMNS], schema=READING_SCHEMA,
                                                 preserve_index=False))
    hour = np.datetime64("2026-03-31T22:00")
    for order, expected in (([FEED, "other_feed"], 10.0), (["other_feed", FEED], 1010.0)):
        data = store.dataset(stations="fx:A", parameters="pm25", sources=order)
        assert data["pm25"].sel(station="fx:A", time=hour).item() == expected
    # default order: alphabetical feed ids ("fixture" < "other_feed")
    assert store.dataset(stations="fx:A")["pm25"].sel(time=hour).item() == 10.0


def test_leftover_temporary_files_are_invisible_and_removed_by_the_next_writer(
        store: Store) -> None:
    folder = store.data_dir / "readings" / f"feed={FEED}" / "month=2026-04"
    leftover = folder / ".part-2026-04-01.parquet.deadbeef.tmp"
    leftover.write_bytes(b"half a parquet file")
    assert len(store.readings(flags=None)) == len(CITIES) * 3 * len(HOURS) + 1
    with store.writer_lock():
        assert not leftover.exists()


def test_stations_quarantine_ledger_and_latest(tmp_path: Path) -> None:
    store, _ = _ingest(tmp_path)
    stations = store.stations()
    regions = stations.set_index("station_id")["region"]
    assert regions.drop("fx:D").to_dict() == {"fx:A": "beijing", "fx:B": "tianjin",
                                              "fx:C": "hebei"}
    assert pd.isna(regions["fx:D"])  # 上海市 is in no configured region
    assert store.stations(regions="hebei")["station_id"].tolist() == ["fx:C"]
    assert store.quarantine().empty
    assert set(QUARANTINE_COLUMNS) <= set(store.quarantine().columns)
    ledger = store.ledger()
    assert list(ledger.columns) == LEDGER_COLUMNS
    assert ledger[["records", "stored", "readings"]].values.tolist() == [[49, 49, 49]]
    latest = store.latest_by_feed_region()
    assert latest.to_dict("records") == [
        {"source": FEED, "region": r, "latest": pd.Timestamp(HOURS[-1]), "stations": 1}
        for r in ("", "beijing", "hebei", "tianjin")]


def test_day_files_of_plain_text_columns_stay_readable_and_mergeable(store: Store) -> None:
    """Files written before text columns were dictionary-encoded (plain strings) are read
    as they are and rewritten in the new encoding when a later value supersedes one."""
    root = store.data_dir / "readings"
    [old_file] = [p for p in root.rglob("part-2026-03-31.parquet")]
    plain = pq.read_table(old_file).cast(pa.schema(
        [pa.field(f.name, pa.string() if pa.types.is_dictionary(f.type) else f.type)
         for f in pq.read_schema(old_file)]))
    pq.write_table(plain, old_file)
    assert pa.types.is_string(pq.read_schema(old_file).field("station_id").type)
    before = store.readings(flags=None)
    key = before[before["time"] == pd.Timestamp("2026-03-31T22:00Z")].iloc[[0]]
    store.partitions.upsert(reading_table(key.assign(value=-5.0)))
    after = store.readings(flags=None)
    assert len(after) == len(before)
    changed = after.merge(key[["station_id", "time", "parameter", "period"]])
    assert changed["value"].tolist() == [-5.0]
    assert pa.types.is_dictionary(pq.read_schema(old_file).field("station_id").type)
