"""Issuance lifecycle: consultation → issuance + outbox (one transaction), confirmation, override.

A consultation compares the decided regional level with the level in force:

* same level → nothing is issued and nothing is mailed;
* otherwise one issuance is created: ``new`` (nothing in force), ``escalate`` /
  ``de-escalate`` (higher / lower than in force) or ``lift`` (level ``none``),
  referencing the issuance it replaces, with one common effective time (the
  decision's, else issue time + lead time rounded up to the hour) and expiry for
  every region, and one notice per
  region — the decision's regions plus, for updates and lifts, every region of the
  replaced issuance, so no region is left applying a level that changed.

The level in force is that of the latest confirmed issuance, ``none`` if that is
a lift or has expired.  With the confirmation step on, an issuance stays
``pending`` (its notices ``held``) until :func:`confirm` or its auto-confirm
deadline; a later consultation with a different level supersedes it.

The issuance, its notices and the consultation record are written in ONE
transaction: either all regions are queued or none is.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from alerts.cap import render_cap
from alerts.config import AlertsConfig, check_regions
from alerts.decision import IssuanceRequest
from alerts.message import render_notice
from alerts.state import (
    IssuanceKind,
    IssuanceRecord,
    IssuanceStatus,
    NoticeStatus,
    consultations,
    issuances,
    load_issuance,
    notices,
)
from monitor.config import AppConfig
from monitor.warning_grades import Grade

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Consultation:
    """What a consultation decided."""

    #: issued / unchanged / awaiting-confirmation
    outcome: str
    level: Grade
    level_in_force: Grade
    issuance: IssuanceRecord | None
    detail: str


def in_force(conn: Connection, now: datetime) -> IssuanceRecord | None:
    """The confirmed issuance whose level is in force at ``now`` (None: no warning)."""
    row = conn.execute(
        select(issuances)
        .where(issuances.c.status == IssuanceStatus.CONFIRMED)
        .order_by(issuances.c.created_at.desc())
        .limit(1)
    ).mappings().first()
    if row is None:
        return None
    latest = IssuanceRecord.from_row(row)
    if latest.kind == IssuanceKind.LIFT or latest.expires_at <= now:
        return None
    return latest


def pending(conn: Connection) -> IssuanceRecord | None:
    """The issuance waiting for confirmation, if any."""
    row = conn.execute(
        select(issuances)
        .where(issuances.c.status == IssuanceStatus.PENDING)
        .order_by(issuances.c.created_at.desc())
        .limit(1)
    ).mappings().first()
    return None if row is None else IssuanceRecord.from_row(row)


def issuance_kind(level: Grade, current: Grade) -> IssuanceKind:
    """Kind of the issuance moving the regional level from ``current`` to ``level`` (≠)."""
    if current == Grade.NONE:
        return IssuanceKind.NEW
    if level == Grade.NONE:
        return IssuanceKind.LIFT
    return IssuanceKind.ESCALATE if level > current else IssuanceKind.DEESCALATE


def round_up(moment: datetime, step: timedelta) -> datetime:
    """``moment`` rounded up to a whole multiple of ``step`` counted from the Unix epoch."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    steps = -((epoch - moment) // step)  # ceiling division of timedeltas
    return epoch + steps * step


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays, pandas series
        return value.tolist()
    return str(value)


def storable_evidence(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """``evidence`` as plain JSON data (times as ISO text, numpy values as Python numbers)."""
    return json.loads(json.dumps(dict(evidence), default=_json_default, ensure_ascii=False))


def _new_id(now: datetime) -> str:
    return f"JW-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def _withdraw(conn: Connection, issuance_id: str, status: IssuanceStatus, note: str) -> None:
    conn.execute(
        update(issuances).where(issuances.c.id == issuance_id)
        .values(status=status, note=note)
    )
    conn.execute(
        update(notices)
        .where(notices.c.issuance_id == issuance_id, notices.c.status == NoticeStatus.HELD)
        .values(status=NoticeStatus.CANCELLED)
    )


def _record(
    conn: Connection, now: datetime, trigger: str, decision: IssuanceRequest | None,
    outcome: str, issuance_id: str | None, detail: str,
) -> None:
    conn.execute(insert(consultations).values(
        run_at=now, trigger=trigger, level=decision.level.label if decision else None,
        regions=list(decision.regions) if decision else None, outcome=outcome,
        issuance_id=issuance_id, detail=detail,
    ))


def record_failed_consultation(engine: Engine, now: datetime, trigger: str, detail: str
                               ) -> None:
    """Record a consultation that could not decide (no forecast, decision source failed)."""
    with engine.begin() as conn:
        _record(conn, now, trigger, None, "no-decision", None, detail)
    log.error("consultation (%s) made no decision: %s", trigger, detail)


def _build(
    decision: IssuanceRequest, current: IssuanceRecord | None, config: AppConfig,
    cfg: AlertsConfig, now: datetime, confirmed_by: str | None,
) -> IssuanceRecord:
    kind = issuance_kind(decision.level, current.level if current else Grade.NONE)
    regions = list(decision.regions)
    if current is not None:
        regions += [r for r in current.regions if r not in regions]
    check_regions(cfg, regions)
    confirm_now = confirmed_by is not None or not cfg.issuance.confirmation_required
    lead = cfg.issuance.lift_lead_time if kind == IssuanceKind.LIFT else cfg.issuance.lead_time
    if decision.effective_at is not None and kind != IssuanceKind.LIFT:
        effective = decision.effective_at
    else:
        effective = round_up(now + lead, cfg.issuance.effective_step)
    auto = cfg.issuance.auto_confirm_after
    return IssuanceRecord(
        id=_new_id(now),
        kind=kind,
        level=decision.level,
        previous_id=current.id if current else None,
        status=IssuanceStatus.CONFIRMED if confirm_now else IssuanceStatus.PENDING,
        regions=regions,
        city_levels={r: {c: Grade(v).label for c, v in cities.items()}
                     for r, cities in decision.city_levels.items()},
        measures={r: cfg.regions[r].measures[decision.level.label].model_dump()
                  for r in regions},
        evidence=storable_evidence(decision.evidence),
        decided_at=decision.decided_at,
        created_at=now,
        effective_at=effective,
        expires_at=effective + cfg.issuance.validity,
        auto_confirm_at=None if confirm_now or auto is None else now + auto,
        confirmed_at=now if confirm_now else None,
        confirmed_by=(confirmed_by or "auto: no confirmation step") if confirm_now else None,
    )


def _consult(
    conn: Connection, decision: IssuanceRequest, config: AppConfig, cfg: AlertsConfig,
    now: datetime, trigger: str, confirmed_by: str | None,
) -> Consultation:
    unknown = [r for r in decision.regions if r not in config.regions]
    if unknown:
        raise ValueError(f"unknown region(s) {unknown}; configured: {sorted(config.regions)}")
    current = in_force(conn, now)
    current_level = current.level if current else Grade.NONE
    waiting = pending(conn)
    if waiting is not None and waiting.level == decision.level:
        detail = f"{decision.level.label} already awaits confirmation as {waiting.id}"
        _record(conn, now, trigger, decision, "awaiting-confirmation", waiting.id, detail)
        return Consultation("awaiting-confirmation", decision.level, current_level, waiting,
                            detail)
    if waiting is not None:
        _withdraw(conn, waiting.id, IssuanceStatus.SUPERSEDED,
                  f"superseded at {now.isoformat()} by a {decision.level.label} decision")
    if decision.level == current_level:
        detail = (f"level {current_level.label} unchanged"
                  + (f" ({current.id})" if current else ""))
        _record(conn, now, trigger, decision, "unchanged", None, detail)
        return Consultation("unchanged", decision.level, current_level, current, detail)
    record = _build(decision, current, config, cfg, now, confirmed_by)
    cap_xml = render_cap(record, current, config, cfg)
    conn.execute(insert(issuances).values(record.as_row()))
    status = (NoticeStatus.QUEUED if record.status == IssuanceStatus.CONFIRMED
              else NoticeStatus.HELD)
    for region in record.regions:
        msg = render_notice(record, current, region, cap_xml, config, cfg)
        conn.execute(insert(notices).values(
            issuance_id=record.id, region=region, message_id=msg["Message-ID"],
            recipients=list(cfg.regions[region].recipients), message=msg.as_bytes(),
            status=status, attempts=0, next_attempt_at=now,
        ))
    detail = (f"{record.kind} {current_level.label} -> {record.level.label}, "
              f"{len(record.regions)} region(s), effective {record.effective_at.isoformat()}, "
              f"{record.status}")
    _record(conn, now, trigger, decision, "issued", record.id, detail)
    return Consultation("issued", decision.level, current_level, record, detail)


def consult(
    engine: Engine, decision: IssuanceRequest, config: AppConfig, cfg: AlertsConfig,
    now: datetime, trigger: str = "manual", confirmed_by: str | None = None,
) -> Consultation:
    """Act on ``decision``: issue (with its notices queued) if the level changes.

    Parameters
    ----------
    engine
        The alert state (:func:`alerts.state.open_state`).
    decision
        The regional decision (forecast side, or given by hand).
    config, cfg
        Application and alert configuration.
    now
        Issue time (UTC-aware); the effective time is ``now`` + lead time.
    trigger
        Recorded with the consultation: ``manual``, ``scheduled`` or ``override``.
    confirmed_by
        Confirm at once in the name of this person (skips the confirmation step).
    """
    with engine.begin() as conn:
        result = _consult(conn, decision, config, cfg, now, trigger, confirmed_by)
    log.info("consultation (%s): %s", trigger, result.detail)
    return result


def confirm(engine: Engine, issuance_id: str, by: str, now: datetime) -> IssuanceRecord:
    """Confirm the pending issuance ``issuance_id``: its notices become due now.

    Raises
    ------
    LookupError
        if there is no such issuance; ``ValueError`` if it is not pending.
    """
    with engine.begin() as conn:
        record = load_issuance(conn, issuance_id)
        if record is None:
            raise LookupError(f"no issuance {issuance_id!r}")
        if record.status != IssuanceStatus.PENDING:
            raise ValueError(f"issuance {issuance_id} is {record.status}, not pending")
        conn.execute(
            update(issuances).where(issuances.c.id == issuance_id)
            .values(status=IssuanceStatus.CONFIRMED, confirmed_at=now, confirmed_by=by)
        )
        conn.execute(
            update(notices)
            .where(notices.c.issuance_id == issuance_id,
                   notices.c.status == NoticeStatus.HELD)
            .values(status=NoticeStatus.QUEUED, next_attempt_at=now)
        )
    log.info("issuance %s confirmed by %s", issuance_id, by)
    return replace(record, status=IssuanceStatus.CONFIRMED, confirmed_at=now, confirmed_by=by)


def confirm_due(engine: Engine, now: datetime) -> list[str]:
    """Confirm every pending issuance whose auto-confirm deadline has passed; their ids."""
    with engine.connect() as conn:
        due = conn.execute(
            select(issuances.c.id).where(
                issuances.c.status == IssuanceStatus.PENDING,
                issuances.c.auto_confirm_at <= now,
            )
        ).scalars().all()
    for issuance_id in due:
        confirm(engine, issuance_id, "auto: confirmation deadline passed", now)
    return list(due)


def override(
    engine: Engine, issuance_id: str, level: Grade, reason: str, by: str,
    config: AppConfig, cfg: AlertsConfig, now: datetime,
) -> Consultation:
    """Replace the decision behind ``issuance_id`` by ``level``, for ``reason`` (dashboard, CLI).

    A pending issuance is withdrawn (``overridden``); then the level is issued,
    confirmed by ``by``, relative to the level in force — or nothing is issued if
    that level is already in force.  Everything happens in one transaction.
    """
    if not reason.strip():
        raise ValueError("an override needs a reason")
    with engine.begin() as conn:
        record = load_issuance(conn, issuance_id)
        if record is None:
            raise LookupError(f"no issuance {issuance_id!r}")
        if record.status == IssuanceStatus.PENDING:
            _withdraw(conn, issuance_id, IssuanceStatus.OVERRIDDEN,
                      f"overridden by {by}: {level.label} ({reason})")
        elif record.status != IssuanceStatus.CONFIRMED:
            raise ValueError(f"issuance {issuance_id} is {record.status}; nothing to override")
        decision = IssuanceRequest(
            level=level,
            regions=tuple(record.regions),
            city_levels={r: {c: Grade[v.upper()] for c, v in cities.items()}
                         for r, cities in record.city_levels.items()},
            evidence={**record.evidence, "override": {
                "of": issuance_id, "from_level": record.level.label, "to_level": level.label,
                "by": by, "reason": reason}},
            decided_at=now,
        )
        result = _consult(conn, decision, config, cfg, now, "override", by)
    log.info("override of %s by %s: %s", issuance_id, by, result.detail)
    return result
