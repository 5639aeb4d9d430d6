"""The readings as a hive-partitioned Parquet dataset, with crash-safe upserts.

Layout under the readings root (a local folder or any fsspec URL, e.g. ``memory://``)::

    feed=<feed id>/.layout                                  "day" or "month"
    feed=<feed id>/month=<YYYY-MM>/part-<YYYY-MM-DD>.parquet  (day layout)
    feed=<feed id>/month=<YYYY-MM>/part-<YYYY-MM>.parquet     (month layout)

Every file holds exactly the columns of :data:`monitor.schema.READING_SCHEMA`, the
text columns dictionary-encoded (:data:`monitor.schema.READING_TABLE_SCHEMA`)
(``feed`` and ``month`` exist only as directory names, so pyarrow.dataset and
dask.dataframe.read_parquet read the root as it is).  Parquet has no second
resolution, so ``time`` is stored as milliseconds; :func:`open_dataset` casts it
back to the canonical schema.

A reading's key (``READING_KEY``) determines its file, so an upsert rewrites only
the files it touches.  A feed's files are per UTC day (small rewrites for feeds that
arrive hour by hour), or per month for feeds whose first batch spans more than
:data:`MONTH_LAYOUT_MIN_DAYS` days (long per-station archives such as the UCI files,
where day files would mean rewriting thousands of small files per batch).  The
choice is made once, on the feed's first write, and recorded in its hidden
``.layout`` file, so the key-to-file mapping never changes.

Each rewrite writes a hidden temporary file (``.part-*.tmp``, ignored by dataset
readers), flushes it to disk and renames it over the old file, so a reader sees the
old or the new file, never a half-written one.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import uuid
from collections.abc import Sequence

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from monitor.crashpoints import hold_point
from monitor.schema import (
    READING_KEY,
    READING_SCHEMA,
    distinct_values,
    plain_values,
    reading_table,
)

#: Partition fields (directory names), in order.
PARTITION_SCHEMA = pa.schema([pa.field("feed", pa.string()), pa.field("month", pa.string())])
#: Schema of the dataset as read: the canonical columns plus the partition fields.
DATASET_SCHEMA = pa.schema(list(READING_SCHEMA) + list(PARTITION_SCHEMA))
#: A feed whose first batch spans more days than this gets one file per month.
MONTH_LAYOUT_MIN_DAYS = 62
LAYOUT_FILE = ".layout"
LAYOUTS = ("day", "month")
_SECONDS_PER_DAY = 86_400
_TEMP_PREFIX = ".part-"
_TEMP_SUFFIX = ".tmp"


class ReadingPartitions:
    """The Parquet half of the store: where readings live and how they are replaced.

    Parameters
    ----------
    root
        Local directory or fsspec URL of the readings dataset.
    """

    def __init__(self, root: str) -> None:
        self.url = root
        self.fs, self.root = fsspec.core.url_to_fs(root)
        self.fs.makedirs(self.root, exist_ok=True)

    # -- layout ------------------------------------------------------------------------------

    def data_file(self, feed: str, period: str) -> str:
        """Path of ``feed``'s file for ``period``: a UTC day (YYYY-MM-DD) or month (YYYY-MM)."""
        return posixpath.join(self.root, f"feed={feed}", f"month={period[:7]}",
                              f"part-{period}.parquet")

    def layout(self, feed: str) -> str | None:
        """``"day"`` or ``"month"``: how ``feed``'s files are cut (None before its first write)."""
        path = posixpath.join(self.root, f"feed={feed}", LAYOUT_FILE)
        if not self.fs.exists(path):
            return None
        layout = self.fs.cat_file(path).decode().strip()
        if layout not in LAYOUTS:
            raise ValueError(f"{path}: unknown layout {layout!r} (expected one of {LAYOUTS})")
        return layout

    def _layout_for(self, feed: str, days: np.ndarray) -> str:
        """The feed's recorded layout, or -- on its first write -- the one ``days`` call for."""
        recorded = self.layout(feed)
        if recorded is not None:
            return recorded
        chosen = "month" if days.max() - days.min() > MONTH_LAYOUT_MIN_DAYS else "day"
        folder = posixpath.join(self.root, f"feed={feed}")
        self.fs.makedirs(folder, exist_ok=True)
        temp = posixpath.join(folder, f"{_TEMP_PREFIX}layout.{uuid.uuid4().hex}{_TEMP_SUFFIX}")
        self.fs.pipe_file(temp, chosen.encode())
        self.fs.mv(temp, posixpath.join(folder, LAYOUT_FILE))
        return chosen

    @property
    def arrow_filesystem(self) -> pafs.FileSystem:
        """The root's filesystem for pyarrow (native for local folders, wrapped otherwise)."""
        if isinstance(self.fs, LocalFileSystem):
            return pafs.LocalFileSystem()
        return pafs.PyFileSystem(pafs.FSSpecHandler(self.fs))

    def open_dataset(self) -> ds.Dataset:
        """The readings as a pyarrow dataset (:data:`DATASET_SCHEMA`; filters prune partitions)."""
        return ds.dataset(
            self.root,
            schema=DATASET_SCHEMA,
            format="parquet",
            filesystem=self.arrow_filesystem,
            partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
        )

    # -- writing -----------------------------------------------------------------------------

    def remove_temporary_files(self) -> int:
        """Delete temporary files left by a killed writer; return how many were removed."""
        stale = [p for p in self.fs.find(self.root)
                 if posixpath.basename(p).startswith(_TEMP_PREFIX) and p.endswith(_TEMP_SUFFIX)]
        for path in stale:
            self.fs.rm(path)
        return len(stale)

    def upsert(self, readings: pa.Table) -> int:
        """Merge ``readings`` into the dataset; a new value supersedes the stored one per key.

        ``readings`` must follow :data:`READING_SCHEMA` (text columns may be
        dictionary-encoded, :data:`READING_TABLE_SCHEMA`) and hold each key at most once.
        Each touched file is read, the stored readings whose key comes again are dropped,
        the new ones appended, and the file atomically replaced.

        Returns
        -------
        int
            Number of files rewritten.
        """
        if readings.num_rows == 0:
            return 0
        readings = reading_table(readings).unify_dictionaries()
        sources = readings["source"].combine_chunks()
        codes = sources.indices.to_numpy(zero_copy_only=False)
        rewritten = 0
        for code in np.unique(codes):
            source = sources.dictionary[code].as_py()
            rows = readings if len(sources.dictionary) == 1 else readings.filter(
                pa.array(codes == code))
            for path, part in self._files_of(source, rows):
                self._merge_file(path, part)
                rewritten += 1
        return rewritten

    def _files_of(self, source: str, readings: pa.Table) -> list[tuple[str, pa.Table]]:
        """``readings`` of one feed cut into the feed's day (or month) files: each file's
        path and rows.  The periods are worked out on the distinct times only (a batch of
        hourly files has a few dozen), and a file's rows taken as a slice when they are
        one run (the readings of consecutive hourly files are)."""
        times = pc.unique(readings["time"])
        days = times.cast(pa.int64()).to_numpy() // _SECONDS_PER_DAY
        unit = "D" if self._layout_for(source, days) == "day" else "M"
        periods = days.astype("datetime64[D]").astype(f"datetime64[{unit}]")
        if len(np.unique(periods)) == 1:
            return [(self.data_file(source, str(periods[0])), readings)]
        row_periods = periods[pc.index_in(readings["time"], value_set=times).to_numpy()]
        parts = []
        for period in np.unique(periods):
            rows = np.flatnonzero(row_periods == period)
            parts.append((self.data_file(source, str(period)), _rows_of(readings, rows)))
        return parts

    def _merge_file(self, path: str, new: pa.Table) -> None:
        if self.fs.exists(path):
            old = reading_table(pq.read_table(path, filesystem=self.arrow_filesystem))
            merged = latest_per_key([old, new])
        else:
            merged = new
        self._write_atomic(merged, path)

    def _write_atomic(self, table: pa.Table, path: str) -> None:
        folder = posixpath.dirname(path)
        self.fs.makedirs(folder, exist_ok=True)
        temp = posixpath.join(
            folder, f"{_TEMP_PREFIX}{posixpath.basename(path)}.{uuid.uuid4().hex}{_TEMP_SUFFIX}")
        with self.fs.open(temp, "wb") as fh:
            # one dictionary per column, statistics where readers prune on them (time): the
            # text columns' statistics cost more to compute than the rest of the write
            pq.write_table(table.unify_dictionaries(), fh, compression="zstd",
                           write_statistics=["time"])
            fh.flush()
            _fsync(fh)
        hold_point("temp")
        self.fs.mv(temp, path)
        if isinstance(self.fs, LocalFileSystem):
            _fsync_directory(folder)
        hold_point("partition")


def _fsync(fh: object) -> None:
    """Force a local file's bytes to disk; a no-op for filesystems without descriptors."""
    with contextlib.suppress(AttributeError, io.UnsupportedOperation, OSError):
        os.fsync(fh.fileno())  # type: ignore[attr-defined]


def _fsync_directory(folder: str) -> None:
    """Make a rename inside ``folder`` durable (POSIX)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rows_of(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """``table.take(rows)``; a zero-copy slice when the rows are one ascending run (the
    readings of one day of hourly files usually are)."""
    if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and (np.diff(rows) == 1).all():
        return table.slice(int(rows[0]), len(rows))
    return table.take(rows)


def latest_per_key(tables: Sequence[pa.Table]) -> pa.Table:
    """The readings of ``tables`` (each with unique keys, in commit order) concatenated,
    a later table's reading superseding an earlier one with the same ``READING_KEY``.

    Tables whose times, or whose stations, do not overlap cannot share a key (hourly files;
    per-station archives) and are concatenated without comparing keys.
    """
    batch = pa.concat_tables(tables)
    if len(tables) == 1 or _disjoint(tables, "time") or _disjoint(tables, "station_id"):
        return batch
    return last_per_key(batch)


def last_per_key(table: pa.Table) -> pa.Table:
    """The last reading of each ``READING_KEY`` in ``table``, in table order."""
    keys = {c: plain_values(table[c]) for c in READING_KEY}
    rows = pa.table({**keys, "_row": pa.array(np.arange(table.num_rows))})
    last = rows.group_by(READING_KEY, use_threads=False).aggregate([("_row", "max")])
    if last.num_rows == table.num_rows:
        return table
    kept = last["_row_max"]
    return table.take(kept.take(pc.sort_indices(kept)))


def _disjoint(tables: Sequence[pa.Table], column: str) -> bool:
    """Whether no value of ``column`` occurs in more than one of ``tables``."""
    distinct = [distinct_values(t[column]) for t in tables]
    together = pa.chunked_array(distinct, type=distinct[0].type)
    return len(pc.unique(together)) == len(together)
