"""Analyst exports: every format round-trips, filters select exactly, CF checker is clean."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr
import zarr
from cnemc_archive import FEED, PROJECT, archive_config, copy_archive, hourly_files

from ingest.pipeline import run_ingest
from monitor.cf import CELL_METHODS, readings_from_cf
from monitor.config import AppConfig
from monitor.export import (
    LONG_COLUMNS,
    EmptySelectionError,
    Selection,
    export,
    software_version,
)
from monitor.ledger import LedgerEntry
from monitor.schema import PARAMETERS, PERIODS, READING_COLUMNS, reading_table
from monitor.store import IngestedFile, Store

#: Columns a gridded (NetCDF/Zarr) export gives back.
CF_COLUMNS = ["station_id", "time", "period", "parameter", "value", "unit", "flag",
              "flag_reason"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Store:
    """The store after a normal ingest of three real national hourly files."""
    files = hourly_files(lambda: request.getfixturevalue("shared_data"), 3)
    archive = copy_archive(files, tmp_path_factory.mktemp("archive"))
    config = archive_config(tmp_path_factory.mktemp("cfg"), archive)
    store = Store(tmp_path_factory.mktemp("var"))
    run_ingest(config, store, [FEED])
    return store


@pytest.fixture(scope="module")
def everything(store: Store) -> pd.DataFrame:
    return store.readings(flags=None)


def _sorted(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    keys = ["station_id", "time", "parameter", "period", "source"]
    keys = [k for k in keys if k in columns]
    return frame[columns].sort_values(keys, ignore_index=True)


def _assert_same_readings(got: pd.DataFrame, expected: pd.DataFrame, columns: list[str]) -> None:
    got, expected = _sorted(got, columns), _sorted(expected, columns)
    assert len(got) == len(expected)
    for column in columns:
        left, right = got[column], expected[column]
        if column == "value":
            np.testing.assert_array_equal(left.to_numpy(float), right.to_numpy(float))
        elif column == "time":
            assert (pd.DatetimeIndex(left) == pd.DatetimeIndex(right)).all()
        else:
            assert left.astype(object).where(left.notna(), None).tolist() == \
                right.astype(object).where(right.notna(), None).tolist(), column


def test_every_averaging_period_has_cf_cell_methods() -> None:
    assert set(CELL_METHODS) == set(PERIODS)


def test_the_store_holds_flagged_readings_to_export(everything: pd.DataFrame) -> None:
    assert {"valid", "invalid"} <= set(everything["flag"])
    assert everything["value"].isna().any()


def test_csv_long_round_trips_values_units_times_flags(store: Store, everything: pd.DataFrame,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "readings.csv"
    result = export(store, Selection(flags=None), "csv", out)
    assert result.path == out and result.readings == len(everything)
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(LONG_COLUMNS)
    assert "万寿西宫" in text  # UTF-8 station names
    back = pd.read_csv(out, dtype={"flag_reason": str}, keep_default_na=False,
                       na_values={"value": [""], "lon": [""], "lat": [""]})
    assert back["time"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00").all()
    back["time"] = pd.to_datetime(back["time"], format="ISO8601")
    back["flag_reason"] = back["flag_reason"].replace("", None)
    _assert_same_readings(back, everything, READING_COLUMNS)
    assert (back["unit"] == back["parameter"].map(lambda p: PARAMETERS[p].unit)).all()
    beijing = back[back["station_id"] == "cn:1001A"].iloc[0]
    assert (beijing["station_name"], beijing["region"]) == ("万寿西宫", "beijing")


def test_parquet_long_round_trips_and_documents_columns(store: Store, everything: pd.DataFrame,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "readings.parquet"
    export(store, Selection(flags=None), "parquet", out)
    back = pd.read_parquet(out)
    assert list(back.columns) == list(LONG_COLUMNS)
    _assert_same_readings(back, everything, READING_COLUMNS)
    schema = pq.read_schema(out)
    assert str(schema.field("time").type) == "timestamp[ms, tz=UTC]"
    assert schema.field("value").metadata[b"description"].startswith(b"value in `unit`")
    provenance = json.loads(schema.metadata[b"jointwatch"])
    assert provenance["sources"] == [FEED] and len(provenance["files"]) == 3
    assert provenance["software_version"] == software_version()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_wide_has_one_column_per_parameter_and_period(store: Store, everything: pd.DataFrame,
                                                      tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"wide.{fmt}"
    export(store, Selection(flags=None), fmt, out, wide=True)
    back = pd.read_parquet(out) if fmt == "parquet" else pd.read_csv(out)
    back["time"] = pd.to_datetime(back["time"], format="ISO8601", utc=True)
    keys = everything[["station_id", "time", "source"]].drop_duplicates()
    assert len(back) == len(keys)
    long = back.melt(id_vars=["station_id", "time", "source"],
                     value_vars=["pm25_1h", "co_24h", "o3_8h"], value_name="value")
    flags = back.melt(id_vars=["station_id", "time", "source"],
                      value_vars=["pm25_1h_flag", "co_24h_flag", "o3_8h_flag"],
                      value_name="flag")
    long["flag"] = flags["flag"].to_numpy()
    long[["parameter", "period"]] = long["variable"].str.split("_", n=1, expand=True)
    long = long.dropna(subset=["flag"])
    expected = everything[everything["parameter"].isin(["pm25", "co", "o3"]) &
                          (everything["parameter"] + "_" + everything["period"]).isin(
                              ["pm25_1h", "co_24h", "o3_8h"])]
    _assert_same_readings(long, expected, ["station_id", "time", "parameter", "period",
                                           "value", "flag"])
    if fmt == "parquet":
        assert pq.read_schema(out).field("co_24h").metadata[b"unit"] == b"mg/m3"


@pytest.fixture
def offline() -> Iterator[None]:
    """Any attempt to open a network connection fails the test."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    original = socket.socket.connect, socket.create_connection
    socket.socket.connect, socket.create_connection = refuse, refuse  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        socket.socket.connect, socket.create_connection = original  # type: ignore[method-assign]


def _cf_report(path: Path, report: Path) -> dict[str, object]:
    from compliance_checker.runner import CheckSuite, ComplianceChecker

    CheckSuite.load_all_available_checkers()
    ComplianceChecker.run_checker(str(path), ["cf:1.8"], 0, "normal",
                                  output_filename=str(report), output_format="json")
    return json.loads(report.read_text())["cf:1.8"]


@pytest.mark.filterwarnings("ignore:The ioos_sos checker is deprecated:DeprecationWarning")
def test_netcdf_is_cf_compliant_offline_and_round_trips(
        store: Store, everything: pd.DataFrame, tmp_path: Path, offline: None) -> None:
    out = tmp_path / "readings.nc"
    export(store, Selection(flags=None), "netcdf", out)
    report = _cf_report(out, tmp_path / "cf.json")
    problems = [p for p in report["all_priorities"] if p["msgs"]]  # type: ignore[union-attr]
    assert report["high_count"] == 0 and problems == []
    with xr.open_dataset(out, engine="netcdf4") as ds:
        assert (ds.attrs["Conventions"], ds.attrs["featureType"]) == ("CF-1.8", "timeSeries")
        assert ds["station_id"].attrs["cf_role"] == "timeseries_id"
        assert ds["pm25_1h"].attrs["standard_name"] == (
            "mass_concentration_of_pm2p5_ambient_aerosol_particles_in_air")
        assert ds["co_1h"].attrs["units"] == "mg/m3"
        assert ds["pm25_1h_qc"].attrs["flag_meanings"] == "valid suspect invalid"
        assert ds.attrs["source_feeds"] == FEED and ds.attrs["software_version"]
        assert len(ds.attrs["source_files"].splitlines()) == 3
        assert str(ds["station_name"].sel(station=0).item()) == "万寿西宫"
        back = readings_from_cf(ds.load())
    _assert_same_readings(back, everything, CF_COLUMNS)


@pytest.mark.filterwarnings("ignore:The ioos_sos checker is deprecated:DeprecationWarning")
def test_water_netcdf_is_cf_compliant_and_round_trips(config: AppConfig, tmp_path: Path,
                                                      offline: None) -> None:
    """Surface-water sections: NTU and cells/L units, pH, published class."""
    store = Store(tmp_path / "var")
    run_ingest(config, store, ["cnemc_surface_water"])
    out = tmp_path / "water.nc"
    export(store, Selection(flags=None), "netcdf", out)
    report = _cf_report(out, tmp_path / "cf.json")
    assert [p for p in report["all_priorities"] if p["msgs"]] == []  # type: ignore[union-attr]
    with xr.open_dataset(out) as ds:
        turbidity = next(v for v in ds.data_vars if v.startswith("turbidity_")
                         and not v.endswith(("_qc", "_qc_reason")))
        assert ds[turbidity].attrs["units"] == "1" and "NTU" in ds[turbidity].attrs["comment"]
        back = readings_from_cf(ds.load())
    _assert_same_readings(back, store.readings(flags=None), CF_COLUMNS)


def test_zarr_is_format_2_and_round_trips(store: Store, everything: pd.DataFrame,
                                          tmp_path: Path) -> None:
    out = tmp_path / "readings.zarr"
    export(store, Selection(flags=None), "zarr", out)
    assert zarr.open_group(str(out), mode="r").metadata.zarr_format == 2
    with xr.open_zarr(out) as ds:
        assert ds.attrs["featureType"] == "timeSeries"
        back = readings_from_cf(ds.load())
    _assert_same_readings(back, everything, CF_COLUMNS)


def test_filters_select_exactly_what_they_say(store: Store, everything: pd.DataFrame,
                                              tmp_path: Path) -> None:
    beijing = set(store.stations(regions="beijing")["station_id"])
    times = sorted(everything["time"].unique())
    selection = Selection(regions=("beijing",), parameters=("pm25", "o3"), periods=("1h",),
                          start=times[1].isoformat(), end=times[2].isoformat())
    out = tmp_path / "some.parquet"
    result = export(store, selection, "parquet", out)
    got = pd.read_parquet(out)
    valid = everything["flag"] == "valid"
    expected = everything[valid & everything["station_id"].isin(beijing)
                          & everything["parameter"].isin(["pm25", "o3"])
                          & (everything["period"] == "1h")
                          & everything["time"].between(times[1], times[2])]
    assert len(expected) > 0 and result.readings == len(expected)
    _assert_same_readings(got, expected, READING_COLUMNS)
    flagged = Selection(stations=("cn:1001A",), flags=("invalid",))
    export(store, flagged, "csv", tmp_path / "invalid.csv")
    bad = pd.read_csv(tmp_path / "invalid.csv")
    assert set(bad["flag"]) == {"invalid"} and set(bad["station_id"]) == {"cn:1001A"}
    assert len(bad) == ((everything["station_id"] == "cn:1001A") &
                        (everything["flag"] == "invalid")).sum()


@pytest.mark.parametrize("fmt", ["csv", "parquet", "netcdf", "zarr"])
def test_empty_selection_is_refused_and_writes_nothing(store: Store, tmp_path: Path,
                                                       fmt: str) -> None:
    out = tmp_path / f"empty.{fmt}"
    with pytest.raises(EmptySelectionError, match=r"no readings match.*start=2030-01-01"):
        export(store, Selection(start="2030-01-01"), fmt, out)
    assert list(tmp_path.iterdir()) == []


def test_bad_requests_get_clear_errors(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown parameter 'pm2\.5'"):
        Selection(parameters=("pm2.5",))
    with pytest.raises(ValueError, match="unknown flag"):
        Selection(flags=("good",))
    with pytest.raises(ValueError, match="unknown region"):
        export(store, Selection(regions=("atlantis",)), "csv", tmp_path / "x.csv")
    with pytest.raises(ValueError, match="--wide applies to csv and parquet only"):
        export(store, Selection(), "netcdf", tmp_path / "x.nc", wide=True)
    with pytest.raises(ValueError, match="unknown export format"):
        export(store, Selection(), "xlsx", tmp_path / "x.xlsx")
    assert list(tmp_path.iterdir()) == []


def _jointwatch(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor.cli", "--data-dir",
                           str(store.data_dir), "export", *args],
                          capture_output=True, text=True, cwd=PROJECT, timeout=120, check=False)


def test_cli_exports_the_selection_and_refuses_an_empty_one(store: Store,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "pm25.csv"
    run = _jointwatch(store, "--format", "csv", "--out", str(out), "--regions", "beijing",
                      "--parameters", "pm25", "--periods", "1h", "--flags", "all", "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    frame = pd.read_csv(out)
    assert summary["readings"] == len(frame) and summary["parameters"] == ["pm25"]
    assert set(frame["region"]) == {"beijing"} and set(frame["period"]) == {"1h"}
    empty = _jointwatch(store, "--format", "netcdf", "--out", str(tmp_path / "e.nc"),
                        "--end", "2000-01-01")
    assert empty.returncode == 1 and "no readings match" in empty.stderr
    assert not (tmp_path / "e.nc").exists()


def test_gridded_export_keeps_the_best_flagged_of_overlapping_feeds(
        store: Store, everything: pd.DataFrame, tmp_path: Path) -> None:
    """A second feed reporting the same stations: one value per cell, chosen by flag."""
    stations = store.stations()
    store = Store(tmp_path / "var")
    store.upsert_stations(stations)
    national = everything[everything["station_id"].isin(["cn:1001A", "cn:1002A"])]
    first_hour = (national["time"] == national["time"].min()).to_numpy()
    national = national.assign(flag=np.where(first_hour, "invalid", national["flag"]))
    provincial = national.assign(source="provincial", value=national["value"] + 1,
                                 flag=np.where(first_hour, "valid", "invalid"))
    files = [IngestedFile(LedgerEntry(feed, f"{feed}.csv", feed * 4, 1, len(frame), len(frame),
                                      0, 0, len(frame)), reading_table(frame), pd.DataFrame())
             for feed, frame in ((FEED, national), ("provincial", provincial))]
    store.commit_batch(files, stations.iloc[:0])
    export(store, Selection(flags=None), "netcdf", tmp_path / "two.nc")
    with xr.open_dataset(tmp_path / "two.nc") as ds:
        assert ds.attrs["source_feeds"] == f"{FEED} provincial"
        assert ds.attrs["readings_set_aside_across_sources"] == len(national)
        back = readings_from_cf(ds.load())
    key = ["station_id", "time", "parameter", "period"]
    both = pd.concat([national, provincial], ignore_index=True)
    rank = both["flag"].map({"valid": 0, "suspect": 1, "invalid": 2})
    best = both.assign(rank=rank).sort_values([*key, "rank", "source"]).drop_duplicates(key)
    merged = best.merge(back, on=key, suffixes=("", "_nc"))
    assert len(merged) == len(back) == len(national)
    assert (merged["flag"] == merged["flag_nc"]).all()
    np.testing.assert_array_equal(merged["value"].to_numpy(float),
                                  merged["value_nc"].to_numpy(float))
    assert (best["source"] == "provincial").any() and (best["source"] == FEED).any()
