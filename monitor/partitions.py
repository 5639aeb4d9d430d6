"""The readings as a hive-partitioned Parquet dataset, with crash-safe upserts.

Layout under the readings root (a local folder or any fsspec URL, e.g. ``memory://``)::

    feed=<feed id>/month=<YYYY-MM>/part-<YYYY-MM-DD>.parquet

Every file holds exactly the columns of :data:`monitor.schema.READING_SCHEMA`
(``feed`` and ``month`` exist only as directory names, so pyarrow.dataset and
dask.dataframe.read_parquet read the root as it is).  Parquet has no second
resolution, so ``time`` is stored as milliseconds; :func:`open_dataset` casts it
back to the canonical schema.

One file per feed and UTC day: a reading's key (``READING_KEY``) determines its
file, so an upsert rewrites only the day files it touches.  Each rewrite writes a
hidden temporary file (``.part-*.tmp``, ignored by dataset readers), flushes it to
disk and renames it over the old file, so a reader sees the old or the new day,
never a half-written one.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import uuid

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from monitor.crashpoints import hold_point
from monitor.schema import READING_KEY, READING_SCHEMA

#: Partition fields (directory names), in order.
PARTITION_SCHEMA = pa.schema([pa.field("feed", pa.string()), pa.field("month", pa.string())])
#: Schema of the dataset as read: the canonical columns plus the partition fields.
DATASET_SCHEMA = pa.schema(list(READING_SCHEMA) + list(PARTITION_SCHEMA))
_SECONDS_PER_DAY = 86_400
_EPOCH = pd.Timestamp(0)
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

    def day_file(self, feed: str, day: str) -> str:
        """Path of the file holding ``feed``'s readings of UTC day ``day`` (YYYY-MM-DD)."""
        return posixpath.join(self.root, f"feed={feed}", f"month={day[:7]}", f"part-{day}.parquet")

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

        ``readings`` must follow :data:`READING_SCHEMA` and hold each key at most once.
        Each touched day file is read, anti-joined on ``READING_KEY`` with the new
        readings, concatenated with them and atomically replaced.

        Returns
        -------
        int
            Number of day files rewritten.
        """
        if readings.num_rows == 0:
            return 0
        seconds = readings["time"].cast(pa.int64()).to_numpy()
        rows = pd.DataFrame({"source": readings["source"].to_numpy(),
                             "day": seconds // _SECONDS_PER_DAY})
        targets = rows.groupby(["source", "day"], sort=True).indices
        for (source, day), positions in targets.items():
            date = (_EPOCH + pd.Timedelta(days=int(day))).strftime("%Y-%m-%d")
            self._merge_day_file(self.day_file(source, date), readings.take(positions))
        return len(targets)

    def _merge_day_file(self, path: str, new: pa.Table) -> None:
        if self.fs.exists(path):
            old = pq.read_table(path, filesystem=self.arrow_filesystem).cast(READING_SCHEMA)
            kept = old.join(new.select(READING_KEY), keys=READING_KEY, join_type="left anti")
            merged = pa.concat_tables([kept.select(READING_SCHEMA.names).cast(READING_SCHEMA), new])
        else:
            merged = new
        self._write_atomic(merged, path)

    def _write_atomic(self, table: pa.Table, path: str) -> None:
        folder = posixpath.dirname(path)
        self.fs.makedirs(folder, exist_ok=True)
        temp = posixpath.join(
            folder, f"{_TEMP_PREFIX}{posixpath.basename(path)}.{uuid.uuid4().hex}{_TEMP_SUFFIX}")
        with self.fs.open(temp, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
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
