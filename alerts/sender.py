"""The outbox sender: delivers due notices over SMTP, with back-off, never twice on record.

Protocol per notice (each step its own committed transaction):

1. **claim** — ``queued`` (due) → ``sending``, attempts + 1, owner and time
   recorded, an ``attempts`` row opened.  The claim is a conditional UPDATE, so two
   senders never both claim a notice.
2. **transmit** — MAIL / RCPT / DATA of the stored message (same bytes and
   Message-ID on every try).
3. **record** — ``sent`` with the server's final reply and the delivery time; or
   back to ``queued`` with ``next_attempt_at`` = now + exponential back-off
   (4xx, connection errors); or ``failed`` (5xx, or attempts exhausted).

A notice found ``sending`` whose owner process is dead (same host) or whose lease
expired was interrupted between steps 1 and 3: the server may or may not have
accepted it.  It is sent again with the same Message-ID, and the attempt is
marked ``resend``.  The guarantee is therefore *at-least-once delivery, with
every copy carrying the same Message-ID* — a duplicate can only arise from a crash
inside the window between the server's "250" to DATA and the commit of step 3,
and receivers (or the MTA) can drop it by Message-ID.  The state itself never
records a notice as sent twice.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

import psutil
from sqlalchemy import Engine, and_, insert, or_, select, update

from alerts.config import AlertsConfig, Security, SmtpLogin
from alerts.issuance import confirm_due
from alerts.state import NoticeStatus, attempts, notices, utcnow

log = logging.getLogger(__name__)


def owner_id() -> str:
    """``host:pid:start-time`` of this process: who claimed a notice being sent."""
    me = psutil.Process(os.getpid())
    return f"{socket.gethostname()}:{me.pid}:{me.create_time():.3f}"


def owner_alive(owner: str | None) -> bool:
    """False when ``owner`` is a process of this host that no longer exists."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname():
        return True  # cannot tell: rely on the lease
    try:
        proc = psutil.Process(int(pid_text))
        return f"{proc.create_time():.3f}" == started and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, ValueError):
        return False


class PermanentRefusal(Exception):
    """The server refused the message with a 5xx reply: retrying will not help."""


@dataclass
class SendReport:
    """What one run of the sender did."""

    sent: list[str] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    resent_after_interruption: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)


def connect(cfg: AlertsConfig, login: SmtpLogin | None) -> smtplib.SMTP:
    """An SMTP session to the configured server, TLS and login done."""
    smtp_cfg = cfg.smtp
    timeout = smtp_cfg.timeout.total_seconds()
    context = ssl.create_default_context(
        cafile=str(smtp_cfg.ca_file) if smtp_cfg.ca_file else None)
    smtp: smtplib.SMTP
    if smtp_cfg.security == Security.SSL:
        smtp = smtplib.SMTP_SSL(smtp_cfg.host, smtp_cfg.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(smtp_cfg.host, smtp_cfg.port, timeout=timeout)
    try:
        smtp.ehlo()
        if smtp_cfg.security == Security.STARTTLS:
            smtp.starttls(context=context)
            smtp.ehlo()
        if login is not None:
            smtp.login(login.user, login.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def transmit(smtp: smtplib.SMTP, sender: str, recipients: list[str], message: bytes) -> str:
    """Send ``message`` in one SMTP transaction; return the server's reply to DATA.

    Raises
    ------
    PermanentRefusal
        on a 5xx reply (or every recipient refused with 5xx).
    smtplib.SMTPException, OSError
        on temporary failures.
    """
    code, reply = smtp.mail(sender)
    if code != 250:
        smtp.rset()
        _raise(code, reply, "MAIL FROM")
    refused: list[tuple[str, int, bytes]] = []
    for rcpt in recipients:
        code, reply = smtp.rcpt(rcpt)
        if code not in (250, 251):
            refused.append((rcpt, code, reply))
    if len(refused) == len(recipients):
        smtp.rset()
        _raise(refused[-1][1], refused[-1][2], "RCPT TO")
    code, reply = smtp.data(message)
    if code != 250:
        _raise(code, reply, "DATA")
    text = f"{code} {reply.decode(errors='replace')}"
    if refused:
        text += " (refused: " + "; ".join(
            f"{rcpt}: {c} {r.decode(errors='replace')}" for rcpt, c, r in refused) + ")"
    return text


def _raise(code: int, reply: bytes, step: str) -> NoReturn:
    text = f"{step}: {code} {reply.decode(errors='replace')}"
    if 500 <= code < 600:
        raise PermanentRefusal(text)
    raise smtplib.SMTPResponseException(code, text)


def _due(engine: Engine, cfg: AlertsConfig, now: datetime) -> list[Mapping[str, Any]]:
    lease_start = now - cfg.retry.sending_lease
    with engine.connect() as conn:
        rows = conn.execute(
            select(notices.c.id, notices.c.status, notices.c.attempts, notices.c.claimed_by,
                   notices.c.claimed_at)
            .where(or_(
                and_(notices.c.status == NoticeStatus.QUEUED,
                     notices.c.next_attempt_at <= now),
                notices.c.status == NoticeStatus.SENDING,
            ))
            .order_by(notices.c.issuance_id, notices.c.id)
        ).mappings().all()
    return [
        r for r in rows
        if r["status"] == NoticeStatus.QUEUED
        or r["claimed_at"] <= lease_start or not owner_alive(r["claimed_by"])
    ]


@dataclass(frozen=True)
class ClaimedNotice:
    """A notice this process has marked ``sending``, with its open attempt."""

    id: int
    message_id: str
    recipients: list[str]
    message: bytes
    attempts: int
    attempt_id: int
    resend: bool


def _claim(engine: Engine, row: Mapping[str, Any], owner: str, now: datetime
           ) -> ClaimedNotice | None:
    """Mark the notice ``sending`` for this process (None if another process took it)."""
    with engine.begin() as conn:
        # optimistic: claim only if nobody touched the notice since it was found due
        guard = [notices.c.id == row["id"], notices.c.status == row["status"],
                 notices.c.attempts == row["attempts"]]
        claimed = conn.execute(
            update(notices).where(*guard).values(
                status=NoticeStatus.SENDING, attempts=notices.c.attempts + 1,
                claimed_by=owner, claimed_at=now,
            )
        ).rowcount
        if claimed != 1:
            return None
        resend = row["status"] == NoticeStatus.SENDING
        if resend:
            conn.execute(
                update(attempts)
                .where(attempts.c.notice_id == row["id"], attempts.c.outcome.is_(None))
                .values(outcome="interrupted", finished_at=now,
                        detail=f"{row['claimed_by']} stopped before recording the outcome")
            )
        notice = conn.execute(select(notices).where(notices.c.id == row["id"])
                              ).mappings().one()
        attempt_id = conn.execute(insert(attempts).values(
            notice_id=row["id"], number=notice["attempts"], started_at=now, resend=resend,
        )).inserted_primary_key[0]
    return ClaimedNotice(
        id=notice["id"], message_id=notice["message_id"], recipients=notice["recipients"],
        message=notice["message"], attempts=notice["attempts"], attempt_id=int(attempt_id),
        resend=resend,
    )


def _finish(engine: Engine, notice_id: int, attempt_id: int, outcome: str, detail: str,
            values: dict[str, object], now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(update(notices).where(notices.c.id == notice_id).values(**values))
        conn.execute(update(attempts).where(attempts.c.id == attempt_id)
                     .values(outcome=outcome, detail=detail, finished_at=now))


def send_due(
    engine: Engine,
    cfg: AlertsConfig,
    login: SmtpLogin | None,
    clock: Callable[[], datetime] = utcnow,
) -> SendReport:
    """Deliver every due notice once over one SMTP session; return what happened.

    Pending issuances past their auto-confirm deadline are confirmed first.  If the
    server cannot be reached, every due notice gets a failed attempt and is
    re-queued with back-off (or failed when its attempts are exhausted).
    """
    report = SendReport(confirmed=confirm_due(engine, clock()))
    due = _due(engine, cfg, clock())
    if not due:
        return report
    owner = owner_id()
    smtp: smtplib.SMTP | None = None
    try:
        smtp = connect(cfg, login)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("SMTP %s:%s unreachable: %s", cfg.smtp.host, cfg.smtp.port, exc)
        connect_error: str | None = f"connect: {exc}"
    else:
        connect_error = None
    try:
        for row in due:
            notice = _claim(engine, row, owner, clock())
            if notice is None:
                continue
            if notice.resend:
                log.warning("notice %s was interrupted while sending; sending it again "
                            "with the same Message-ID", notice.message_id)
                report.resent_after_interruption.append(notice.message_id)
            if not _deliver(engine, cfg, smtp, connect_error, notice, clock, report):
                break  # the session broke: the rest stay queued for the next run
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    return report


def _deliver(
    engine: Engine, cfg: AlertsConfig, smtp: smtplib.SMTP | None, connect_error: str | None,
    notice: ClaimedNotice, clock: Callable[[], datetime], report: SendReport,
) -> bool:
    """Try one claimed notice and record the outcome; False if the SMTP session broke."""
    notice_id, attempt_id, mid = notice.id, notice.attempt_id, notice.message_id
    tries = notice.attempts
    try:
        if smtp is None:
            raise ConnectionError(connect_error)
        reply = transmit(smtp, cfg.smtp.sender, notice.recipients, notice.message)
    except PermanentRefusal as exc:
        now = clock()
        _finish(engine, notice_id, attempt_id, "failed", str(exc),
                {"status": NoticeStatus.FAILED, "last_error": str(exc)}, now)
        log.error("notice %s refused permanently: %s", mid, exc)
        report.failed.append(mid)
        return True
    except (OSError, smtplib.SMTPException) as exc:
        now = clock()
        exhausted = tries >= cfg.retry.max_attempts
        values: dict[str, object] = {"last_error": str(exc)}
        if exhausted:
            values["status"] = NoticeStatus.FAILED
            report.failed.append(mid)
        else:
            values |= {"status": NoticeStatus.QUEUED,
                       "next_attempt_at": now + cfg.retry.delay(tries)}
            report.retry.append(mid)
        _finish(engine, notice_id, attempt_id, "failed" if exhausted else "retry", str(exc),
                values, now)
        log.warning("notice %s attempt %d failed: %s", mid, tries, exc)
        return smtp is None or not isinstance(exc, OSError | smtplib.SMTPServerDisconnected)
    else:
        now = clock()
        _finish(engine, notice_id, attempt_id, "sent", reply,
                {"status": NoticeStatus.SENT, "smtp_reply": reply, "delivered_at": now,
                 "last_error": None}, now)
        log.info("notice %s delivered: %s", mid, reply)
        report.sent.append(mid)
        return True
