"""QC flags with reason codes: flag, never delete."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_support import SAMPLES, context

from ingest import cnemc_hourly_air, uci_beijing_multisite
from ingest.pipeline import run_ingest
from ingest.qc import DEFAULT_STUCK_HOURS, apply_qc, stuck_mask
from ingest.qc_parse import parse_arrow_values, parse_values
from monitor.config import AppConfig
from monitor.store import Store


def frame(rows: list[tuple[str, str, str, float]], start: str = "2026-03-03T00:00Z",
          period: str = "1h") -> pd.DataFrame:
    """Readings from (station, parameter, hour offset or '', value) tuples."""
    base = pd.Timestamp(start)
    return pd.DataFrame({
        "station_id": [r[0] for r in rows],
        "time": [base + pd.Timedelta(hours=int(r[2] or 0)) for r in rows],
        "period": period,
        "parameter": [r[1] for r in rows],
        "value": [r[3] for r in rows],
        "unit": "ug/m3",
        "flag": "valid",
        "flag_reason": None,
        "source": "test",
        "source_file": "f.csv",
        "source_row": range(2, 2 + len(rows)),
    })


def test_parse_values_keeps_raw_text_of_unparseable_cells() -> None:
    values, reasons = parse_values(pd.Series(["12", "NA", "/", " 3.5 ", "abc;x", None]),
                                   ["NA", "/"])
    assert values[0] == 12 and values[3] == 3.5
    assert all(math.isnan(v) for v in values[[1, 2, 4, 5]])
    assert list(reasons) == [None, "missing", "missing", None, "unparseable:abc,x", "missing"]


def test_not_monitored_marker_is_invalid_but_not_missing() -> None:
    values, reasons = parse_values(pd.Series(["/", "NA", " / ", "7"]), ["", "NA"], ["/"])
    assert list(reasons) == ["not_monitored", "missing", "not_monitored", None]
    readings = frame([("cn:1268A", "so2", "", values[0]), ("cn:1268A", "co", "", values[1]),
                      ("cn:1268A", "no2", "", values[3])])
    readings["flag_reason"] = reasons.iloc[[0, 1, 3]].to_numpy()
    out = apply_qc(readings)
    assert list(out["flag"]) == ["invalid", "invalid", "valid"]
    assert list(out["flag_reason"]) == ["not_monitored", "missing", None]
    assert math.isnan(out["value"].iloc[0])


CELLS = st.one_of(st.none(), st.sampled_from(["", " NA", "/", "--", " 7 ", "1e3", "-2.5",
                                               "abc", "x;y", "１２"]),
                  st.floats(allow_nan=False, allow_infinity=False).map(repr),
                  st.text(max_size=4))


@settings(max_examples=150, deadline=None)
@given(st.lists(CELLS, max_size=12))
def test_text_cells_parse_alike_from_pandas_and_from_pyarrow(cells: list[str | None]) -> None:
    """The tabular reader parses pyarrow columns, other adapters pandas ones: one rule."""
    from_pandas = parse_values(pd.Series(cells, dtype=object), ["", "NA", "--"], ["/"])
    from_arrow = parse_arrow_values(pa.array(cells, type=pa.string()), ["", "NA", "--"],
                                    ["/"])
    np.testing.assert_array_equal(from_pandas[0], from_arrow[0])
    assert list(from_pandas[1]) == list(from_arrow[1])
    for cell, value, reason in zip(cells, *from_arrow, strict=True):
        if cell is not None and _is_number(cell):
            assert value == float(cell) and reason is None


def _is_number(text: str) -> bool:
    """Plain ASCII decimal notation, e.g. ``-2.5``, `` 7 `` or ``1e3``."""
    return re.fullmatch(r"\s*[-+]?\d+(\.\d*)?([eE][-+]?\d+)?\s*", text, re.ASCII) is not None


def test_value_checks_flag_with_reason_and_keep_value() -> None:
    readings = frame([
        ("a", "no2", "", -4.0),       # negative
        ("a", "pm10", "", 6000.0),    # implausible (> 5000)
        ("a", "o3", "", float("nan")),
        ("a", "so2", "", 7.0),
    ])
    readings.loc[len(readings)] = readings.iloc[0].to_dict() | {
        "parameter": "ph", "value": 15.2, "unit": "1"}
    readings.loc[len(readings)] = readings.iloc[0].to_dict() | {
        "parameter": "temp", "value": -12.0, "unit": "degC"}
    out = apply_qc(readings)
    assert list(out["flag_reason"]) == ["negative", "implausible", "missing", None,
                                        "ph_range", None]
    assert list(out["flag"].astype(str)) == ["invalid", "invalid", "invalid", "valid",
                                             "invalid", "valid"]
    assert out["value"].iloc[0] == -4.0 and out["value"].iloc[4] == 15.2
    assert len(out) == len(readings)


def test_existing_unparseable_reason_is_kept_and_not_called_missing() -> None:
    readings = frame([("a", "o3", "", float("nan"))])
    readings["flag_reason"] = "unparseable:n/a?"
    out = apply_qc(readings)
    assert out["flag_reason"].iloc[0] == "unparseable:n/a?"
    assert out["flag"].iloc[0] == "invalid"


def test_pm25_above_pm10_marks_both_suspect_only_for_same_key() -> None:
    out = apply_qc(frame([
        ("a", "pm25", "0", 120.0), ("a", "pm10", "0", 100.0),   # same hour: suspect
        ("a", "pm25", "1", 90.0), ("a", "pm10", "1", 100.0),    # fine
        ("b", "pm25", "0", 150.0), ("a", "pm10", "2", 100.0),   # other station / hour
    ]))
    assert list(out["flag"].astype(str)) == ["suspect", "suspect", "valid", "valid",
                                             "valid", "valid"]
    assert out["flag_reason"].iloc[0] == "pm25_gt_pm10"


def test_stuck_run_needs_n_equal_consecutive_hours_above_floor() -> None:
    n = DEFAULT_STUCK_HOURS
    stuck = [("a", "so2", str(h), 42.0) for h in range(n)]
    short = [("b", "so2", str(h), 42.0) for h in range(n - 1)]
    gap = [("c", "so2", str(h), 42.0) for h in [*range(n - 1), n + 3]]
    low = [("d", "so2", str(h), 2.0) for h in range(n + 4)]  # detection-limit plateau
    rain = [("e", "rain", str(h), 0.0) for h in range(n + 4)]
    out = apply_qc(frame(stuck + short + gap + low + rain))
    flags = out.groupby("station_id")["flag_reason"].apply(lambda s: set(s.fillna("-")))
    assert flags["a"] == {"stuck"}
    assert flags["b"] == flags["c"] == flags["d"] == flags["e"] == {"-"}


def test_stuck_uses_history_for_one_file_per_hour_feeds() -> None:
    history = frame([("a", "co", str(h), 2.4) for h in range(7)])
    now = frame([("a", "co", "7", 2.4)])
    assert stuck_mask(now).tolist() == [False]
    assert stuck_mask(now, history=history).tolist() == [True]


def test_several_reasons_are_joined() -> None:
    rows = [("a", "pm25", str(h), 3000.0) for h in range(DEFAULT_STUCK_HOURS)]
    out = apply_qc(frame(rows))
    assert set(out["flag_reason"]) == {"implausible;stuck"}
    assert set(out["flag"].astype(str)) == {"invalid"}


def test_real_stuck_ozone_in_uci_sample(config: AppConfig) -> None:
    result = uci_beijing_multisite.read(
        SAMPLES / "uci_beijing_multisite" / "PRSA_Data_Aotizhongxin_20130301-20170228.csv",
        config.feeds["uci_beijing_multisite"], context(config))
    r = result.readings
    stuck = r[r["flag_reason"].fillna("").str.contains("stuck")]
    assert len(stuck) > 0
    assert set(stuck["flag"].astype(str)) <= {"suspect", "invalid"}
    # every flagged reading sits in a run of >= 8 equal hourly values of its series
    for (param, value), group in stuck.groupby(["parameter", "value"], observed=True):
        series = r[(r["parameter"] == param)].set_index("time")["value"].sort_index()
        hours = group["time"].sort_values()
        first = hours.iloc[0]
        run = series.loc[first:first + pd.Timedelta(hours=DEFAULT_STUCK_HOURS - 1)]
        assert (run == value).all(), (param, value, first)
    assert np.isfinite(stuck["value"]).all()


@pytest.mark.parametrize("hours", [3, 24])
def test_stuck_hours_is_configurable(hours: int) -> None:
    rows = [("a", "no2", str(h), 55.0) for h in range(hours)]
    assert apply_qc(frame(rows), stuck_hours=hours)["flag_reason"].eq("stuck").all()
    assert apply_qc(frame(rows), stuck_hours=hours + 1)["flag_reason"].isna().all()


def test_stuck_sensor_is_flagged_across_hourly_files(config: AppConfig, tmp_path: Path) -> None:
    """Ten real national hourly files in which station 1001A's PM2.5 is frozen at 88:
    ingested one file at a time, the run reaches eight hours at 07:00 local time and
    every reading of it from then on is ``stuck`` (the earlier ones are history)."""
    hours = sorted((SAMPLES / "cnemc_hourly_air" / "2026-03-03").glob("*.csv"))[:10]
    folder = tmp_path / "cnemc"
    folder.mkdir()
    for path in hours:
        lines = path.read_text(encoding="utf-8").splitlines()
        frozen = [_with_field(line, 10, "88") if line.split(",")[1] == "1001A" else line
                  for line in lines]
        (folder / path.name).write_text("\n".join(frozen) + "\n", encoding="utf-8")
    feed = config.feeds["cnemc_hourly_air"].model_copy(
        update={"paths": [str(folder / "*.csv")]})
    run_ingest(config.model_copy(update={"feeds": {feed.id: feed}}), store := Store(tmp_path))
    pm25 = store.readings(stations="cn:1001A", parameters="pm25", periods="1h", flags=None)
    stuck = pm25["flag_reason"].fillna("").str.contains("stuck").to_numpy()
    assert (pm25["value"] == 88).all() and len(pm25) == 10
    local_hour = pm25["time"].dt.tz_convert("Asia/Shanghai").dt.hour.to_numpy()
    assert local_hour[stuck].tolist() == [7, 8, 9]
    assert set(pm25.loc[stuck, "flag"]) == {"suspect"}
    others = store.readings(parameters="pm25", periods="1h", flags=None)
    assert not others.loc[others["station_id"] != "cn:1001A", "flag_reason"].fillna(
        "").str.contains("stuck").any()
    # the same file read alone (no earlier hours) has no run long enough
    alone = cnemc_hourly_air.read(folder / hours[9].name, feed, context(config)).readings
    assert not alone["flag_reason"].fillna("").str.contains("stuck").any()


def _with_field(line: str, index: int, value: str) -> str:
    fields = line.split(",")
    fields[index] = value
    return ",".join(fields)
