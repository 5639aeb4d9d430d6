"""Benchmark: backfill of a generated national-format archive at 30, 120 and 480 files.

The archive is made from the real hourly files of ``../shared/data/cnemc_hourly_air``:
file *i* is a copy of real file ``i mod n`` whose ``timepoint`` is moved to hour *i*
after 2026-01-01T01 (Beijing time), written as ``<date>/<date>THH.csv`` like the
release.  For each size, in one run, it prints

* the backfill (``jointwatch ingest cnemc_hourly_air --backfill DIR`` in a fresh
  subprocess, dask's threaded scheduler with one thread per core, as the CLI runs it
  without ``--dask-scheduler``): files/s and MB/s, start-up included;
* the reference: the same files read raw by ``pyarrow.csv.read_csv`` (best of 3): files/s,
  MB/s;
* the ratio backfill / raw (goal: at least 0.5);
* peak memory: the highest sum of RSS over the backfill process and its children
  (dask workers, if any), sampled every 50 ms with psutil (goal: flat as the archive
  grows), and the peak of the backfill process alone;
* then, between consecutive sizes, the steady-state rate: the extra files over the extra
  seconds, for the backfill and for the raw read, and their ratio (start-up of the
  process -- imports, configuration, the store -- is paid once and left out).

Usage: ``.venv/bin/python benchmarks/backfill.py [--sizes 30 120 480] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import pandas as pd
import psutil
import pyarrow.csv as pacsv

PROJECT = Path(__file__).resolve().parent.parent
SOURCE = PROJECT.parent / "shared" / "data" / "cnemc_hourly_air"
FEED = "cnemc_hourly_air"
START = "2026-01-01T01"


def make_archive(folder: Path, count: int) -> list[Path]:
    """Write ``count`` hourly files shifted from the real ones; return their paths."""
    real = sorted(SOURCE.glob("*/*.csv"))
    if not real:
        raise SystemExit(f"{SOURCE}: no real files (this benchmark needs ../shared/data)")
    hours = pd.date_range(START, periods=count, freq="h")
    written = []
    for i, hour in enumerate(hours):
        lines = real[i % len(real)].read_text(encoding="utf-8").splitlines(keepends=True)
        stamp = hour.strftime("%Y-%m-%dT%H00")
        body = [stamp + line[line.index(","):] for line in lines[1:]]
        target = folder / hour.strftime("%Y-%m-%d") / f"{hour:%Y-%m-%dT%H}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(lines[0] + "".join(body), encoding="utf-8")
        written.append(target)
    return written


def raw_read_seconds(files: list[Path], repeats: int = 3) -> float:
    """Seconds to read every file with pyarrow.csv (its own type inference), best of ``repeats``.

    The best of several runs, because this machine is shared and the raw read is short.
    """
    best = float("inf")
    for _ in range(repeats):
        begin = time.perf_counter()
        for path in files:
            pacsv.read_csv(path)
        best = min(best, time.perf_counter() - begin)
    return best


def _rss(processes: list[psutil.Process]) -> int:
    total = 0
    for member in processes:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def backfill(archive: Path, data_dir: Path) -> tuple[float, int, int]:
    """Run the backfill CLI in a subprocess.

    Returns
    -------
    tuple
        seconds, peak RSS of the whole process tree, peak RSS of the client process alone.
    """
    command = [sys.executable, "-m", "monitor.cli", "--data-dir", str(data_dir),
               "ingest", FEED, "--backfill", str(archive), "--json"]
    begin = time.perf_counter()
    process = psutil.Popen(command, cwd=PROJECT, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    peak = client_peak = 0
    while process.poll() is None:
        try:
            children = process.children(recursive=True)
        except psutil.Error:
            children = []
        client_peak = max(client_peak, _rss([process]))
        peak = max(peak, _rss([process, *children]))
        time.sleep(0.05)
    seconds = time.perf_counter() - begin
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"backfill failed ({process.returncode}):\n{stderr.decode()[-2000:]}")
    return seconds, peak, client_peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 120, 480])
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}; files generated from {SOURCE}")
    print(f"{'files':>6} {'MB':>7} | {'backfill s':>10} {'files/s':>8} {'MB/s':>6} | "
          f"{'raw s':>6} {'files/s':>8} {'MB/s':>6} | {'ratio':>6} | {'peak RSS MB':>11} "
          f"{'client MB':>9}")
    runs: list[tuple[int, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="jw-backfill-") as tmp:
        for size in args.sizes:
            archive = Path(tmp) / f"archive-{size}"
            files = make_archive(archive, size)
            megabytes = sum(p.stat().st_size for p in files) / 1e6
            raw = raw_read_seconds(files)
            seconds, peak, client = backfill(archive, Path(tmp) / f"var-{size}")
            ratio = raw / seconds
            runs.append((size, megabytes, seconds, raw))
            print(f"{size:>6} {megabytes:>7.1f} | {seconds:>10.1f} {size / seconds:>8.2f} "
                  f"{megabytes / seconds:>6.2f} | {raw:>6.2f} {size / raw:>8.1f} "
                  f"{megabytes / raw:>6.1f} | {ratio:>6.3f} | {peak / 1e6:>11.0f} "
                  f"{client / 1e6:>9.0f}", flush=True)
    print("ratio = backfill speed / raw pyarrow.csv speed (goal >= 0.5); "
          "peak RSS = backfill process + dask workers (goal: flat across sizes); "
          "client = the backfill process alone")
    print("steady state (from one size to the next: extra files / extra seconds):")
    for (n0, mb0, s0, r0), (n1, mb1, s1, r1) in pairwise(runs):
        files, megabytes = n1 - n0, mb1 - mb0
        print(f"  {n0:>4} -> {n1:>4} files: backfill {files / (s1 - s0):7.1f} files/s "
              f"{megabytes / (s1 - s0):6.2f} MB/s; raw {megabytes / max(r1 - r0, 1e-9):6.1f} "
              f"MB/s; ratio {(r1 - r0) / (s1 - s0):.3f}")


if __name__ == "__main__":
    main()
