"""The scheduler: persistent jobs across restarts, one catch-up run inside the grace time,
and the foreground `jointwatch scheduler` stopping cleanly on SIGTERM and Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent
from sqlalchemy import select

from alerts.config import load_alerts_config
from alerts.scheduler import SENDER_JOB_ID, start_scheduler
from alerts.state import consultations, notices, open_state
from alerts.testing import free_port, local_smtp_settings, make_config_dir, smtp_server
from monitor.config import load_config

PROJECT = Path(__file__).resolve().parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
DECISION_MODULE = '''
from alerts.decision import IssuanceRequest
from monitor.warning_grades import Grade

def orange(config, data_dir, now):
    return IssuanceRequest(Grade.ORANGE, ("beijing", "tianjin", "hebei"), decided_at=now,
                            evidence={"summary": "scheduled test decision"})
'''


def daily_cron_two_hours_ago() -> tuple[str, datetime]:
    """A daily cron whose latest fire time was ~2 h ago, and that fire time (UTC)."""
    last = (datetime.now(SHANGHAI) - timedelta(hours=2)).replace(second=0, microsecond=0)
    return f"{last.minute} {last.hour} * * *", last.astimezone(UTC)


def make_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, grace: str, port: int
               ) -> tuple[Path, datetime]:
    (tmp_path / "jw_test_decision.py").write_text(DECISION_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    cron, last_fire = daily_cron_two_hours_ago()
    make_config_dir(tmp_path / "config", {
        **local_smtp_settings(port),
        "schedule.consultations": f'["{cron}"]',
        "schedule.misfire_grace_time": f'"{grace}"',
        "schedule.send_interval": '"PT1H"',
        "schedule.decision_source": '"jw_test_decision:orange"',
    })
    return tmp_path / "config", last_fire


def run_after_restart(cdir: Path, ddir: Path, last_fire: datetime) -> tuple[int, str, object]:
    """Start, simulate 3 days of downtime, restart; return consultations, event, next run."""
    config = load_config(cdir)
    cfg = load_alerts_config(config)
    first = start_scheduler(config, cfg, ddir)
    first.pause()
    assert {j.id for j in first.get_jobs()} == {"consultation-0", SENDER_JOB_ID}
    # The scheduler stopped before three scheduled runs (the last one ~2 h ago): its stored
    # job is due. Shutting down must leave it due (not consume it) for the restart.
    first.modify_job("consultation-0", next_run_time=last_fire - timedelta(days=2))
    first.shutdown()

    done = threading.Event()
    seen: list[str] = []

    def listener(event: JobEvent) -> None:
        if event.job_id == "consultation-0":
            seen.append({EVENT_JOB_EXECUTED: "executed", EVENT_JOB_MISSED: "missed",
                         EVENT_JOB_ERROR: "error"}[event.code])
            done.set()

    second = start_scheduler(config, cfg, ddir)
    second.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    try:
        if not done.wait(60):
            raise AssertionError("the catch-up run did not happen")
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline and len(seen) < 2:
            time.sleep(0.05)  # give an erroneous second run the chance to show up
        job = second.get_job("consultation-0")
        next_run = job.next_run_time
    finally:
        second.shutdown()
    with open_state(cfg.state_url(ddir)).connect() as conn:
        runs = len(conn.execute(select(consultations.c.id)).all())
    return runs, ",".join(seen), next_run


def test_restart_keeps_jobs_and_runs_missed_consultation_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    cdir, last_fire = make_setup(tmp_path, monkeypatch, "PT3H", port)
    ddir = tmp_path / "var"
    ddir.mkdir()
    with smtp_server(port) as server:
        runs, seen, next_run = run_after_restart(cdir, ddir, last_fire)
    assert seen == "executed"
    assert runs == 1  # three missed runs coalesced into one
    assert next_run > datetime.now(UTC)
    assert len(server.messages) == 3  # the catch-up consultation issued and sent
    with open_state(f"sqlite:///{ddir / 'alerts.sqlite'}").connect() as conn:
        trigger = conn.execute(select(consultations.c.trigger)).scalar_one()
        sent = conn.execute(select(notices.c.status)).scalars().all()
    assert trigger == "scheduled" and sent == ["sent"] * 3


def test_missed_run_outside_grace_time_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cdir, last_fire = make_setup(tmp_path, monkeypatch, "PT1H", free_port())
    ddir = tmp_path / "var"
    ddir.mkdir()
    runs, seen, next_run = run_after_restart(cdir, ddir, last_fire)
    assert seen == "missed" and runs == 0
    assert next_run > datetime.now(UTC)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_foreground_scheduler_stops_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    cdir = make_config_dir(tmp_path / "config", local_smtp_settings(free_port()))
    ddir = tmp_path / "var"
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config", str(cdir), "--data-dir", str(ddir),
         "scheduler"],
        cwd=PROJECT, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    assert proc.stderr is not None
    lines = []
    waiting = {"consultation-0", "consultation-1", SENDER_JOB_ID}
    for line in proc.stderr:
        lines.append(line)
        waiting -= {job for job in waiting if f"scheduled {job}: next run" in line}
        if not waiting:
            break
    proc.send_signal(stop)
    _, rest = proc.communicate(timeout=60)
    log = "".join(lines) + rest
    assert proc.returncode == 0, log
    assert f"received {stop.name}, stopping the scheduler" in log
    assert "scheduler stopped" in log
    # the jobs are in the persistent store for the next start
    with open_state(f"sqlite:///{ddir / 'alerts.sqlite'}").connect() as conn:
        stored = conn.exec_driver_sql("SELECT id FROM apscheduler_jobs ORDER BY id").all()
    assert [r[0] for r in stored] == ["consultation-0", "consultation-1", SENDER_JOB_ID]
