"""Backfill with dask: same store as the normal ingest, on one process or a cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from cnemc_archive import FEED, PROJECT, archive_config, copy_archive, hourly_files
from crash_support import kill_at_hold_point
from distributed import Client, LocalCluster

from ingest.backfill import SCHEDULER_ENV, archive_files, run_backfill
from ingest.pipeline import run_ingest
from monitor.config import AppConfig
from monitor.crashpoints import HOLD_ENV
from monitor.store import Store

#: A file of the archive the adapter must quarantine row by row (bad timestamp, bad width).
BROKEN_LINES = [
    "timepoint,stationcode,longitude,latitude,area,positionname,primarypollutant,aqi,pm10,"
    "pm10_24h,pm2_5,pm2_5_24h,o3,o3_24h,o3_8h,o3_8h_24h,no2,no2_24h,so2,so2_24h,co,co_24h",
    "2026-03-03T9900,1001A,116.3611,39.8786,北京市,万寿西宫,,153,127,120,117,100,5,5,9,9,"
    "60,58,8,8,1.1,1.0",
    "2026-03-03T0900,1001A,116.3611,39.8786",
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """Six real hourly files in a day folder plus one broken file."""
    files = hourly_files(lambda: request.getfixturevalue("shared_data"), 6)
    folder = copy_archive(files, tmp_path_factory.mktemp("archive"))
    broken = folder / "2026-03-03" / "2026-03-03T99.csv"
    broken.write_text("\n".join(BROKEN_LINES) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, archive: Path) -> AppConfig:
    return archive_config(tmp_path_factory.mktemp("cfg"), archive)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Three in-process workers behind a real TCP scheduler on the loopback interface."""
    with LocalCluster(n_workers=3, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None) as local:
        yield local


def _backfilled(config: AppConfig, archive: Path, data_dir: Path,
                scheduler: str | Client = "synchronous") -> Store:
    store = Store(data_dir)
    run_backfill(config, store, FEED, archive_files(str(archive)), scheduler=scheduler,
                 files_per_batch=3)
    return store


@pytest.fixture(scope="module")
def single_process(config: AppConfig, archive: Path,
                   tmp_path_factory: pytest.TempPathFactory) -> Store:
    return _backfilled(config, archive, tmp_path_factory.mktemp("single"))


def _day_files(store: Store) -> dict[str, bytes]:
    root = store.data_dir / "readings"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def _ledger(store: Store) -> pd.DataFrame:
    return store.ledger().drop(columns="ingested_at")


def _quarantine(store: Store) -> pd.DataFrame:
    return store.quarantine().drop(columns="ingested_at")


def test_archive_files_takes_folders_globs_and_files(archive: Path) -> None:
    every = archive_files(str(archive))
    assert len(every) == 7 and every == sorted(every)
    assert archive_files(str(archive / "**" / "*T0[0-2].csv")) == every[:3]
    assert archive_files(str(every[0])) == [every[0]]
    with pytest.raises(ValueError, match="no files to backfill"):
        archive_files(str(archive / "nothing-*.csv"))


def test_backfill_stores_what_the_normal_ingest_stores(
        config: AppConfig, single_process: Store, tmp_path: Path) -> None:
    ingested = Store(tmp_path / "ingest")
    run_ingest(config, ingested, [FEED])
    backfilled = single_process.readings(flags=None)
    assert len(backfilled) == single_process.ledger()["readings"].sum() > 6 * 170 * 10
    pd.testing.assert_frame_equal(backfilled, ingested.readings(flags=None))
    pd.testing.assert_frame_equal(_quarantine(single_process), _quarantine(ingested))
    pd.testing.assert_frame_equal(single_process.stations(), ingested.stations())
    ledger = _ledger(single_process)
    pd.testing.assert_frame_equal(ledger, _ledger(ingested))
    broken = ledger[ledger["path"].str.endswith("T99.csv")].iloc[0]
    assert (broken["records"], broken["quarantined"], broken["stored"]) == (2, 2, 0)
    # A real value: station 1001A (Beijing), 2026-03-03 00:00 Beijing time = 16:00 UTC.
    first = backfilled[(backfilled["station_id"] == "cn:1001A") &
                       (backfilled["parameter"] == "pm25") & (backfilled["period"] == "1h")]
    assert first.iloc[0]["time"] == pd.Timestamp("2026-03-02T16:00Z")
    assert first.iloc[0]["value"] == 117.0


def test_backfill_and_ingest_are_idempotent_with_each_other(
        config: AppConfig, archive: Path, tmp_path: Path) -> None:
    store = _backfilled(config, archive, tmp_path / "a")
    before = _day_files(store)
    again = run_ingest(config, store, [FEED]).feeds[FEED]
    assert (again.files, again.files_skipped, again.readings) == (0, 7, 0)
    assert _day_files(store) == before
    ingested = Store(tmp_path / "b")
    run_ingest(config, ingested, [FEED])
    counts = run_backfill(config, ingested, FEED, archive_files(str(archive))).feeds[FEED]
    assert (counts.files, counts.files_skipped, counts.readings) == (0, 7, 0)


@pytest.mark.parametrize("where", ["cluster", "threads"])
def test_parallel_run_equals_single_process_run_byte_for_byte(
        config: AppConfig, archive: Path, single_process: Store, cluster: LocalCluster,
        tmp_path: Path, where: str) -> None:
    """Three workers of a dask.distributed cluster, or dask's threads: same files."""
    if where == "threads":
        distributed_store = _backfilled(config, archive, tmp_path / where, "threads")
    else:
        with Client(cluster) as client:
            distributed_store = _backfilled(config, archive, tmp_path / where, client)
    files = _day_files(distributed_store)
    assert files and files == _day_files(single_process)
    pd.testing.assert_frame_equal(_ledger(distributed_store), _ledger(single_process))
    pd.testing.assert_frame_equal(_quarantine(distributed_store), _quarantine(single_process))


def _jointwatch(config: AppConfig, data_dir: Path, *args: str,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", "--config", str(config.config_dir),
         "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, cwd=PROJECT, env={**os.environ, **(env or {})},
        timeout=300, check=False)


@pytest.mark.parametrize("where", ["environment", "local-threads"])
def test_cli_backfill_equals_the_single_process_run(
        config: AppConfig, archive: Path, single_process: Store, cluster: LocalCluster,
        tmp_path: Path, where: str) -> None:
    """On the scheduler named by $JOINTWATCH_DASK_SCHEDULER, or on local threads."""
    env = {SCHEDULER_ENV: cluster.scheduler_address if where == "environment" else ""}
    run = _jointwatch(config, tmp_path / "var", "ingest", FEED, "--backfill", str(archive),
                      "--json", env=env)
    assert run.returncode == 0, run.stderr
    total = json.loads(run.stdout)["feeds"][FEED]
    assert (total["files"], total["rows_read"]) == (7, total["stored"] + total["quarantined"])
    assert _day_files(Store(tmp_path / "var")) == _day_files(single_process)


def test_cli_backfill_refuses_unclear_requests(config: AppConfig, archive: Path,
                                               tmp_path: Path) -> None:
    no_feed = _jointwatch(config, tmp_path, "ingest", "--backfill", str(archive))
    assert no_feed.returncode == 1 and "exactly one FEED" in no_feed.stderr
    nothing = _jointwatch(config, tmp_path, "ingest", FEED, "--backfill",
                          str(archive / "none" / "*.csv"))
    assert nothing.returncode == 1 and "no files to backfill" in nothing.stderr
    alone = _jointwatch(config, tmp_path, "ingest", FEED, "--dask-scheduler", "tcp://x:1")
    assert alone.returncode == 1 and "--backfill only" in alone.stderr


@pytest.mark.parametrize("point", ["partition", "ledger"])
def test_backfill_killed_mid_commit_completes_on_rerun(
        config: AppConfig, archive: Path, single_process: Store, cluster: LocalCluster,
        tmp_path: Path, point: str) -> None:
    """SIGKILL at the store's crash points (monitor.crashpoints), then the same command again."""
    marker, data_dir = tmp_path / "reached", tmp_path / "var"
    command = [sys.executable, "-m", "monitor.cli", "--config", str(config.config_dir),
               "--data-dir", str(data_dir), "ingest", FEED, "--backfill", str(archive)]
    kill_at_hold_point(command, point, marker, PROJECT,
                       env={SCHEDULER_ENV: cluster.scheduler_address})
    rerun = _jointwatch(config, data_dir, "ingest", FEED, "--backfill", str(archive),
                        env={SCHEDULER_ENV: cluster.scheduler_address, HOLD_ENV: ""})
    assert rerun.returncode == 0, rerun.stderr
    store = Store(data_dir)
    assert _day_files(store) == _day_files(single_process)
    pd.testing.assert_frame_equal(_ledger(store), _ledger(single_process))
    pd.testing.assert_frame_equal(_quarantine(store), _quarantine(single_process))


def test_backfill_into_a_store_on_an_fsspec_url(config: AppConfig, archive: Path,
                                                single_process: Store, tmp_path: Path) -> None:
    """The readings root may be object storage (here fsspec's memory filesystem)."""
    root = f"memory://backfill-{tmp_path.name}/readings"
    store = Store(tmp_path / "state", readings_root=root)
    run_backfill(config, store, FEED, archive_files(str(archive)), files_per_batch=3)
    pd.testing.assert_frame_equal(store.readings(flags=None), single_process.readings(flags=None))
    pd.testing.assert_frame_equal(_ledger(store), _ledger(single_process))
