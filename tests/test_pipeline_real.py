"""The pipeline and store with the real adapters on the bundled real-feed samples."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingest.pipeline import run_ingest
from monitor.config import AppConfig
from monitor.schema import READING_KEY
from monitor.store import Store

FEEDS = ["cnemc_hourly_air", "zjemc_hourly_air"]
#: samples/cnemc_hourly_air/2026-03-03/2026-03-03T08.csv, station 1001A (万寿西宫, 北京市):
#: pm2_5 = 131, pm2_5_24h = 111 at 08:00 Beijing time = 00:00 UTC.
BEIJING_HOUR = pd.Timestamp("2026-03-03T00:00Z")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, config: AppConfig) -> Store:
    store = Store(tmp_path_factory.mktemp("real") / "var")
    summary = run_ingest(config, store, FEEDS)
    for counts in summary.feeds.values():
        assert counts.files > 0
        assert counts.rows_read == counts.stored + counts.quarantined + counts.duplicates
    return store


def test_known_raw_values_arrive_with_station_utc_time_and_unit(store: Store) -> None:
    got = store.readings(stations="cn:1001A", parameters="pm25", start=BEIJING_HOUR,
                         end=BEIJING_HOUR, sources="cnemc_hourly_air")
    assert got.set_index("period")[["value", "unit"]].loc[["1h", "24h"]].values.tolist() == [
        [131.0, "ug/m3"], [111.0, "ug/m3"]]
    station = store.stations(stations="cn:1001A").iloc[0]
    assert station[["name", "city", "region"]].tolist() == ["万寿西宫", "北京市", "beijing"]


def test_reingest_of_real_feeds_adds_nothing(store: Store, config: AppConfig) -> None:
    before = len(store.readings(flags=None))
    again = run_ingest(config, store, FEEDS)
    assert again.total.readings == 0 and again.total.files == 0
    assert again.total.files_skipped == len(store.ledger())
    assert len(store.readings(flags=None)) == before


def test_region_selects_the_stations_of_both_feeds(store: Store) -> None:
    zhejiang = store.readings(regions="zhejiang", parameters="pm25", periods="1h",
                              start="2026-05-01T00:00Z", end="2026-05-01T00:00Z")
    assert set(zhejiang["source"]) == set(FEEDS)
    listed = store.stations(regions="zhejiang")["station_id"]
    assert set(zhejiang["station_id"]) <= set(listed)
    assert not set(store.readings(regions="beijing", sources="zjemc_hourly_air")["station_id"])


def test_xarray_dataset_of_a_region(store: Store) -> None:
    data = store.dataset(regions="beijing", parameters=["pm25", "co"],
                         sources="cnemc_hourly_air", start="2026-03-03T00:00Z",
                         end="2026-03-03T23:00Z")
    assert data["pm25"].dims == ("station", "time")
    assert set(data["region"].values) == {"beijing"}
    assert data["name"].sel(station="cn:1001A").item() == "万寿西宫"
    assert data["pm25"].sel(station="cn:1001A", time=np.datetime64("2026-03-03T00:00")
                            ).item() == 131.0
    assert data["co"].attrs["units"] == "mg/m3"


def test_corrected_real_file_supersedes_its_values(tmp_path: Path, config: AppConfig) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    raw = config.base_dir / "samples" / "cnemc_hourly_air" / "2026-03-03" / "2026-03-03T08.csv"
    shutil.copy(raw, archive / raw.name)
    feed = config.feeds["cnemc_hourly_air"].model_copy(update={"paths": [str(archive / "*.csv")]})
    one_feed = config.model_copy(update={"feeds": {feed.id: feed}})
    store = Store(tmp_path / "var")
    first = run_ingest(one_feed, store)
    before = store.readings(flags=None)

    text = (archive / raw.name).read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if ",1001A," in x)
    fields = line.split(",")
    assert fields[10] == "131"  # pm2_5
    fields[10] = "140"
    (archive / raw.name).write_text(text.replace(line, ",".join(fields)), encoding="utf-8")
    second = run_ingest(one_feed, store)

    after = store.readings(flags=None)
    assert second.total.readings == first.total.readings and len(after) == len(before)
    assert not after.duplicated(READING_KEY).any()
    value = store.readings(stations="cn:1001A", parameters="pm25", periods="1h")["value"]
    assert value.tolist() == [140.0]
    changed = after.merge(before, on=READING_KEY, suffixes=("", "_old"))
    differs = changed[changed["value"].ne(changed["value_old"])
                      & ~(changed["value"].isna() & changed["value_old"].isna())]
    assert differs[["station_id", "parameter", "period"]].values.tolist() == [
        ["cn:1001A", "pm25", "1h"]]
    assert len(store.ledger()) == 2


def test_full_day_of_the_national_release_as_a_region_dataset(
        shared_data: Path, tmp_path: Path, config: AppConfig) -> None:
    day = shared_data / "cnemc_hourly_air" / "2026-03-03"
    feed = config.feeds["cnemc_hourly_air"].model_copy(update={"paths": [str(day / "*.csv")]})
    store = Store(tmp_path / "var")
    run_ingest(config.model_copy(update={"feeds": {feed.id: feed}}), store)

    raw = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False)
                     for f in sorted(day.glob("*.csv"))])
    jjj = ["beijing", "tianjin", "hebei"]
    cities = {c for r in jjj for c in config.regions[r].cities}
    raw = raw[raw["area"].isin(cities)]
    numeric = pd.to_numeric(raw["pm2_5"], errors="coerce").notna()

    data = store.dataset(regions=jjj, parameters="pm25", flags=None)
    assert data.sizes["time"] == 24
    assert set(data["station"].values) == {f"cn:{c}" for c in raw["stationcode"]}
    assert int(data["pm25"].notnull().sum()) == int(numeric.sum())
    assert set(data["region"].values) == set(jjj)
