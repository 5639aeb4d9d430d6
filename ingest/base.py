"""The contract every feed adapter fulfils.

An adapter is a module ``ingest/<name>.py`` exposing::

    def read(path: Path, feed: Feed, ctx: IngestContext) -> FileResult

It turns one input file into canonical readings (``monitor.schema.READING_COLUMNS``, as
a pandas frame or as an Arrow table in ``READING_TABLE_SCHEMA``: readings go on to the
store as Arrow, so an adapter that builds them in Arrow skips pandas altogether)
plus the records it could not take (``QUARANTINE_COLUMNS``), never raising on bad
content (a file it cannot read at all becomes one quarantine record with
``source_row = 0``).

Accounting unit: the *record*.  A record is one data row of the input file, except
for files wide by station (one column per station), where a record is one
(row, station column) cell.  Every record ends in exactly one of three places:

* stored: it produced one or more readings (missing or bad *values* inside a good
  record are kept as readings with ``flag = invalid`` and a reason, not dropped);
* quarantined: it could not be turned into readings (bad timestamp, unknown
  station, wrong field count, undecodable bytes, repeated header ...);
* duplicate: it repeats an earlier record of the same file (same key).

``FileResult.check()`` enforces ``records == stored + quarantined + duplicates``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd
import pyarrow as pa

from monitor.config import AppConfig, Feed
from monitor.schema import (
    QUARANTINE_COLUMNS,
    READING_COLUMNS,
    STATION_COLUMNS,
    reading_table,
)


class AccountingError(RuntimeError):
    """The records of a file do not add up: a bug, never silently ignored."""


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


# Built once: a FileResult gets copies (building a frame is ~100x slower than copying it).
_EMPTY_READINGS = _empty(READING_COLUMNS)
_EMPTY_QUARANTINE = _empty(QUARANTINE_COLUMNS)
_EMPTY_STATIONS = _empty(STATION_COLUMNS)


def empty_readings() -> pd.DataFrame:
    return _EMPTY_READINGS.copy()


def empty_quarantine() -> pd.DataFrame:
    return _EMPTY_QUARANTINE.copy()


def empty_stations() -> pd.DataFrame:
    return _EMPTY_STATIONS.copy()


@dataclass
class IngestContext:
    """What an adapter may need beyond its file: the configuration and the known stations."""

    config: AppConfig
    #: The station table known so far (STATION_COLUMNS), for matching by name and city.
    stations: pd.DataFrame = field(default_factory=empty_stations)
    #: Recent readings of the feed's files read before this one in the same run
    #: (:func:`ingest.qc.stuck_history`): the ``stuck`` check continues across hourly files.
    history: pd.DataFrame | None = None


class FileResult:
    """Outcome of reading one file.

    The readings may be given as a pandas frame or as an Arrow table (an adapter that
    builds them in Arrow never pays for pandas); :attr:`readings` is the frame and
    :attr:`table` the Arrow table (:data:`monitor.schema.READING_TABLE_SCHEMA`), each
    converted from the other once, when first asked for.
    """

    def __init__(self, path: Path, records: int,
                 readings: pd.DataFrame | pa.Table | None = None,
                 quarantine: pd.DataFrame | None = None,
                 stations: pd.DataFrame | None = None,
                 duplicates: int = 0, notes: list[str] | None = None,
                 unique_keys: bool = False) -> None:
        self.path, self.records, self.duplicates = path, records, duplicates
        #: The adapter guarantees each ``READING_KEY`` at most once (else the pipeline
        #: keeps the last reading of a repeated key).
        self.unique_keys = unique_keys
        self._frame = readings if isinstance(readings, pd.DataFrame) else None
        self._table = readings if isinstance(readings, pa.Table) else None
        self._stored: int | None = None
        if readings is None:
            self._frame = empty_readings()
        self.quarantine = empty_quarantine() if quarantine is None else quarantine
        #: Station metadata discovered in the file (STATION_COLUMNS), may be empty.
        self.stations = empty_stations() if stations is None else stations
        #: Remarks for the ingest summary (empty file, line-by-line fallback ...).
        self.notes = [] if notes is None else notes

    @property
    def readings(self) -> pd.DataFrame:
        """The readings as a frame (``READING_COLUMNS``; text columns Categoricals)."""
        if self._frame is None:
            assert self._table is not None
            frame = self._table.to_pandas()
            # flag_reason as plain text (object), as adapters building frames give it
            frame["flag_reason"] = frame["flag_reason"].astype(object)
            self._frame = frame
        return self._frame

    @property
    def table(self) -> pa.Table:
        """The readings as an Arrow table in ``READING_TABLE_SCHEMA``."""
        if self._table is None:
            self._table = reading_table(self.readings)
        return self._table

    @property
    def stored_records(self) -> int:
        """Records that produced readings: distinct (source row, station) of the readings."""
        if self._stored is None:
            table = self.table
            if table.num_rows == 0:
                self._stored = 0
            else:
                stations = table.select(["station_id"]).unify_dictionaries()[
                    "station_id"].combine_chunks()
                key = table["source_row"].to_numpy() * (len(stations.dictionary) + 1) + (
                    stations.indices.to_numpy(zero_copy_only=False))
                self._stored = len(pd.unique(key))
        return self._stored

    @property
    def quarantined_records(self) -> int:
        return len(self.quarantine)

    def check(self) -> FileResult:
        """Raise :class:`AccountingError` unless every record is accounted for."""
        total = self.stored_records + self.quarantined_records + self.duplicates
        if total != self.records:
            raise AccountingError(
                f"{self.path}: {self.records} records read but {self.stored_records} stored "
                f"+ {self.quarantined_records} quarantined + {self.duplicates} duplicates "
                f"= {total}"
            )
        return self


class Adapter(Protocol):
    def __call__(self, path: Path, feed: Feed, ctx: IngestContext) -> FileResult: ...


def adapter_for(feed: Feed) -> Adapter:
    """The ``read`` function of the adapter named by ``feed.adapter``.

    A plain name is a module of this package (``ingest.<name>``); a dotted name is a
    full module path, so a deployment can add an adapter without touching jointwatch.
    """
    name = feed.adapter if "." in feed.adapter else f"ingest.{feed.adapter}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError:
        raise ValueError(f"feed {feed.id!r}: unknown adapter {feed.adapter!r}") from None
    return module.read
