"""The store's state tables: station table, quarantine and ingest ledger (one SQL database).

The embedded default is one SQLite file (``jointwatch.sqlite`` in the data directory);
any SQLAlchemy URL (e.g. PostgreSQL) works unchanged, because only portable SQL is
used (no dialect-specific upserts: a station upsert deletes and re-inserts its rows
inside the same transaction).

The ledger has one row per ingested file version.  A file is skipped when its content
hash is the latest one recorded for its path, or when the same content was already
ingested for the feed under another path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from monitor.schema import QUARANTINE_COLUMNS, STATION_COLUMNS

_meta = sa.MetaData()

STATIONS = sa.Table(
    "stations", _meta,
    sa.Column("station_id", sa.String, primary_key=True),
    sa.Column("name", sa.String), sa.Column("name_en", sa.String),
    sa.Column("region", sa.String, index=True), sa.Column("city", sa.String),
    sa.Column("lon", sa.Float), sa.Column("lat", sa.Float),
    sa.Column("medium", sa.String, nullable=False),
    sa.Column("basin", sa.String), sa.Column("water_body", sa.String),
    sa.Column("target_class", sa.Integer),
    sa.Column("upstream_region", sa.String), sa.Column("downstream_region", sa.String),
    sa.Column("source", sa.String),
)

QUARANTINE = sa.Table(
    "quarantine", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("source_file", sa.String, nullable=False),
    sa.Column("source_row", sa.BigInteger, nullable=False),
    sa.Column("field", sa.String), sa.Column("reason", sa.String, nullable=False),
    sa.Column("raw", sa.String),
    #: The input file as the ledger names it (replaced when a corrected version arrives).
    sa.Column("path", sa.String, nullable=False),
    sa.Column("ingested_at", sa.String, nullable=False),
    sa.Index("ix_quarantine_file", "source", "path"),
)

LEDGER = sa.Table(
    "ingest_ledger", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feed", sa.String, nullable=False),
    sa.Column("path", sa.String, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("ingested_at", sa.String, nullable=False),
    sa.Column("records", sa.BigInteger, nullable=False),
    sa.Column("stored", sa.BigInteger, nullable=False),
    sa.Column("quarantined", sa.BigInteger, nullable=False),
    sa.Column("duplicates", sa.BigInteger, nullable=False),
    sa.Column("readings", sa.BigInteger, nullable=False),
    sa.Index("ix_ledger_feed_hash", "feed", "sha256"),
    sa.Index("ix_ledger_feed_path", "feed", "path"),
)

LEDGER_COLUMNS: list[str] = [c.name for c in LEDGER.columns if c.name != "id"]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """The ledger row of one ingested file version (counts in records, see ``ingest.base``)."""

    feed: str
    path: str
    sha256: str
    size: int
    records: int
    stored: int
    quarantined: int
    duplicates: int
    readings: int


@dataclass(frozen=True, slots=True)
class FeedLedger:
    """What the ledger knows about one feed, for deciding which files to skip."""

    latest_hash_by_path: dict[str, str]
    hashes: frozenset[str]

    def already_ingested(self, path: str, sha256: str) -> bool:
        """True if this content was ingested: as the path's latest version or another path's."""
        latest = self.latest_hash_by_path.get(path)
        if latest is not None:
            return latest == sha256
        return sha256 in self.hashes


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as dicts with missing values as ``None`` and numpy scalars as Python scalars."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in clean.to_dict(orient="records")]


class StateDB:
    """Station table, quarantine and ingest ledger in one SQL database.

    Parameters
    ----------
    url
        SQLAlchemy database URL, e.g. ``sqlite:////var/jointwatch/jointwatch.sqlite``.
    """

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        _meta.create_all(self.engine)

    # -- reading -----------------------------------------------------------------------------

    def stations(self, station_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """The station table (``STATION_COLUMNS``), optionally only the given ids."""
        query = sa.select(STATIONS).order_by(STATIONS.c.station_id)
        if station_ids is not None:
            query = query.where(STATIONS.c.station_id.in_(list(station_ids)))
        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        return frame.reindex(columns=STATION_COLUMNS).astype({"lon": "float64", "lat": "float64"})

    def quarantine(self, source: str | None = None, source_file: str | None = None
                   ) -> pd.DataFrame:
        """Quarantined records (``QUARANTINE_COLUMNS`` plus ``path`` and ``ingested_at``)."""
        query = sa.select(*[QUARANTINE.c[c] for c in [*QUARANTINE_COLUMNS, "path", "ingested_at"]])
        if source is not None:
            query = query.where(QUARANTINE.c.source == source)
        if source_file is not None:
            query = query.where(sa.or_(QUARANTINE.c.source_file == source_file,
                                       QUARANTINE.c.path == source_file))
        query = query.order_by(QUARANTINE.c.source, QUARANTINE.c.path, QUARANTINE.c.source_row)
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def ledger(self, feed: str | None = None) -> pd.DataFrame:
        """All ledger rows in ingest order (``LEDGER_COLUMNS``)."""
        query = sa.select(*[LEDGER.c[c] for c in LEDGER_COLUMNS]).order_by(LEDGER.c.id)
        if feed is not None:
            query = query.where(LEDGER.c.feed == feed)
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def feed_ledger(self, feed: str) -> FeedLedger:
        """The hashes already ingested for ``feed``."""
        rows = self.ledger(feed)
        latest = rows.groupby("path")["sha256"].last().to_dict() if not rows.empty else {}
        return FeedLedger(latest_hash_by_path=latest, hashes=frozenset(rows["sha256"]))

    # -- writing -----------------------------------------------------------------------------

    def upsert_stations(self, frame: pd.DataFrame, conn: sa.Connection | None = None) -> None:
        """Insert or update stations; a known value is kept when the new one is missing."""
        if frame.empty:
            return
        if conn is None:
            with self.engine.begin() as own:
                self.upsert_stations(frame, own)
            return
        incoming = (frame.reindex(columns=STATION_COLUMNS)
                    .drop_duplicates("station_id", keep="last").set_index("station_id"))
        ids = incoming.index.tolist()
        existing = pd.read_sql(sa.select(STATIONS).where(STATIONS.c.station_id.in_(ids)), conn)
        merged = incoming.combine_first(existing.set_index("station_id")).reset_index()
        conn.execute(STATIONS.delete().where(STATIONS.c.station_id.in_(ids)))
        conn.execute(STATIONS.insert(), _records(merged.reindex(columns=STATION_COLUMNS)))

    def commit_files(self, files: Sequence[tuple[LedgerEntry, pd.DataFrame]],
                     stations: pd.DataFrame) -> None:
        """Record ingested files in ONE transaction: stations, quarantine, ledger rows.

        Each file's earlier quarantine rows (same feed and path) are replaced by its
        new ones.  Call only once the files' readings are durable in the Parquet store.
        """
        now = _utc_now()
        with self.engine.begin() as conn:
            self.upsert_stations(stations, conn)
            for entry, quarantined in files:
                conn.execute(QUARANTINE.delete().where(
                    (QUARANTINE.c.source == entry.feed) & (QUARANTINE.c.path == entry.path)))
                if not quarantined.empty:
                    rows = quarantined.reindex(columns=QUARANTINE_COLUMNS).assign(
                        path=entry.path, ingested_at=now)
                    conn.execute(QUARANTINE.insert(), _records(rows))
                conn.execute(LEDGER.insert(), [{**asdict(entry), "ingested_at": now}])
