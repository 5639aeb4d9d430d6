"""Crash safety: a real ``python -m monitor.cli ingest`` killed with SIGKILL mid-ingest.

The kill lands deterministically through the store's test hook
(``JOINTWATCH_TEST_HOLD=<point>:<marker>``, see :mod:`monitor.crashpoints`): the child
writes the marker file and sleeps at the chosen point; the test waits for the marker
and sends SIGKILL.  Points: ``temp`` -- the first day file's new version written to
its temporary file, not renamed; ``partition`` -- one day file of the batch replaced,
the others not yet written; ``ledger`` -- all readings durable, ledger not yet
committed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pytest
from crash_support import kill_at_hold_point
from fixture_feed import FEED, PROJECT, hour_rows, make_config, write_feed_file

from ingest.pipeline import run_ingest
from monitor.config import AppConfig
from monitor.crashpoints import HOLD_ENV
from monitor.schema import READING_KEY
from monitor.store import Store

DAYS = [[f"2026-03-{d:02d}T{h:02d}:00Z" for h in range(0, 24, 3)] for d in (3, 4, 5)]
BAD_LINES = ["A,北京市,not-a-time,pm25,5", "B,天津市,2026-03-03T01:00Z,benzene,3"]


def _write_feed(root: Path) -> AppConfig:
    config = make_config(root)
    for i, day in enumerate(DAYS):
        write_feed_file(root, f"day{i}.csv", hour_rows(day))
    write_feed_file(root, "bad.csv", BAD_LINES)
    return config


def _ingest_command(root: Path, data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "monitor.cli", "--config", str(root / "config"),
            "--data-dir", str(data_dir), "ingest", "--json"]


def _run_cli(root: Path, data_dir: Path) -> dict[str, dict]:
    done = subprocess.run(_ingest_command(root, data_dir), cwd=PROJECT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, HOLD_ENV: ""})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _kill_at(point: str, root: Path, data_dir: Path) -> None:
    kill_at_hold_point(_ingest_command(root, data_dir), point, root / f"reached-{point}",
                       PROJECT)


def _state(store: Store) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    readings = store.readings(flags=None)
    quarantine = store.quarantine().drop(columns="ingested_at")
    ledger = store.ledger().drop(columns="ingested_at")
    return readings, quarantine, ledger


@pytest.mark.parametrize("point", ["temp", "partition", "ledger"])
def test_sigkill_mid_ingest_then_rerun_equals_a_clean_run(tmp_path: Path, point: str) -> None:
    config = _write_feed(tmp_path)
    clean_dir, crashed_dir = tmp_path / "clean", tmp_path / "crashed"
    run_ingest(config, Store(clean_dir))
    expected = _state(Store(clean_dir))
    total = len(expected[0])

    _kill_at(point, tmp_path, crashed_dir)
    # readable and consistent after the kill: nothing in the ledger, no half files visible
    store = Store(crashed_dir)
    after_kill = store.readings(flags=None)
    assert store.ledger().empty and store.quarantine().empty
    root = crashed_dir / "readings"
    expected_after_kill = {"temp": 0, "ledger": total}
    if point in expected_after_kill:
        assert len(after_kill) == expected_after_kill[point]
    else:
        assert 0 < len(after_kill) < total
    assert ds.dataset(root, partitioning="hive").count_rows() == len(after_kill)
    assert bool(list(root.rglob(".part-*.tmp"))) == (point == "temp")  # half-written file

    rerun = _run_cli(tmp_path, crashed_dir)
    assert rerun["feeds"][FEED]["files"] == len(DAYS) + 1
    assert not list(root.rglob(".part-*.tmp"))
    for got, want in zip(_state(Store(crashed_dir)), expected, strict=True):
        pd.testing.assert_frame_equal(got, want)


def test_sigkill_while_ingesting_corrected_files_then_rerun_equals_a_clean_run(
        tmp_path: Path) -> None:
    config = _write_feed(tmp_path)
    clean_dir, crashed_dir = tmp_path / "clean", tmp_path / "crashed"
    for data_dir in (clean_dir, crashed_dir):
        run_ingest(config, Store(data_dir))
    # corrections: new values for day 0 and day 2, one bad line of bad.csv fixed
    write_feed_file(tmp_path, "day0.csv", hour_rows(DAYS[0], offset=100.0))
    write_feed_file(tmp_path, "day2.csv", hour_rows(DAYS[2], offset=200.0))
    write_feed_file(tmp_path, "bad.csv", [BAD_LINES[0], "B,天津市,2026-03-03T01:00Z,no2,3"])
    run_ingest(config, Store(clean_dir))
    expected = _state(Store(clean_dir))

    _kill_at("partition", tmp_path, crashed_dir)
    half = Store(crashed_dir)
    assert len(half.ledger()) == len(DAYS) + 1  # only the first versions are recorded
    # killed after the first day file (2026-03-03) was replaced: day 0 new, day 2 still old
    readings = half.readings(flags=None)
    assert not readings.duplicated(READING_KEY).any()
    readings = readings[readings["parameter"] != "no2"]  # no2: the fixed line of bad.csv
    day = readings["time"].dt.strftime("%Y-%m-%d")
    assert (readings.loc[day == "2026-03-03", "value"] >= 100).all()
    assert (readings.loc[day == "2026-03-05", "value"] < 100).all()

    _run_cli(tmp_path, crashed_dir)
    for got, want in zip(_state(Store(crashed_dir)), expected, strict=True):
        pd.testing.assert_frame_equal(got, want)
    assert Store(crashed_dir).quarantine()["raw"].tolist() == ["not-a-time"]
