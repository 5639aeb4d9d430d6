"""Delivery over a real SMTP server (aiosmtpd on 127.0.0.1): exactly N mails, outages, crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import xmlschema
from sqlalchemy import Engine, select

from alerts.cap import CAP_XSD
from alerts.config import AlertsConfig, load_alerts_config
from alerts.decision import IssuanceRequest
from alerts.issuance import consult
from alerts.report import notice_rows, sync_figures
from alerts.sender import send_due
from alerts.state import NoticeStatus, attempts, notices, open_state
from alerts.testing import Gate, free_port, local_smtp_settings, make_config_dir, smtp_server
from monitor.config import AppConfig, load_config
from monitor.warning_grades import Grade

PROJECT = Path(__file__).resolve().parent.parent
BTH = ("beijing", "tianjin", "hebei")
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def setup(tmp_path: Path, port: int) -> tuple[AppConfig, AlertsConfig, Engine, Path]:
    cdir = make_config_dir(tmp_path / "config", local_smtp_settings(port))
    config = load_config(cdir)
    cfg = load_alerts_config(config)
    ddir = tmp_path / "var"
    ddir.mkdir()
    return config, cfg, open_state(cfg.state_url(ddir)), ddir


def queue_orange(engine: Engine, config: AppConfig, cfg: AlertsConfig) -> str:
    d = IssuanceRequest(Grade.ORANGE, BTH, decided_at=T0, evidence={"summary": "test"})
    return consult(engine, d, config, cfg, T0).issuance.id


def notice_state(engine: Engine) -> dict[str, tuple[str, int]]:
    with engine.connect() as conn:
        return {r: (s, n) for r, s, n in conn.execute(
            select(notices.c.region, notices.c.status, notices.c.attempts))}


def test_one_consultation_delivers_exactly_one_mail_per_region(tmp_path: Path) -> None:
    port = free_port()
    config, cfg, engine, _ = setup(tmp_path, port)
    with smtp_server(port) as server:
        issuance_id = queue_orange(engine, config, cfg)
        report = send_due(engine, cfg, None)
        assert len(report.sent) == 3
        assert send_due(engine, cfg, None).sent == []  # nothing is sent twice
    assert len(server.messages) == 3
    assert sorted(rcpts[0] for _frm, rcpts in server.envelopes) == sorted(
        str(cfg.regions[r].recipients[0]) for r in BTH)
    assert {m["X-Jointwatch-Issuance"] for m in server.messages} == {issuance_id}
    assert len(set(server.message_ids())) == 3
    schema = xmlschema.XMLSchema(CAP_XSD)
    for msg in server.messages:
        (cap,) = [p for p in msg.iter_attachments()]
        schema.validate(cap.get_content())
        assert "2026-03-03 10:00" in msg.get_body(("plain",)).get_content()
    rows = notice_rows(engine)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * 3
    assert all(r.smtp_reply.startswith("250 OK queued as jw") for r in rows)
    spread = sync_figures(rows)[issuance_id].spread
    assert spread is not None and spread >= timedelta(0)


def test_smtp_down_keeps_notices_queued_then_delivers_each_once(tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet
    config, cfg, engine, _ = setup(tmp_path, port)
    queue_orange(engine, config, cfg)
    clock = [datetime.now(UTC)]
    for expected_attempts in (1, 2):
        report = send_due(engine, cfg, None, clock=lambda: clock[0])
        assert report.sent == [] and len(report.retry) == 3
        assert notice_state(engine) == {r: ("queued", expected_attempts) for r in BTH}
        # not due again before the back-off has passed
        assert send_due(engine, cfg, None, clock=lambda: clock[0]).retry == []
        clock[0] += timedelta(seconds=1)
    with engine.connect() as conn:
        errors = conn.execute(select(notices.c.last_error)).scalars().all()
    assert all(e.startswith("connect:") for e in errors)
    with smtp_server(port) as server:
        report = send_due(engine, cfg, None, clock=lambda: clock[0])
        assert len(report.sent) == 3
        clock[0] += timedelta(hours=1)
        assert send_due(engine, cfg, None, clock=lambda: clock[0]).sent == []
    assert notice_state(engine) == {r: ("sent", 3) for r in BTH}
    assert Counter(server.message_ids()) == Counter(
        {mid: 1 for mid in set(server.message_ids())})
    assert len(server.messages) == 3


def test_attempts_exhausted_marks_failed(tmp_path: Path) -> None:
    port = free_port()
    config, cfg, engine, _ = setup(tmp_path, port)
    queue_orange(engine, config, cfg)
    clock = [datetime.now(UTC)]
    for _ in range(cfg.retry.max_attempts):
        send_due(engine, cfg, None, clock=lambda: clock[0])
        clock[0] += timedelta(hours=2)
    assert notice_state(engine) == {r: ("failed", cfg.retry.max_attempts) for r in BTH}


def run_sender(cdir: Path, ddir: Path) -> subprocess.Popen[bytes]:
    """The real CLI sender (`jointwatch send`) in its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config", str(cdir), "--data-dir", str(ddir),
         "send"],
        cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )


def kill_mid_batch(tmp_path: Path, stage: str) -> tuple[Engine, list[str], dict[str, int]]:
    """Queue 3 notices, SIGKILL the sender while the server holds message 2, restart it.

    Returns the engine, the Message-IDs the server received, and attempts per region.
    """
    port = free_port()
    config, cfg, engine, ddir = setup(tmp_path, port)
    queue_orange(engine, config, cfg)
    gate = Gate(number=2, stage=stage)
    with smtp_server(port, gate) as server:
        proc = run_sender(tmp_path / "config", ddir)
        assert gate.reached.wait(60), proc.communicate(timeout=5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert proc.returncode == -signal.SIGKILL
        states = notice_state(engine)
        assert sorted(s for s, _n in states.values()) == ["queued", "sending", "sent"]
        gate.release.set()
        restarted = run_sender(tmp_path / "config", ddir)
        out, err = restarted.communicate(timeout=60)
        assert restarted.returncode == 0, err.decode()
        assert b"resent after interruption 1" in out
    with engine.connect() as conn:
        per_region = dict(conn.execute(select(notices.c.region, notices.c.attempts)).all())
        outcomes = conn.execute(select(attempts.c.outcome, attempts.c.resend)
                                .order_by(attempts.c.id)).all()
    assert notice_state(engine) == {r: ("sent", per_region[r]) for r in BTH}
    assert sorted(per_region.values()) == [1, 1, 2]
    assert Counter(o for o, _r in outcomes) == {"sent": 3, "interrupted": 1}
    assert [r for _o, r in outcomes].count(True) == 1
    return engine, server.message_ids(), per_region


def test_sender_killed_before_server_accepted_delivers_each_region_once(
    tmp_path: Path,
) -> None:
    _engine, received, _ = kill_mid_batch(tmp_path, stage="rcpt")
    assert len(received) == 3 and len(set(received)) == 3


def test_sender_killed_after_server_accepted_resends_with_same_message_id(
    tmp_path: Path,
) -> None:
    # The crash window of SMTP: the server has the message, the sender never saw the 250.
    # The resend carries the same Message-ID, so the duplicate is recognisable.
    engine, received, per_region = kill_mid_batch(tmp_path, stage="data")
    counts = Counter(received)
    assert len(counts) == 3 and sorted(counts.values()) == [1, 1, 2]
    (twice,) = [mid for mid, n in counts.items() if n == 2]
    with engine.connect() as conn:
        region = conn.execute(select(notices.c.region).where(notices.c.message_id == twice)
                              ).scalar_one()
    assert per_region[region] == 2
    assert all(r.status == NoticeStatus.SENT for r in notice_rows(engine))


def test_two_senders_at_once_deliver_each_notice_once(tmp_path: Path) -> None:
    port = free_port()
    config, cfg, engine, ddir = setup(tmp_path, port)
    for level, hours in ((Grade.YELLOW, 0), (Grade.RED, 1)):
        at = T0 + timedelta(hours=hours)
        consult(engine, IssuanceRequest(level, BTH, decided_at=at), config, cfg, at)
    with smtp_server(port) as server:
        senders = [run_sender(tmp_path / "config", ddir) for _ in range(2)]
        for proc in senders:
            _out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()
    assert len(server.messages) == 6 and len(set(server.message_ids())) == 6
    assert [(r.status, r.attempts) for r in notice_rows(engine)] == [("sent", 1)] * 6
