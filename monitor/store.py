"""The jointwatch store: readings in Parquet, stations / quarantine / ledger in SQL.

Everything else reads the monitoring data through :class:`Store`:
:meth:`Store.readings` (long pandas frame), :meth:`Store.dataset` (xarray,
station x time), :meth:`Store.stations`, :meth:`Store.quarantine`,
:meth:`Store.ledger` and :meth:`Store.latest_by_feed_region`.

Writes go through :meth:`Store.commit_batch`, which makes a batch of ingested files
durable in a crash-safe order: first the readings (atomic per day file, see
:mod:`monitor.partitions`), then -- in one SQL transaction -- the stations, the
quarantine and the ledger rows.  A process killed in between leaves readings whose
files are not yet in the ledger; the next run ingests those files again, and the
upsert on ``READING_KEY`` makes that a no-op for readings already there.

One writer at a time per data directory (:meth:`Store.writer_lock`, an ``flock`` on a
file in the data directory; readers need no lock).  Writers on several hosts sharing a
remote readings root are not coordinated by it.

The crash-safety tests stop a writer at named points (:mod:`monitor.crashpoints`).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import xarray as xr

from monitor.crashpoints import hold_point
from monitor.ledger import FeedLedger, LedgerEntry, StateDB
from monitor.partitions import ReadingPartitions, latest_per_key
from monitor.schema import (
    PARAMETERS,
    READING_COLUMNS,
    READING_SCHEMA,
    Flag,
)

#: SQLite file of the embedded store, inside the data directory.
STATE_FILE = "jointwatch.sqlite"
#: Flags included by default in reads: invalid values are kept but not used.
USABLE_FLAGS: tuple[str, ...] = (Flag.VALID.value, Flag.SUSPECT.value)
#: Station coordinates attached to :meth:`Store.dataset`.
DATASET_STATION_COORDS: tuple[str, ...] = ("name", "city", "region", "lon", "lat")

TimeLike = str | datetime | pd.Timestamp
_TIME_TYPE = READING_SCHEMA.field("time").type


@dataclass(frozen=True, slots=True)
class IngestedFile:
    """One input file version read by an adapter, ready to be committed.

    ``readings`` in :data:`monitor.schema.READING_TABLE_SCHEMA`, each key at most once.
    """

    entry: LedgerEntry
    readings: pa.Table
    quarantine: pd.DataFrame


def _utc(value: TimeLike) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


class Store:
    """The monitoring data store under one data directory.

    Parameters
    ----------
    data_dir
        Data directory (``monitor.config.data_dir()``); holds the SQLite file, the
        writer lock and, by default, the readings.
    readings_root
        Local folder or fsspec URL (``file://``, ``memory://``, ``s3://`` ...) of the
        Parquet readings; default ``<data_dir>/readings``.
    state_url
        SQLAlchemy URL of the state database; default the SQLite file in ``data_dir``.
    """

    def __init__(self, data_dir: Path | str, readings_root: str | None = None,
                 state_url: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.partitions = ReadingPartitions(readings_root or str(self.data_dir / "readings"))
        self.state = StateDB(state_url or f"sqlite:///{self.data_dir / STATE_FILE}")
        #: latest_by_station per (file, version, flags), see file_versions
        self._latest_memo: dict[tuple[object, ...], pa.Table] = {}

    # -- writing -----------------------------------------------------------------------------

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the data directory's exclusive writer lock (released even on SIGKILL)."""
        with (self.data_dir / ".writer.lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                self.partitions.remove_temporary_files()
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def feed_ledger(self, feed: str) -> FeedLedger:
        """Which file contents of ``feed`` are already ingested."""
        return self.state.feed_ledger(feed)

    def upsert_stations(self, stations: pd.DataFrame) -> None:
        """Insert or update station rows (``STATION_COLUMNS``)."""
        self.state.upsert_stations(stations)

    def commit_batch(self, files: Sequence[IngestedFile], stations: pd.DataFrame) -> int:
        """Make a batch of ingested files durable; return the number of readings written.

        Readings of later files supersede earlier ones with the same key, within the
        batch and against the store.  Order: readings (durable), then stations,
        quarantine and ledger in one transaction.
        """
        tables = [f.readings for f in files if f.readings.num_rows]
        written = 0
        if tables:
            batch = latest_per_key(tables)
            self.partitions.upsert(batch)
            written = batch.num_rows
        hold_point("ledger")
        self.state.commit_files([(f.entry, f.quarantine) for f in files], stations)
        return written

    # -- reading -----------------------------------------------------------------------------

    def stations(self, stations: str | Iterable[str] | None = None,
                 regions: str | Iterable[str] | None = None,
                 medium: str | None = None) -> pd.DataFrame:
        """The station table (``STATION_COLUMNS``), optionally filtered."""
        frame = self.state.stations(_as_list(stations))
        region_list = _as_list(regions)
        if region_list is not None:
            frame = frame[frame["region"].isin(region_list)]
        if medium is not None:
            frame = frame[frame["medium"] == medium]
        return frame.reset_index(drop=True)

    def quarantine(self, source: str | None = None, source_file: str | None = None
                   ) -> pd.DataFrame:
        """What was refused and why (``QUARANTINE_COLUMNS`` plus ``path``, ``ingested_at``)."""
        return self.state.quarantine(source, source_file)

    def ledger(self) -> pd.DataFrame:
        """One row per ingested file version: feed, path, sha256, size, time, counts."""
        return self.state.ledger()

    def readings_filter(self, stations: str | Iterable[str] | None = None,
                        regions: str | Iterable[str] | None = None,
                        parameters: str | Iterable[str] | None = None,
                        periods: str | Iterable[str] | None = None,
                        start: TimeLike | None = None, end: TimeLike | None = None,
                        flags: Iterable[str] | None = USABLE_FLAGS,
                        sources: str | Iterable[str] | None = None) -> ds.Expression | None:
        """The pyarrow filter of :meth:`readings` (with partition pruning on feed and month)."""
        station_list = _as_list(stations)
        if regions is not None:
            in_regions = self.stations(regions=regions)["station_id"].tolist()
            station_list = (in_regions if station_list is None
                            else [s for s in station_list if s in set(in_regions)])
        conditions: list[ds.Expression] = []
        for column, values in (("station_id", station_list),
                               ("parameter", _as_list(parameters)),
                               ("period", _as_list(periods)),
                               ("flag", _as_list(flags)),
                               ("feed", _as_list(sources))):
            if values is not None:
                conditions.append(ds.field(column).isin(values))
        if start is not None:
            t0 = _utc(start)
            conditions += [ds.field("month") >= t0.strftime("%Y-%m"),
                           ds.field("time") >= pa.scalar(t0.to_pydatetime(), _TIME_TYPE)]
        if end is not None:
            t1 = _utc(end)
            conditions += [ds.field("month") <= t1.strftime("%Y-%m"),
                           ds.field("time") <= pa.scalar(t1.to_pydatetime(), _TIME_TYPE)]
        if not conditions:
            return None
        combined = conditions[0]
        for condition in conditions[1:]:
            combined = combined & condition
        return combined

    def readings(self, stations: str | Iterable[str] | None = None,
                 regions: str | Iterable[str] | None = None,
                 parameters: str | Iterable[str] | None = None,
                 periods: str | Iterable[str] | None = None,
                 start: TimeLike | None = None, end: TimeLike | None = None,
                 flags: Iterable[str] | None = USABLE_FLAGS,
                 sources: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Readings as a long frame with the canonical columns (``READING_COLUMNS``).

        Parameters
        ----------
        stations, regions, parameters, periods, sources
            Keep only these (``None``: all).  ``regions`` selects the stations whose
            ``region`` in the station table is one of them.
        start, end
            Inclusive UTC bounds on ``time`` (naive values are taken as UTC).
        flags
            QC flags to include; default valid and suspect, ``None`` for all.

        Returns
        -------
        pandas.DataFrame
            Sorted by source, station, parameter, period, time.
        """
        expression = self.readings_filter(stations, regions, parameters, periods, start, end,
                                           flags, sources)
        table = self.partitions.open_dataset().to_table(columns=READING_COLUMNS,
                                                        filter=expression)
        table = table.sort_by([(c, "ascending") for c in
                               ("source", "station_id", "parameter", "period", "time")])
        return table.to_pandas().reset_index(drop=True)

    def dataset(self, stations: str | Iterable[str] | None = None,
                regions: str | Iterable[str] | None = None,
                parameters: str | Iterable[str] | None = None,
                period: str = "1h",
                start: TimeLike | None = None, end: TimeLike | None = None,
                flags: Iterable[str] | None = USABLE_FLAGS,
                sources: str | Iterable[str] | None = None) -> xr.Dataset:
        """Readings of one averaging period as an xarray Dataset (station x time).

        One variable per parameter (canonical unit in ``attrs["units"]``); ``time`` is
        UTC (naive datetime64, the times present in the selection); station
        coordinates ``name``, ``city``, ``region``, ``lon``, ``lat``.  Values not
        selected (e.g. invalid) are NaN.  When several sources report the same
        station, time and parameter, the first in ``sources`` wins (default: feed
        ids in alphabetical order).
        """
        frame = self.readings(stations, regions, parameters, [period], start, end, flags,
                              sources)
        source_order = _as_list(sources) or sorted(frame["source"].unique())
        rank = frame["source"].map({s: i for i, s in enumerate(source_order)})
        frame = (frame.assign(_rank=rank).sort_values("_rank", kind="stable")
                 .drop_duplicates(["station_id", "time", "parameter"], keep="first"))
        wide = frame.assign(time=frame["time"].dt.tz_localize(None)).pivot(
            index=["station_id", "time"], columns="parameter", values="value")
        wide.columns.name = None
        result = xr.Dataset.from_dataframe(wide).rename({"station_id": "station"})
        if result.sizes.get("station", 0) == 0:
            result = xr.Dataset(coords={"station": pd.Index([], dtype=object, name="station"),
                                        "time": pd.DatetimeIndex([], name="time")})
        meta = self.state.stations(result["station"].values.tolist()).set_index("station_id")
        meta = meta.reindex(result["station"].values)
        result = result.assign_coords(
            {c: ("station", meta[c].to_numpy()) for c in DATASET_STATION_COORDS})
        for name, variable in result.data_vars.items():
            spec = PARAMETERS[str(name)]
            variable.attrs.update(units=spec.unit, long_name=spec.long_name)
            if spec.standard_name:
                variable.attrs["standard_name"] = spec.standard_name
        result["time"].attrs["timezone"] = "UTC"
        result.attrs.update(period=period)
        return result

    def file_versions(self) -> dict[str, tuple[object, ...]]:
        """Every readings file with a token of its version (size, modification time).

        A rewrite replaces a file by renaming a new one over it, so the token changes
        whenever the file's readings may have changed; a long-running reader (the
        dashboard) uses it to know whether anything was written since it last looked.
        """
        fs = self.partitions.fs
        versions = {}
        for path in self.partitions.open_dataset().files:
            info = fs.info(path)
            versions[path] = (info.get("size"), info.get("mtime", info.get("LastModified",
                                                                          info.get("created"))))
        return versions

    def latest_by_station(self, flags: Iterable[str] | None = USABLE_FLAGS) -> pd.DataFrame:
        """Latest reading time per feed and station: source, station_id, time_max.

        Each file's maxima are kept with its :meth:`file_versions` token, so a repeated
        call reads only the files written since the previous one.
        """
        filter_ = None if flags is None else ds.field("flag").isin(list(flags))
        dataset = self.partitions.open_dataset()
        versions = self.file_versions()
        wanted = None if flags is None else tuple(sorted(flags))
        memo: dict[tuple[object, ...], pa.Table] = {}
        for fragment in dataset.get_fragments():
            version = versions.get(fragment.path, (None,))
            key = (fragment.path, version, wanted)
            part = self._latest_memo.get(key)
            if part is None or None in version:
                part = (fragment.to_table(columns=["source", "station_id", "time"],
                                          filter=filter_, schema=dataset.schema)
                        .group_by(["source", "station_id"]).aggregate([("time", "max")]))
            memo[key] = part
        self._latest_memo = memo
        if not memo:
            return pd.DataFrame({"source": pd.Series([], dtype=object),
                                 "station_id": pd.Series([], dtype=object),
                                 "time_max": pd.Series([], dtype="datetime64[s, UTC]")})
        combined = pa.concat_tables(memo.values()).group_by(["source", "station_id"]).aggregate(
            [("time_max", "max")])
        return combined.rename_columns(["source", "station_id", "time_max"]).to_pandas()

    def latest_by_feed_region(self, flags: Iterable[str] | None = USABLE_FLAGS) -> pd.DataFrame:
        """Latest reading time per feed and region: source, region, latest, stations.

        ``region`` is empty for stations without a region in the station table.
        """
        columns = ["source", "region", "latest", "stations"]
        per_station = self.latest_by_station(flags)
        if per_station.empty:
            return pd.DataFrame(columns=columns)
        regions = self.state.stations()[["station_id", "region"]]
        per_station = per_station.merge(regions, on="station_id", how="left")
        per_station["region"] = per_station["region"].fillna("")
        grouped = per_station.groupby(["source", "region"], as_index=False).agg(
            latest=("time_max", "max"), stations=("station_id", "nunique"))
        return grouped[columns].sort_values(["source", "region"]).reset_index(drop=True)
