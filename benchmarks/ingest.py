"""Benchmark: ingest a whole real feed archive and compare with reading its CSVs alone.

Ingests every file of ``<data>/cnemc_hourly_air`` (default data root ``../shared/data``
relative to the project) with the configured ``cnemc_hourly_air`` adapter into a
temporary data directory (full pipeline: hashing, adapter, QC, accounting, Parquet
merge, ledger), then, in the same run, reads the same files with
``pyarrow.csv.read_csv`` alone as the baseline (best of 3).  Prints readings/s, MB/s,
the ratio of ingest time to the pyarrow baseline, the time of a re-ingest (every file
skipped by the ledger), and the two halves timed apart: the adapter alone (parse,
harmonize, QC, accounting: harmonization speed as a fraction of the raw pyarrow read
speed, the goal of issue 7 being >= 0.5) and the store alone (committing the adapter's
output in the pipeline's batches into a fresh store).
The machine may be shared: every phase prints its process CPU time beside the wall time.

Run: ``.venv/bin/python benchmarks/ingest.py [--data DIR] [--feed ID] [--batch N]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

# This script is named like the ``ingest`` package; run as a file, its own folder (first on
# sys.path) would shadow the package, so drop it before importing jointwatch.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import pandas as pd  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402

from ingest.base import IngestContext  # noqa: E402
from ingest.pipeline import (  # noqa: E402
    DEFAULT_BATCH_READINGS,
    load_reference_stations,
    read_for_commit,
    run_ingest,
)
from monitor.config import AppConfig, load_config  # noqa: E402
from monitor.schema import STATION_COLUMNS  # noqa: E402
from monitor.store import IngestedFile, Store  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def archive_config(feed_id: str, data_root: Path) -> AppConfig:
    """The project's configuration with only ``feed_id``, pointed at the full archive."""
    config = load_config(PROJECT / "config")
    feed = config.feeds[feed_id].model_copy(
        update={"paths": [str(data_root / feed_id / "**" / "*.csv")]})
    return config.model_copy(update={"feeds": {feed_id: feed}})


def timed(func: Callable[[], T]) -> tuple[T, float, float]:
    """``func()``, its wall-clock seconds and this process's CPU seconds (all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def read_with_pyarrow(files: list[Path]) -> int:
    """Rows of every file read with ``pyarrow.csv.read_csv`` (the baseline)."""
    return sum(pacsv.read_csv(f).num_rows for f in files)


def run_adapter_alone(config: AppConfig, feed_id: str, files: list[Path]
                      ) -> list[IngestedFile]:
    """The adapter and the accounting checks on every file, without the store."""
    feed = config.feeds[feed_id]
    ctx = IngestContext(config=config, stations=load_reference_stations(config))
    return [read_for_commit(path, "", feed, ctx)[0] for path in files]


def run_store_alone(files: list[IngestedFile], batch_readings: int) -> None:
    """Commit already-read files into a fresh store, in batches of ``batch_readings``."""
    with tempfile.TemporaryDirectory(prefix="jw-bench-store-") as tmp:
        store = Store(Path(tmp))
        batch: list[IngestedFile] = []
        pending = 0
        for ingested in files:
            batch.append(ingested)
            pending += ingested.readings.num_rows
            if pending >= batch_readings:
                store.commit_batch(batch, pd.DataFrame(columns=STATION_COLUMNS))
                batch, pending = [], 0
        if batch:
            store.commit_batch(batch, pd.DataFrame(columns=STATION_COLUMNS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=PROJECT.parent / "shared" / "data",
                        help="data root holding <feed>/ (default: ../shared/data)")
    parser.add_argument("--feed", default="cnemc_hourly_air")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH_READINGS,
                        help="readings per Parquet merge batch")
    args = parser.parse_args()

    config = archive_config(args.feed, args.data.resolve())
    files = config.feed_files(config.feeds[args.feed])
    if not files:
        raise SystemExit(f"no files for {args.feed} under {args.data}")
    megabytes = sum(f.stat().st_size for f in files) / 1e6

    with tempfile.TemporaryDirectory(prefix="jw-bench-") as tmp:
        store = Store(Path(tmp))
        summary, ingest_s, ingest_cpu = timed(
            lambda: run_ingest(config, store, batch_readings=args.batch))
        again, reingest_s, _ = timed(lambda: run_ingest(config, store))
    ingested, adapter_s, adapter_cpu = timed(
        lambda: run_adapter_alone(config, args.feed, files))
    _, store_s, store_cpu = timed(lambda: run_store_alone(ingested, args.batch))
    baseline = [timed(lambda: read_with_pyarrow(files)) for _ in range(3)]
    csv_rows, baseline_s, baseline_cpu = min(baseline, key=lambda t: t[1])

    total = summary.total
    print(f"feed {args.feed}: {len(files)} files, {megabytes:.1f} MB, {csv_rows} CSV rows")
    print(f"ingest: {ingest_s:.2f} s wall, {ingest_cpu:.2f} s CPU; {total.rows_read} records "
          f"-> {total.readings} readings ({total.stored} stored, {total.quarantined} "
          f"quarantined, {total.duplicates} duplicates)")
    print(f"  {total.readings / ingest_s:,.0f} readings/s, {megabytes / ingest_s:.2f} MB/s "
          f"(per CPU second: {total.readings / ingest_cpu:,.0f} readings, "
          f"{megabytes / ingest_cpu:.2f} MB)")
    print(f"  the adapter alone (parse, harmonize, QC): {adapter_s:.2f} s wall, "
          f"{adapter_cpu:.2f} s CPU; so store + ledger + pipeline: "
          f"{ingest_cpu - adapter_cpu:.2f} s CPU")
    print(f"  the store alone (Parquet merge + ledger of the adapter's output): {store_s:.2f} s "
          f"wall, {store_cpu:.2f} s CPU")
    print(f"pyarrow.csv.read_csv alone (best of 3): {baseline_s:.2f} s wall, "
          f"{baseline_cpu:.2f} s CPU, {megabytes / baseline_s:.1f} MB/s")
    print(f"ratio ingest / pyarrow.csv: {ingest_s / baseline_s:.0f}x wall, "
          f"{ingest_cpu / baseline_cpu:.0f}x CPU")
    print(f"harmonization (adapter alone) at {baseline_s / adapter_s:.3f} of the raw pyarrow "
          f"read speed (wall; CPU: {baseline_cpu / adapter_cpu:.3f}); goal >= 0.5")
    print(f"re-ingest (all {again.total.files_skipped} files skipped by the ledger): "
          f"{reingest_s:.2f} s")


if __name__ == "__main__":
    main()
