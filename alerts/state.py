"""Alert state in SQL (SQLAlchemy Core): issuances, their notices (the outbox), attempts.

SQLite by default (``alerts.sqlite`` in the data directory); any SQLAlchemy URL in
``[state] url`` (for example PostgreSQL) works unchanged.  Times are stored in UTC
and come back timezone-aware.

Tables
------
``issuances``
    one row per issuance: kind (new / escalate / de-escalate / lift), level, the
    issuance it replaces, regions with their city levels, measures, evidence,
    effective and expiry times, confirmation status.
``notices``
    one row per (issuance, region), written in the same transaction as the
    issuance: recipients, the complete RFC 5322 message (so a resend is byte for
    byte the same, with the same Message-ID), delivery status, attempts, server
    reply, delivery time.
``attempts``
    one row per SMTP attempt of a notice, with its outcome.
``consultations``
    one row per consultation (scheduled or by hand) and what it decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator

from monitor.warning_grades import Grade


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as naive UTC (portable across SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the alert state; use UTC-aware times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class IssuanceKind(StrEnum):
    """What an issuance does relative to the one in force."""

    NEW = "new"
    ESCALATE = "escalate"
    DEESCALATE = "de-escalate"
    LIFT = "lift"


class IssuanceStatus(StrEnum):
    PENDING = "pending"  # waiting for the coordinating centre's confirmation
    CONFIRMED = "confirmed"  # in force (its notices are being / have been sent)
    SUPERSEDED = "superseded"  # a pending issuance replaced before confirmation
    OVERRIDDEN = "overridden"  # a pending issuance replaced by a manual decision


class NoticeStatus(StrEnum):
    HELD = "held"  # issuance pending confirmation
    QUEUED = "queued"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a sender; the outcome is not recorded yet
    SENT = "sent"  # the server accepted it (reply and time recorded)
    FAILED = "failed"  # permanent refusal or attempts exhausted
    CANCELLED = "cancelled"  # its issuance was superseded / overridden before sending


metadata = MetaData()

issuances = Table(
    "issuances",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("level", String(16), nullable=False),
    Column("previous_id", String(64), ForeignKey("issuances.id")),
    Column("status", String(16), nullable=False),
    Column("regions", JSON, nullable=False),
    Column("city_levels", JSON, nullable=False),
    Column("measures", JSON, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("effective_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("auto_confirm_at", UTCDateTime),
    Column("confirmed_at", UTCDateTime),
    Column("confirmed_by", String(128)),
    Column("note", Text),
)

notices = Table(
    "notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("issuance_id", String(64), ForeignKey("issuances.id"), nullable=False),
    Column("region", String(64), nullable=False),
    Column("message_id", String(255), nullable=False, unique=True),
    Column("recipients", JSON, nullable=False),
    Column("message", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("claimed_by", String(128)),
    Column("claimed_at", UTCDateTime),
    Column("smtp_reply", Text),
    Column("last_error", Text),
    Column("delivered_at", UTCDateTime),
    UniqueConstraint("issuance_id", "region", name="one_notice_per_region"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notice_id", Integer, ForeignKey("notices.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    #: sent / retry / failed / interrupted; NULL while the attempt is in flight.
    Column("outcome", String(16)),
    Column("detail", Text),
    Column("resend", Boolean, nullable=False, default=False),
)

consultations = Table(
    "consultations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_at", UTCDateTime, nullable=False),
    Column("trigger", String(16), nullable=False),  # manual / scheduled / override
    Column("level", String(16)),
    Column("regions", JSON),
    #: issued / unchanged / awaiting-confirmation / no-decision / error
    Column("outcome", String(32), nullable=False),
    Column("issuance_id", String(64), ForeignKey("issuances.id")),
    Column("detail", Text),
)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun by _sqlite_begin
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # Take the write lock at the start, so two consultations (scheduler and CLI) or two
    # senders claiming notices are serialized instead of failing half-way.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_state(url: str) -> Engine:
    """Connect to the alert state at ``url`` and create missing tables (and SQLite's folder).

    SQLite files get WAL journaling with ``synchronous=FULL`` (a committed
    "sending" or "sent" mark survives a crash), a busy timeout, and every
    transaction starts with ``BEGIN IMMEDIATE``, so the scheduler, a sender and the
    CLI can share one file and their read-then-write steps never interleave.
    """
    is_sqlite = url.startswith("sqlite")
    database = make_url(url).database
    if is_sqlite and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30} if is_sqlite else {})
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    metadata.create_all(engine)
    return engine


def utcnow() -> datetime:
    """The current time, UTC-aware (the one clock of the alert code; tests pass their own)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class IssuanceRecord:
    """One row of ``issuances`` as a typed value (times UTC-aware)."""

    id: str
    kind: IssuanceKind
    level: Grade
    previous_id: str | None
    status: IssuanceStatus
    regions: list[str]
    city_levels: dict[str, dict[str, str]]
    measures: dict[str, dict[str, str]]
    evidence: dict[str, Any]
    decided_at: datetime
    created_at: datetime
    effective_at: datetime
    expires_at: datetime
    auto_confirm_at: datetime | None = None
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    note: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> IssuanceRecord:
        values = dict(row)
        values["kind"] = IssuanceKind(values["kind"])
        values["level"] = Grade[values["level"].upper()]
        values["status"] = IssuanceStatus(values["status"])
        return cls(**values)

    def as_row(self) -> dict[str, Any]:
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        row["level"] = self.level.label
        return row


def load_issuance(conn: Connection, issuance_id: str) -> IssuanceRecord | None:
    """The issuance ``issuance_id``, or None."""
    row = conn.execute(
        select(issuances).where(issuances.c.id == issuance_id)
    ).mappings().first()
    return None if row is None else IssuanceRecord.from_row(row)
