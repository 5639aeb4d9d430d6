"""Read side of the alert state: the notice table and the synchronization figures.

Used by ``jointwatch notices`` and by the dashboard (same functions, same numbers).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from alerts.state import NoticeStatus, issuances, notices


@dataclass(frozen=True)
class NoticeRow:
    """One line of the notice table."""

    issuance_id: str
    kind: str
    level: str
    issuance_status: str
    effective_at: datetime
    region: str
    status: str
    attempts: int
    delivered_at: datetime | None
    smtp_reply: str | None
    last_error: str | None
    message_id: str


@dataclass(frozen=True)
class SyncFigure:
    """How synchronized the delivery of one issuance was."""

    issuance_id: str
    regions: int
    delivered: int
    first_delivery: datetime | None
    last_delivery: datetime | None

    @property
    def spread(self) -> timedelta | None:
        """Time between the first and the last region's delivery (None until all delivered)."""
        if self.delivered < self.regions or not (self.first_delivery and self.last_delivery):
            return None
        return self.last_delivery - self.first_delivery


def notice_rows(engine: Engine, issuance_id: str | None = None, limit: int | None = None
                ) -> list[NoticeRow]:
    """Notices, newest issuance first (regions in issuance order), optionally of one issuance.

    ``limit`` bounds the number of issuances shown, not of rows.
    """
    wanted = select(issuances.c.id).order_by(issuances.c.created_at.desc())
    if issuance_id is not None:
        wanted = wanted.where(issuances.c.id == issuance_id)
    if limit is not None:
        wanted = wanted.limit(limit)
    query = (
        select(notices.c.issuance_id, issuances.c.kind, issuances.c.level,
               issuances.c.status.label("issuance_status"), issuances.c.effective_at,
               notices.c.region, notices.c.status, notices.c.attempts,
               notices.c.delivered_at, notices.c.smtp_reply, notices.c.last_error,
               notices.c.message_id)
        .join(issuances, issuances.c.id == notices.c.issuance_id)
        .where(notices.c.issuance_id.in_(wanted.scalar_subquery()))
        .order_by(issuances.c.created_at.desc(), notices.c.id)
    )
    with engine.connect() as conn:
        return [NoticeRow(**r) for r in conn.execute(query).mappings()]


def sync_figures(rows: list[NoticeRow]) -> dict[str, SyncFigure]:
    """Per issuance: regions, delivered regions, first and last delivery time."""
    by_issuance: dict[str, list[NoticeRow]] = {}
    for row in rows:
        by_issuance.setdefault(row.issuance_id, []).append(row)
    figures = {}
    for iid, group in by_issuance.items():
        times = [r.delivered_at for r in group
                 if r.status == NoticeStatus.SENT and r.delivered_at is not None]
        figures[iid] = SyncFigure(iid, len(group), len(times),
                                  min(times, default=None), max(times, default=None))
    return figures


def as_json(rows: list[NoticeRow]) -> dict[str, Any]:
    """The table and the figures as JSON-ready data."""
    figures = sync_figures(rows)
    return {
        "notices": [
            {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(r).items()}
            for r in rows
        ],
        "sync": {
            iid: {"regions": f.regions, "delivered": f.delivered,
                  "spread_seconds": None if f.spread is None else f.spread.total_seconds()}
            for iid, f in figures.items()
        },
    }


def format_table(rows: list[NoticeRow], timezone: str) -> str:
    """The notice table as text (times in ``timezone``), each issuance followed by its spread."""
    header = ("issuance", "level", "kind", "region", "status", "attempts", "delivered at")
    lines: list[tuple[str, ...]] = [header]
    figures = sync_figures(rows)
    last = None
    for row in rows:
        if last is not None and row.issuance_id != last:
            lines.append(_spread_line(figures[last]))
        last = row.issuance_id
        delivered = "" if row.delivered_at is None else (
            row.delivered_at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        )
        lines.append((row.issuance_id, row.level, row.kind, row.region, row.status,
                       str(row.attempts), delivered))
    if last is not None:
        lines.append(_spread_line(figures[last]))
    widths = [max(len(line[i]) for line in lines if len(line) > i) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)).rstrip()
        for line in lines
    )


def _spread_line(figure: SyncFigure) -> tuple[str, ...]:
    if figure.spread is None:
        text = f"sync spread: pending ({figure.delivered}/{figure.regions} regions delivered)"
    else:
        text = (f"sync spread: {figure.spread.total_seconds():.3f} s "
                f"({figure.regions} regions delivered)")
    return (f"  └ {text}",)
