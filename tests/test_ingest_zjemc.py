"""The Zhejiang (ZJEMC) adapter: two layouts, one station id, unknown layouts refused."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLES
from hypothesis import given
from hypothesis import strategies as st

from ingest.base import FileResult, IngestContext
from ingest.harmonize import canonical_name
from ingest.pipeline import load_reference_stations, run_ingest
from ingest.zjemc_hourly_air import EARLY, LATE, Layout, detect_layout, read
from monitor.config import AppConfig, Feed
from monitor.store import Store

ARCHIVE = "zjemc_hourly_air"
UTC = "UTC"


@pytest.fixture(scope="module")
def national(config: AppConfig) -> pd.DataFrame:
    """The station table as the pipeline seeds it (config/stations_cn.csv)."""
    return load_reference_stations(config)


@pytest.fixture
def feed(config: AppConfig) -> Feed:
    return config.feeds[ARCHIVE]


def _read(path: Path, feed: Feed, config: AppConfig,
          stations: pd.DataFrame) -> FileResult:
    return read(path, feed, IngestContext(config, stations)).check()


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh))


def _sample(layout: Layout) -> Path:
    """The first bundled sample file in ``layout``."""
    files = sorted((SAMPLES / ARCHIVE).glob("*/*.csv"))
    for path in files:
        try:
            if detect_layout(_header(path)) is layout:
                return path
        except ValueError:
            continue
    raise AssertionError(f"no {layout.name}-layout file among the samples {files}")


def _at(result: FileResult, station: str, param: str, period: str = "1h") -> pd.Series:
    r = result.readings
    row = r[(r["station_id"] == station) & (r["parameter"] == param) & (r["period"] == period)]
    assert len(row) == 1, f"{station} {param} {period}: {len(row)} readings"
    return row.iloc[0]


@pytest.mark.parametrize("layout", [EARLY, LATE], ids=["early", "late"])
def test_sample_rows_arrive_as_published(layout: Layout, feed: Feed, config: AppConfig,
                                         national: pd.DataFrame) -> None:
    """Every value cell of the sample equals its reading (read independently with csv)."""
    path = _sample(layout)
    result = _read(path, feed, config, national)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert result.records == len(rows) == result.stored_records
    readings = result.readings.set_index(["source_row", "parameter", "period"])
    for line, row in enumerate(rows, start=2):
        local = pd.Timestamp(row["time"]).tz_localize("Asia/Shanghai").tz_convert(UTC)
        for native in layout.value_columns:
            name = canonical_name(native)
            assert name is not None
            reading = readings.loc[(line, name.parameter, name.period)]
            assert reading["time"] == local
            if row[native] == "--":
                assert np.isnan(reading["value"]) and reading["flag"] == "invalid"
            else:
                assert reading["value"] == float(row[native]), (line, native)
    assert set(result.readings["unit"]) == {"ug/m3", "mg/m3", "1"}


def test_same_station_has_one_id_in_both_layouts(feed: Feed, config: AppConfig,
                                                 national: pd.DataFrame) -> None:
    early = _read(_sample(EARLY), feed, config, national)
    late = _read(_sample(LATE), feed, config, national)
    early_ids = set(early.readings["station_id"])
    assert early_ids and early_ids <= set(late.readings["station_id"])
    assert all(i.startswith("zj:") for i in early_ids | set(late.readings["station_id"]))
    # the early layout's station metadata comes from the provincial list, same as late
    both = early.stations.merge(late.stations, on="station_id", suffixes=("_e", "_l"))
    assert len(both) == len(early_ids)
    assert (both["name_e"] == both["name_l"]).all() and (both["city_e"] == both["city_l"]).all()
    assert np.allclose(both["lon_e"], both["lon_l"]) and (both["region_e"] == "zhejiang").all()


def test_national_station_matched_by_name_and_city_in_both_layouts(
        feed: Feed, config: AppConfig, national: pd.DataFrame) -> None:
    late = _read(_sample(LATE), feed, config, national)
    station = late.stations.iloc[0]
    ours = pd.DataFrame([
        {"station_id": "cn:9001A", "name": station["name"], "city": station["city"],
         "medium": "air"},
        {"station_id": "cn:9002A", "name": station["name"], "city": "北京市", "medium": "air"},
    ])
    stations = pd.concat([national, ours], ignore_index=True)
    for path in (_sample(EARLY), _sample(LATE)):
        result = _read(path, feed, config, stations)
        ids = set(result.readings["station_id"])
        assert "cn:9001A" in ids and "cn:9002A" not in ids, path
        assert station["station_id"] not in ids
        # a national station is the national feed's: not re-described from this feed
        assert "cn:9001A" not in set(result.stations["station_id"])


def test_unknown_station_quarantined_rest_kept(feed: Feed, config: AppConfig,
                                               national: pd.DataFrame, tmp_path: Path) -> None:
    source = _sample(EARLY)
    lines = source.read_text(encoding="utf-8").splitlines()
    first = lines[1].split(",")
    stranger = ",".join(["无名站", first[1], *first[2:]])
    path = tmp_path / source.name
    path.write_text("\n".join([*lines, stranger]) + "\n", encoding="utf-8")
    result = _read(path, feed, config, national)
    assert result.stored_records == len(lines) - 1
    refused = result.quarantine.iloc[0]
    assert (refused["source_row"], refused["field"], refused["raw"]) == (
        len(lines) + 1, "site", stranger)
    assert refused["reason"].startswith("unknown station")


@given(st.permutations([*LATE.required, "", "PM25_level", "PM25_color", "sort"]),
       st.permutations(EARLY.required))
def test_layout_recognised_in_any_column_order(late: list[str], early: list[str]) -> None:
    assert detect_layout(late) is LATE
    assert detect_layout(early) is EARLY


def test_late_rows_without_sitecode_or_time_quarantined(feed: Feed, config: AppConfig,
                                                        national: pd.DataFrame,
                                                        tmp_path: Path) -> None:
    source = _sample(LATE)
    with source.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    code, time = rows[0].index("sitecode"), rows[0].index("time")
    rows[1][code] = ""
    rows[2][time] = "30/04/2026 13h"
    path = tmp_path / source.name
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    result = _read(path, feed, config, national)
    assert result.stored_records == len(rows) - 3
    q = result.quarantine.set_index("source_row")
    assert (q.loc[2, "field"], q.loc[2, "reason"]) == ("sitecode", "unknown station: no sitecode")
    assert q.loc[3, "field"] == "time" and q.loc[3, "reason"].startswith("bad timestamp")
    assert "30/04/2026 13h" in q.loc[3, "raw"]


def test_columns_are_read_by_name_not_position(feed: Feed, config: AppConfig,
                                               national: pd.DataFrame, tmp_path: Path) -> None:
    source = _sample(LATE)
    with source.open(encoding="utf-8", newline="") as fh:
        rows = [list(reversed(row)) for row in csv.reader(fh)]
    shuffled = tmp_path / source.name
    with shuffled.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    assert _header(shuffled) != _header(source)
    keep = ["station_id", "time", "period", "parameter", "value", "flag", "source_row"]
    pd.testing.assert_frame_equal(
        _read(shuffled, feed, config, national).readings[keep],
        _read(source, feed, config, national).readings[keep])


def test_file_in_neither_layout_refused_naming_columns(feed: Feed, config: AppConfig,
                                                       national: pd.DataFrame,
                                                       tmp_path: Path) -> None:
    source = _sample(EARLY)
    lines = source.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "odd.csv"
    path.write_text("\n".join([lines[0].replace("PM₂.₅-24h", "PM₁"), *lines[1:]]) + "\n",
                    encoding="utf-8")
    result = _read(path, feed, config, national)
    assert (result.records, len(result.quarantine), len(result.readings)) == (1, 1, 0)
    refused = result.quarantine.iloc[0]
    assert refused["source_row"] == 0 and str(path) in refused["reason"]
    assert "closest is 'early': missing columns PM₂.₅-24h; unknown columns 'PM₁'" in (
        refused["reason"])


def test_bad_lines_quarantined_good_lines_kept(feed: Feed, config: AppConfig,
                                               national: pd.DataFrame, tmp_path: Path) -> None:
    lines = _sample(LATE).read_text(encoding="utf-8").splitlines()
    body = lines[1:]
    text = "\n".join([lines[0], body[0], body[1] + ",extra", lines[0], *body[2:], body[0],
                      body[3][:20]])
    path = tmp_path / "late.csv"
    path.write_text(text, encoding="utf-8")  # no final line end: truncated
    result = _read(path, feed, config, national)
    assert (result.records, result.stored_records, result.duplicates) == (
        len(body) + 3, len(body) - 1, 1)
    reasons = result.quarantine.set_index("source_row")["reason"]
    assert reasons[3].startswith("wrong field count")
    assert reasons[4] == "repeated header line inside the file"
    assert reasons[len(body) + 4].startswith("truncated last line")


def test_empty_file_has_no_records(feed: Feed, config: AppConfig, national: pd.DataFrame,
                                   tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = _read(path, feed, config, national)
    assert (result.records, len(result.readings), len(result.quarantine)) == (0, 0, 0)


# --- the full archive (../shared/data) ---------------------------------------------------


@pytest.mark.shared
def test_known_values_in_both_layouts(shared_data: Path, feed: Feed, config: AppConfig,
                                      national: pd.DataFrame) -> None:
    archive = shared_data / ARCHIVE
    # early: 缙云中学,丽水市,44,8,16,105,44,25,0.5,113,62,37,2026-04-29 (midnight, Beijing)
    early = _read(archive / "2026-04-29" / "2026-04-29T00.csv", feed, config, national)
    jinyun = "zj:331122001"
    assert _at(early, jinyun, "pm25")["time"] == pd.Timestamp("2026-04-28 16:00", tz=UTC)
    assert _at(early, jinyun, "pm25")["value"] == 25
    assert _at(early, jinyun, "pm25", "24h")["value"] == 37
    assert _at(early, jinyun, "o3", "8h")["value"] == 113
    co = _at(early, jinyun, "co")
    assert (co["value"], co["unit"]) == (0.5, "mg/m3")
    # late: 文成中学 (sitecode 330328002) at 05:00, PM25H24 empty
    late = _read(archive / "2026-05-01" / "2026-05-01T05.csv", feed, config, national)
    wencheng = "zj:330328002"
    assert _at(late, wencheng, "o3")["time"] == pd.Timestamp("2026-04-30 21:00", tz=UTC)
    assert _at(late, wencheng, "o3")["value"] == 25
    assert _at(late, wencheng, "pm25")["value"] == 7
    assert _at(late, wencheng, "pm25", "24h")["flag_reason"] == "missing"


@pytest.mark.shared
def test_format_change_day_keeps_every_station_id(shared_data: Path, feed: Feed,
                                                  config: AppConfig,
                                                  national: pd.DataFrame) -> None:
    """2026-04-30 switches layout at 13:00: the same 118 ids before and after."""
    ids: dict[str, set[str]] = {"early": set(), "late": set()}
    for path in sorted((shared_data / ARCHIVE / "2026-04-30").glob("*.csv")):
        layout = detect_layout(_header(path))
        ids[layout.name] |= set(_read(path, feed, config, national).readings["station_id"])
    assert len(ids["early"]) == 118
    assert ids["early"] == ids["late"]


@pytest.mark.shared
def test_city_average_table_is_refused(shared_data: Path, feed: Feed, config: AppConfig,
                                       national: pd.DataFrame) -> None:
    path = shared_data / ARCHIVE / "2026-05-04" / "2026-05-04T09.csv"
    result = _read(path, feed, config, national)
    assert result.readings.empty and len(result.quarantine) == 1
    assert result.quarantine["reason"].iloc[0] == (
        f"{path}: neither the early nor the late ZJEMC layout; closest is 'late': "
        "missing columns O3H8, PM10H24, PM25H24; unknown columns none")


NATIONAL_COLUMNS = {"pm2_5": "pm25", "pm10": "pm10", "o3": "o3", "no2": "no2",
                    "so2": "so2", "co": "co"}


@pytest.mark.shared
def test_cross_check_with_national_release(shared_data: Path, feed: Feed, config: AppConfig,
                                           national: pd.DataFrame) -> None:
    """No ZJEMC station is a national one: by name and city, and by the values.

    The provincial release covers county stations.  Of its 118 stations none has the
    name and city of a national station; the nearest case, 衢州三中（市） (city-run,
    220 m from the national 衢州三中), is a different analyser.  The values confirm it:
    on 2026-05-01 each ZJEMC station agrees with its best-agreeing national Zhejiang
    station on well under half of the hourly values (chance level for integers in
    µg/m³), whereas the same station would agree on nearly all.
    """
    zj = pd.concat([_read(p, feed, config, national).readings
                    for p in sorted((shared_data / ARCHIVE / "2026-05-01").glob("*.csv"))])
    assert zj["station_id"].str.startswith("zj:").all()
    zj = zj[(zj["period"] == "1h") & zj["value"].notna()]
    files = sorted((shared_data / "cnemc_hourly_air" / "2026-05-01").glob("*.csv"))
    cn = pd.concat([pd.read_csv(f, dtype=str) for f in files])
    cn = cn[cn["area"].isin(config.regions["zhejiang"].cities)]
    cn["time"] = (pd.to_datetime(cn["timepoint"], format="%Y-%m-%dT%H%M")
                  .dt.tz_localize("Asia/Shanghai").dt.tz_convert(UTC))
    cn = cn.melt(id_vars=["time", "stationcode"], value_vars=list(NATIONAL_COLUMNS),
                 var_name="column", value_name="national")
    cn["parameter"] = cn["column"].map(NATIONAL_COLUMNS)
    cn["national"] = pd.to_numeric(cn["national"], errors="coerce")
    pairs = zj.merge(cn.dropna(subset=["national"]), on=["time", "parameter"])
    pairs["equal"] = pairs["value"] == pairs["national"]
    agreement = pairs.groupby(["station_id", "stationcode"])["equal"].mean()
    best = agreement.groupby(level="station_id").max()
    assert len(best) == 118
    assert best.max() < 0.5
    assert agreement.loc[("zj:330803704", "4097A")] < 0.5  # 衢州三中（市） vs 衢州三中


def test_one_series_across_the_format_change_in_the_store(config: AppConfig,
                                                          tmp_path: Path) -> None:
    """缙云中学: 11:00 and 12:00 (early layout), 13:00 (late layout), Beijing time."""
    store = Store(tmp_path / "var")
    counts = run_ingest(config, store, [ARCHIVE]).feeds[ARCHIVE]
    assert (counts.quarantined, counts.duplicates) == (1, 0)  # the city-average table
    pm25 = store.readings(stations="zj:331122001", parameters="pm25", periods="1h",
                          start="2026-04-30T03:00Z", end="2026-04-30T05:00Z", flags=None)
    assert pm25["time"].tolist() == [pd.Timestamp(f"2026-04-30 0{h}:00", tz=UTC)
                                     for h in (3, 4, 5)]
    assert pm25["value"].tolist()[0::2] == [12.0, 14.0] and np.isnan(pm25["value"].iloc[1])
    assert pm25["flag"].tolist() == ["valid", "invalid", "valid"]
    station = store.stations("zj:331122001").iloc[0]
    assert (station["name"], station["city"], station["region"]) == ("缙云中学", "丽水市",
                                                                     "zhejiang")
