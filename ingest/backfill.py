"""Backfill: harmonize a large archive of one feed with dask, in bounded memory.

``jointwatch ingest FEED --backfill PATH_OR_GLOB [--dask-scheduler tcp://HOST:PORT]``
reads an archive (a folder, searched recursively, a single file, or a glob with
``**``) with the feed's adapter, in parallel, and commits it to the store with the
same ledger and merge semantics as the normal ingest (:func:`ingest.pipeline.run_ingest`):
a file whose content the ledger holds is skipped, later files supersede earlier
ones per reading key, and every record is accounted for.  A backfill and a normal
ingest of the same files therefore leave the same store, in either order.

How it scales
-------------
The archive is cut into batches of ``files_per_batch`` files (in sorted path order).
For each batch, one dask task per file hashes it and, unless the ledger holds that
content (already-ingested files are never parsed), runs the feed's adapter on it.
Well-formed long files take the Arrow fast path (:mod:`ingest.tabular_arrow`).  Much
of a task is still Python between Arrow calls, which holds the GIL: on one machine the
threads add little over one thread (measured, ``benchmarks/backfill.py``), while the
commit of the previous batch runs beside them.
The client merges the batch's station metadata once, then commits the batch to the
store (one Parquet merge per touched day file, then the ledger in one transaction) in
a background thread while the tasks read the next batch.  At any time at most two
batches are in memory, so peak memory depends on the batch size and on the size of
one day of readings, not on the number of files.

Where the tasks run
-------------------
``scheduler`` is ``"synchronous"`` (one thread, for tests and debugging),
``"threads"`` (dask's threaded scheduler, one thread per core: what the CLI uses
without ``--dask-scheduler``) or a ``distributed.Client``: with ``--dask-scheduler
tcp://HOST:PORT`` (or ``$JOINTWATCH_DASK_SCHEDULER``) the CLI connects to an
existing dask.distributed cluster, whose workers must be able to read the archive
paths (a shared filesystem) and import jointwatch; the readings come back to the
client, which writes the store.  The result does not depend on where the tasks ran:
the batches, their order and the commits are decided on the client.
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import dask
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from distributed import Client

from ingest.base import IngestContext
from ingest.pipeline import (
    FeedCounts,
    IngestSummary,
    file_sha256,
    known_stations,
    read_for_commit,
    stations_brought,
)
from ingest.stations import load_reference_stations, station_updates
from monitor.config import AppConfig, Feed
from monitor.ledger import FeedLedger
from monitor.schema import STATION_COLUMNS
from monitor.store import IngestedFile, Store

log = logging.getLogger(__name__)

#: Environment variable naming the dask.distributed scheduler (read by the CLI only).
SCHEDULER_ENV = "JOINTWATCH_DASK_SCHEDULER"
#: Files harmonized and committed together: bounds the memory (two days of hourly files).
DEFAULT_FILES_PER_BATCH = 48

#: ``"synchronous"`` (one thread), ``"threads"`` (a thread per core) or a dask.distributed
#: client.
Scheduler = str | Client


def archive_files(path_or_glob: str) -> list[Path]:
    """The files of an archive: a file, every file under a folder, or a glob (``**`` recurses).

    Hidden files (name starting with ``.``) are left out.

    Raises
    ------
    ValueError
        when nothing matches.
    """
    root = Path(path_or_glob).expanduser()
    if root.is_file():
        found = [root]
    elif root.is_dir():
        found = [p for p in root.rglob("*") if p.is_file()]
    else:
        found = [Path(p) for p in glob.glob(str(root), recursive=True) if Path(p).is_file()]
    found = [p for p in found if not p.name.startswith(".")]
    if not found:
        raise ValueError(f"{path_or_glob}: no files to backfill (not a file, folder or "
                         "matching glob)")
    return sorted(p.resolve() for p in found)


def _batches(items: Sequence[Path], size: int) -> Iterator[Sequence[Path]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def harmonize_file(path: Path, feed: Feed, ctx: IngestContext, ledger: FeedLedger
                   ) -> tuple[IngestedFile, pd.DataFrame] | None:
    """One task: hash the file and, unless the ledger holds its content, read it
    (:func:`ingest.pipeline.read_for_commit`); None for a file already ingested."""
    sha = file_sha256(path)
    if ledger.already_ingested(str(path), sha):
        return None
    return read_for_commit(path, sha, feed, ctx)


class _Backfill:
    """One backfill run: the client's state between batches and the commit thread.

    The ledger is read once at the start, as :func:`ingest.pipeline.run_ingest` does.
    Commits run in one background thread, in batch order, so the store writes batch
    *k* while the tasks read batch *k + 1*.  The files from the first one reaching the
    batch's last UTC day on wait for the next commit: that day is probably not complete
    yet, and its file is then written once instead of once per batch touching it.  At
    most two batches and one day of files are in memory.
    """

    def __init__(self, config: AppConfig, store: Store, feed_id: str,
                 scheduler: Scheduler) -> None:
        self.config, self.store, self.scheduler = config, store, scheduler
        self.feed = config.feeds[feed_id]
        self.ledger = store.feed_ledger(feed_id)
        self.stations = store.stations()
        self.context = IngestContext(config=config, stations=self.stations)
        self.counts = FeedCounts()
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backfill")
        self._pending: Future[int] | None = None
        self._held: list[IngestedFile] = []

    def harmonize(self, batch: Sequence[Path]) -> None:
        """Read the batch's files not yet ingested, and queue their commit."""
        task = dask.delayed(harmonize_file, pure=True)
        feed, ctx, ledger = (dask.delayed(x, pure=True) for x in (
            self.feed, self.context, self.ledger))
        results = dask.compute(*[task(p, feed, ctx, ledger) for p in batch],
                               scheduler=self.scheduler)
        done = [r for r in results if r is not None]
        self.counts.files_skipped += len(batch) - len(done)
        if not done:
            return
        files = [ingested for ingested, _ in done]
        for ingested in files:
            entry = ingested.entry
            self.counts.add(FeedCounts(rows_read=entry.records, stored=entry.stored,
                                       quarantined=entry.quarantined,
                                       duplicates=entry.duplicates, files=1,
                                       readings=entry.readings))
        now = IngestContext(config=self.config, stations=self.stations)
        updates = station_updates(self.stations, stations_brought(
            files, [stations for _, stations in done], now, self.feed))
        self.stations = known_stations(self.stations, updates)
        queue = self._held + files
        cut = _start_of_last_day(queue)
        self._commit(queue[:cut] if cut else queue, updates)
        self._held = queue[cut:] if cut else []

    def finish(self) -> None:
        """Commit the files still held back, and wait for the last commit."""
        if self._held:
            self._commit(self._held, pd.DataFrame(columns=STATION_COLUMNS))
            self._held = []
        self.wait()

    def _commit(self, files: list[IngestedFile], stations: pd.DataFrame) -> None:
        self.wait()
        self._pending = self._committer.submit(self.store.commit_batch, files, stations)

    def wait(self) -> None:
        """Wait for the queued commit (re-raising its error)."""
        if self._pending is not None:
            written = self._pending.result()
            self._pending = None
            log.info("backfill %s: committed %d readings", self.feed.id, written)

    def close(self) -> None:
        self._committer.shutdown(wait=True)


def _start_of_last_day(files: Sequence[IngestedFile]) -> int:
    """Index of the first file whose readings reach the last UTC day of ``files`` (0 when
    the first one does: then nothing is held back)."""
    last_days = []
    for ingested in files:
        newest = pc.max(ingested.readings["time"]).cast(pa.int64()).as_py()
        last_days.append(-1 if newest is None else newest // 86_400)
    final = max(last_days)
    return next(i for i, day in enumerate(last_days) if day == final)


def run_backfill(config: AppConfig, store: Store, feed_id: str, files: Sequence[Path],
                 scheduler: Scheduler = "synchronous",
                 files_per_batch: int = DEFAULT_FILES_PER_BATCH) -> IngestSummary:
    """Harmonize ``files`` (an archive of feed ``feed_id``) into ``store`` with dask.

    Parameters
    ----------
    config : monitor.config.AppConfig
        the configuration; ``feed_id`` names the feed (adapter and options) of the archive.
    store : monitor.store.Store
        the store to fill; its writer lock is held for the whole backfill.
    feed_id : str
        configured feed whose adapter reads the archive.
    files : sequence of Path
        the archive's files (see :func:`archive_files`), committed in this order.
    scheduler : "synchronous" or distributed.Client
        where the dask tasks run.
    files_per_batch : int
        files read and committed together.

    Returns
    -------
    ingest.pipeline.IngestSummary
        the counts, as the normal ingest reports them.

    Raises
    ------
    ValueError
        for an unknown feed or readings that break the canonical schema.
    ingest.base.AccountingError
        when the records of a file do not add up.
    """
    if feed_id not in config.feeds:
        raise ValueError(f"unknown feed {feed_id!r}; configured: {', '.join(config.feeds)}")
    if files_per_batch < 1:
        raise ValueError(f"files_per_batch must be at least 1, got {files_per_batch}")
    summary = IngestSummary()
    with store.writer_lock():
        store.upsert_stations(load_reference_stations(config))
        run = _Backfill(config, store, feed_id, scheduler)
        try:
            for batch in _batches(files, files_per_batch):
                run.harmonize(batch)
            run.finish()
        finally:
            run.close()
        run.counts.check(f"backfill of feed {feed_id}")
        summary.feeds[feed_id] = run.counts
    return summary


@contextmanager
def scheduler_for(address: str | None) -> Iterator[Scheduler]:
    """Where the tasks run: a client of the dask.distributed cluster at ``address``, or
    (no address) dask's threaded scheduler with a thread per core.

    Raises
    ------
    ValueError
        when the scheduler at ``address`` cannot be reached.
    """
    if not address:
        yield "threads"
        return
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"cannot reach the dask scheduler at {address}: {exc}") from None
    with client:
        yield client


def backfill_from_args(args: argparse.Namespace, config: AppConfig, store: Store
                       ) -> IngestSummary:
    """``jointwatch ingest FEED --backfill PATH_OR_GLOB [--dask-scheduler tcp://HOST:PORT]``."""
    if not args.backfill:
        raise ValueError("--dask-scheduler applies to --backfill only")
    if len(args.feeds) != 1:
        raise ValueError("--backfill needs exactly one FEED: the feed whose format the "
                         f"archive has (configured: {', '.join(config.feeds)})")
    feed_id = args.feeds[0]
    if feed_id not in config.feeds:
        raise ValueError(f"unknown feed {feed_id!r}; configured: {', '.join(config.feeds)}")
    files = archive_files(args.backfill)
    address = args.dask_scheduler or os.environ.get(SCHEDULER_ENV)
    with scheduler_for(address) as scheduler:
        log.info("backfill %s: %d files on %s", feed_id, len(files), scheduler)
        return run_backfill(config, store, feed_id, files, scheduler=scheduler)
