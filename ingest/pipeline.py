"""The ingest pipeline: configured feeds -> adapters -> store, with enforced accounting.

For each feed, :func:`run_ingest` lists its files, skips those whose content the
ledger already holds, reads the others with the feed's adapter, checks that every
record is accounted for (``records == stored + quarantined + duplicates``), merges
the stations the adapter discovered into the station table, and commits the files
to the store in bounded batches (several files per Parquet merge).

Also the CLI commands ``ingest``, ``stations``, ``quarantine`` and ``status``
(wired in :mod:`monitor.cli`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.base import AccountingError, FileResult, IngestContext, adapter_for
from ingest.qc import DEFAULT_STUCK_HOURS, run_readings, stuck_history
from ingest.stations import (
    load_reference_stations,
    station_updates,
    unlisted_stations,
    with_regions,
)
from monitor.config import AppConfig, ConfigError, Feed, data_dir
from monitor.ledger import LedgerEntry
from monitor.partitions import last_per_key
from monitor.schema import (
    PARAMETERS,
    PERIODS,
    READING_SCHEMA,
    STATION_COLUMNS,
    Flag,
    distinct_values,
    plain_values,
)
from monitor.store import IngestedFile, Store
from monitor.store_config import open_store

log = logging.getLogger(__name__)

#: ``status`` row of the stations in regions that are not configured.
OTHER_REGION = "other"
#: Readings collected before a batch is merged into the Parquet store.
DEFAULT_BATCH_READINGS = 300_000


@dataclass
class FeedCounts:
    """Counts of one feed (or the total) in one run; ``rows_read`` counts records."""

    rows_read: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    files: int = 0
    files_skipped: int = 0
    readings: int = 0

    def add(self, other: FeedCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def check(self, what: str) -> None:
        """Raise :class:`AccountingError` unless rows_read = stored + quarantined + duplicates."""
        total = self.stored + self.quarantined + self.duplicates
        if total != self.rows_read:
            raise AccountingError(
                f"{what}: {self.rows_read} records read but {self.stored} stored + "
                f"{self.quarantined} quarantined + {self.duplicates} duplicates = {total}")


@dataclass
class IngestSummary:
    """Per-feed counts of a run, in feed order."""

    feeds: dict[str, FeedCounts] = field(default_factory=dict)

    @property
    def total(self) -> FeedCounts:
        total = FeedCounts()
        for counts in self.feeds.values():
            total.add(counts)
        return total

    def to_dict(self) -> dict[str, dict[str, object]]:
        """``{"feeds": {feed id: counts}, "total": counts}`` (the ``--json`` output)."""
        return {"feeds": {k: asdict(v) for k, v in self.feeds.items()},
                "total": asdict(self.total)}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's content (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def validate_readings(table: pa.Table, feed: Feed, path: Path) -> None:
    """Check an adapter's readings (Arrow, ``READING_TABLE_SCHEMA``) against the canonical
    vocabulary: no missing required field, known parameters, periods and flags, the feed's
    own source id.

    Raises
    ------
    ValueError
        naming the file, the source row and the field of the first bad reading.
    """
    allowed: dict[str, tuple[set[str], str]] = {
        "parameter": (set(PARAMETERS), "is not a canonical parameter"),
        "period": (set(PERIODS), "is not a known averaging period"),
        "flag": ({f.value for f in Flag}, "is not a QC flag"),
        "source": ({feed.id}, f"is not the feed id {feed.id!r}"),
    }
    for spec in READING_SCHEMA:
        column = table[spec.name]
        if not spec.nullable and column.null_count:
            _bad_row(table, pc.is_null(column), spec.name, "is missing", path)
        if spec.name in allowed:
            values, problem = allowed[spec.name]
            present = set(distinct_values(column).to_pylist())
            if not present <= values:
                bad = pc.invert(pc.is_in(plain_values(column), value_set=pa.array(
                    sorted(values))))
                _bad_row(table, bad, spec.name, problem, path)


def _bad_row(table: pa.Table, bad: pa.ChunkedArray, column: str, problem: str,
             path: Path) -> None:
    row = table.filter(bad).slice(0, 1).to_pylist()[0]
    raise ValueError(f"{path}: row {row['source_row']}: field {column!r} {problem} "
                     f"(value {row[column]!r})")


class _BatchWriter:
    """Collects ingested files and commits them in bounded batches."""

    def __init__(self, store: Store, limit: int) -> None:
        self.store, self.limit = store, limit
        self.files: list[IngestedFile] = []
        self.stations: list[pd.DataFrame] = []
        self.pending = 0

    def add(self, ingested: IngestedFile, stations: pd.DataFrame) -> None:
        self.files.append(ingested)
        if not stations.empty:
            self.stations.append(stations)
        self.pending += ingested.readings.num_rows
        if self.pending >= self.limit:
            self.flush()

    def flush(self) -> None:
        """Commit the collected files (taken out first: a failed commit is not retried here;
        its files are not in the ledger, so the next run ingests them again)."""
        files, stations, pending = self.files, self.stations, self.pending
        self.files, self.stations, self.pending = [], [], 0
        if not files:
            return
        self.store.commit_batch(files, pd.concat(stations, ignore_index=True) if stations
                                else pd.DataFrame(columns=STATION_COLUMNS))
        log.info("committed %d files, %d readings", len(files), pending)


def known_stations(known: pd.DataFrame, updates: pd.DataFrame) -> pd.DataFrame:
    """``known`` with ``updates`` (from :func:`ingest.stations.station_updates`) applied:
    their non-missing values win."""
    if updates.empty:
        return known
    merged = updates.set_index("station_id").combine_first(known.set_index("station_id"))
    return merged.reset_index().reindex(columns=STATION_COLUMNS)


def _read_file(path: Path, feed: Feed, ctx: IngestContext) -> FileResult:
    result = adapter_for(feed)(path, feed, ctx)
    try:
        table = result.table
    except KeyError as exc:
        raise ValueError(f"{path}: adapter {feed.adapter!r} returned readings without "
                         f"column {exc}") from None
    validate_readings(table, feed, path)
    result.check()
    bad_source = result.quarantine["source"] != feed.id
    if bad_source.any():
        raise ValueError(f"{path}: quarantine rows must have source {feed.id!r}, "
                         f"got {result.quarantine.loc[bad_source, 'source'].iloc[0]!r}")
    return result


def read_for_commit(path: Path, sha256: str, feed: Feed, ctx: IngestContext
                    ) -> tuple[IngestedFile, pd.DataFrame]:
    """Read one file with its feed's adapter: the file ready to commit, and the station
    metadata the adapter found in it (see :func:`stations_brought`).

    Used by :func:`run_ingest` and by the dask tasks of :mod:`ingest.backfill`.
    """
    result = _read_file(path, feed, ctx)
    table = result.table
    entry = LedgerEntry(
        feed=feed.id, path=str(path), sha256=sha256, size=path.stat().st_size,
        records=result.records, stored=result.stored_records,
        quarantined=result.quarantined_records, duplicates=result.duplicates,
        readings=table.num_rows)
    ingested = IngestedFile(entry, table if result.unique_keys else last_per_key(table),
                            result.quarantine)
    return ingested, result.stations


def stations_brought(files: Sequence[IngestedFile], discovered: Sequence[pd.DataFrame],
                     ctx: IngestContext, feed: Feed) -> pd.DataFrame:
    """The station rows that files of ``feed`` bring (STATION_COLUMNS), regions filled.

    The adapters' metadata (``discovered``, one frame per file, later files' non-missing
    values winning), plus a minimal row for each station of the readings that neither
    it nor ``ctx.stations`` lists.  Hourly files mostly repeat one station list (often
    the very same frame): it is taken once.
    """
    frames = list({id(f): f for f in discovered if not f.empty}.values())
    if len(frames) > 1:
        merged = pd.concat(frames, ignore_index=True).reindex(columns=STATION_COLUMNS)
        meta = merged.groupby("station_id", sort=False).last().reset_index()
    else:
        meta = frames[0] if frames else pd.DataFrame(columns=STATION_COLUMNS)
    meta = meta.reindex(columns=STATION_COLUMNS)
    tables = [f.readings for f in files if f.readings.num_rows]
    if tables:
        known = pd.concat([meta["station_id"], ctx.stations["station_id"]])
        unlisted = unlisted_stations(pa.concat_tables(tables), known, feed)
        if len(unlisted):
            meta = pd.concat([meta, unlisted], ignore_index=True)
    return with_regions(meta, ctx.config, feed.region)


def run_ingest(config: AppConfig, store: Store, feed_ids: Iterable[str] | None = None,
               batch_readings: int = DEFAULT_BATCH_READINGS) -> IngestSummary:
    """Ingest the configured feeds (all, or ``feed_ids``) into ``store``.

    Files already in the ledger are skipped; a corrected file (same path, new content)
    supersedes its earlier readings per key and replaces its earlier quarantine rows.
    When a file fails (error below), the files read before it are still committed.

    Raises
    ------
    ValueError
        for an unknown feed id, or readings that break the canonical schema.
    AccountingError
        when the records of a file or feed do not add up.
    """
    wanted = list(feed_ids) if feed_ids else list(config.feeds)
    unknown = [f for f in wanted if f not in config.feeds]
    if unknown:
        raise ValueError(f"unknown feed(s) {', '.join(unknown)}; configured: "
                         f"{', '.join(config.feeds) or '(none)'}")
    summary = IngestSummary()
    with store.writer_lock():
        known = store.stations()
        reference = station_updates(known, load_reference_stations(config))
        if not reference.empty:
            store.upsert_stations(reference)
            known = store.stations()
        ctx = IngestContext(config=config, stations=known)
        writer = _BatchWriter(store, batch_readings)
        try:
            for feed_id in wanted:
                summary.feeds[feed_id] = _ingest_feed(config.feeds[feed_id], store, ctx, writer)
        finally:
            writer.flush()
    summary.total.check("all feeds")
    return summary


def _ingest_feed(feed: Feed, store: Store, ctx: IngestContext, writer: _BatchWriter
                 ) -> FeedCounts:
    """Read the feed's new files into ``writer``; return the feed's counts."""
    counts = FeedCounts()
    ledger = store.feed_ledger(feed.id)
    ctx.history = None  # stuck runs continue across this feed's files (sorted by path)
    keep = int(feed.options.get("stuck_hours", DEFAULT_STUCK_HOURS)) - 1
    for path in ctx.config.feed_files(feed):
        sha = file_sha256(path)
        if ledger.already_ingested(str(path), sha):
            counts.files_skipped += 1
            continue
        ingested, discovered = read_for_commit(path, sha, feed, ctx)
        ctx.history = stuck_history(run_readings(ingested.readings), ctx.history, keep)
        updates = station_updates(ctx.stations, stations_brought([ingested], [discovered],
                                                                 ctx, feed))
        ctx.stations = known_stations(ctx.stations, updates)
        writer.add(ingested, updates)
        entry = ingested.entry
        counts.add(FeedCounts(rows_read=entry.records, stored=entry.stored,
                              quarantined=entry.quarantined, duplicates=entry.duplicates,
                              files=1, readings=entry.readings))
    counts.check(f"feed {feed.id}")
    return counts


# -- CLI commands (see monitor.cli) -----------------------------------------------------------


def _open_store(args: argparse.Namespace, config: AppConfig) -> Store:
    return open_store(config, data_dir(args.data_dir))


def _print_frame(frame: pd.DataFrame, as_json: bool, empty_message: str) -> None:
    if as_json:
        print(frame.to_json(orient="records", force_ascii=False, date_format="iso"))
    elif frame.empty:
        print(empty_message)
    else:
        print(frame.to_string(index=False))


def cli_ingest(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch ingest [FEED ...] [--json]``: ingest and print per-feed and total counts."""
    try:
        if args.backfill or args.dask_scheduler:
            from ingest.backfill import backfill_from_args  # imports dask only when asked

            summary = backfill_from_args(args, config, _open_store(args, config))
        else:
            summary = run_ingest(config, _open_store(args, config), args.feeds or None)
    except ConfigError:
        raise
    except (ValueError, AccountingError) as exc:
        print(f"jointwatch ingest: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary.to_dict()))
        return 0
    rows = {**{k: asdict(v) for k, v in summary.feeds.items()}, "total": asdict(summary.total)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "feed"
    print(table.reset_index().to_string(index=False))
    return 0


def cli_stations(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch stations [--json]``: the station table."""
    _print_frame(_open_store(args, config).stations(), args.json, "no stations yet (run ingest)")
    return 0


def cli_quarantine(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch quarantine [--json]``: refused records (file, row, field, reason, raw)."""
    frame = _open_store(args, config).quarantine()[
        ["source", "source_file", "source_row", "field", "reason", "raw"]]
    if not args.json:
        frame = frame.rename(columns={"source": "feed", "source_file": "file",
                                      "source_row": "row"})
    _print_frame(frame, args.json, "nothing quarantined")
    return 0


def feed_status(config: AppConfig, store: Store, now: pd.Timestamp) -> pd.DataFrame:
    """Latest reading per configured feed and region, with ``stale`` marked.

    A feed/region is stale when its latest reading is older than the feed's
    ``expected_interval`` before ``now``, or when the feed has no reading at all.
    Stations of regions that are not configured count under ``"other"``; stations
    without a region under ``""``.
    """
    latest = store.latest_by_feed_region()
    latest = latest[latest["source"].isin(config.feeds)]
    known = latest["region"].isin(config.regions) | (latest["region"] == "")
    latest = (latest.assign(region=latest["region"].where(known, OTHER_REGION))
              .groupby(["source", "region"], as_index=False)
              .agg(latest=("latest", "max"), stations=("stations", "sum")))
    silent = [f for f in config.feeds if f not in set(latest["source"])]
    frame = pd.concat([latest, pd.DataFrame({"source": silent, "region": ""})],
                      ignore_index=True).astype({"stations": "Int64"})
    interval = frame["source"].map(lambda f: pd.Timedelta(config.feeds[f].expected_interval))
    frame["age"] = (now - pd.to_datetime(frame["latest"], utc=True)).dt.floor("min")
    frame["stale"] = frame["latest"].isna() | (frame["age"] > interval)
    return frame.rename(columns={"source": "feed"})[
        ["feed", "region", "latest", "stations", "age", "stale"]]


def cli_status(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch status [--now TIME] [--json]``: freshness per feed and region."""
    now = pd.Timestamp(args.now) if args.now else pd.Timestamp.now("UTC")
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    frame = feed_status(config, _open_store(args, config), now)
    if args.json:
        seconds = frame["age"].map(lambda a: None if pd.isna(a) else a.total_seconds())
        frame = frame.drop(columns="age").assign(age_seconds=seconds)
    else:
        frame = frame.assign(stale=frame["stale"].map({True: "STALE", False: ""}))
    _print_frame(frame, args.json, "no feeds configured")
    return 0
