"""The consultation scheduler: APScheduler 3 with its jobs persisted in the alert state.

Jobs (ids are stable, so a restart finds them again):

``consultation-<i>``
    one per ``[schedule] consultations`` cron expression, in ``[schedule] timezone``;
    ``coalesce`` and ``misfire_grace_time`` from config, so a scheduler that was down
    runs ONE catch-up consultation if it comes back within the grace time, none after.
``outbox-sender``
    every ``send_interval``: auto-confirmation deadlines, retries with back-off.

At start the stored jobs are reconciled with the configuration *without* losing
their stored next run time (replacing them would silently skip a missed run):
unchanged jobs are kept, changed ones updated, removed ones deleted.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from alerts.config import AlertsConfig, load_alerts_config, smtp_login
from alerts.sender import send_due
from alerts.service import consult_and_send
from alerts.state import open_state
from monitor.config import AppConfig, load_config

log = logging.getLogger(__name__)

CONSULTATION_JOB = "alerts.scheduler:scheduled_consultation"
SENDER_JOB = "alerts.scheduler:scheduled_send"
SENDER_JOB_ID = "outbox-sender"


def _context(config_dir: str, data_dir: str) -> tuple[AppConfig, AlertsConfig, Path]:
    config = load_config(config_dir)
    return config, load_alerts_config(config), Path(data_dir)


def scheduled_consultation(config_dir: str, data_dir: str) -> None:
    """Job: one consultation with the configured decision source, then the sender.

    The configuration is re-read at each run, so a job stored by an older process
    always acts on the current configuration.
    """
    config, cfg, ddir = _context(config_dir, data_dir)
    engine = open_state(cfg.state_url(ddir))
    run = consult_and_send(engine, config, cfg, smtp_login(cfg), trigger="scheduled",
                           data_dir=ddir)
    if run.consultation is not None:
        log.info("scheduled consultation: %s", run.consultation.detail)


def scheduled_send(config_dir: str, data_dir: str) -> None:
    """Job: one run of the outbox sender."""
    _config, cfg, ddir = _context(config_dir, data_dir)
    report = send_due(open_state(cfg.state_url(ddir)), cfg, smtp_login(cfg))
    if report.sent or report.retry or report.failed:
        log.info("sender: %d sent, %d to retry, %d failed",
                 len(report.sent), len(report.retry), len(report.failed))


def wanted_jobs(config: AppConfig, cfg: AlertsConfig, data_dir: Path
                ) -> dict[str, tuple[str, BaseTrigger, dict[str, str]]]:
    """Job id -> (function reference, trigger, kwargs) as the configuration wants them."""
    kwargs = {"config_dir": str(config.config_dir), "data_dir": str(data_dir)}
    tz = cfg.schedule.timezone
    jobs: dict[str, tuple[str, BaseTrigger, dict[str, str]]] = {
        f"consultation-{i}": (CONSULTATION_JOB, CronTrigger.from_crontab(expr, timezone=tz),
                              kwargs)
        for i, expr in enumerate(cfg.schedule.consultations)
    }
    jobs[SENDER_JOB_ID] = (
        SENDER_JOB,
        IntervalTrigger(seconds=cfg.schedule.send_interval.total_seconds(), timezone=tz),
        kwargs,
    )
    return jobs


def _same_trigger(a: BaseTrigger, b: BaseTrigger) -> bool:
    # str() of a cron trigger lists its fields, of an interval trigger its interval;
    # neither includes the start date, which differs at every start.
    return (type(a) is type(b) and str(a) == str(b)
            and str(getattr(a, "timezone", "")) == str(getattr(b, "timezone", "")))


def sync_jobs(scheduler: BackgroundScheduler, config: AppConfig, cfg: AlertsConfig,
              data_dir: Path) -> None:
    """Make the stored jobs match the configuration, keeping stored next run times."""
    grace = int(cfg.schedule.misfire_grace_time.total_seconds())
    stored = {job.id: job for job in scheduler.get_jobs()}
    for job_id, (func, trigger, kwargs) in wanted_jobs(config, cfg, data_dir).items():
        job = stored.pop(job_id, None)
        if job is None:
            scheduler.add_job(func, trigger, id=job_id, name=job_id, kwargs=kwargs)
            log.info("job %s added: %s", job_id, trigger)
            continue
        if not _same_trigger(job.trigger, trigger):
            scheduler.reschedule_job(job_id, trigger=trigger)
            log.info("job %s rescheduled: %s", job_id, trigger)
        changes: dict[str, Any] = {}
        if job.kwargs != kwargs:
            changes["kwargs"] = kwargs
        if job.misfire_grace_time != grace:
            changes["misfire_grace_time"] = grace
        if job.coalesce != cfg.schedule.coalesce:
            changes["coalesce"] = cfg.schedule.coalesce
        if changes:
            scheduler.modify_job(job_id, **changes)
        log.info("job %s kept, next run %s", job_id, scheduler.get_job(job_id).next_run_time)
    for job_id in stored:
        scheduler.remove_job(job_id)
        log.info("job %s removed (no longer configured)", job_id)


class _Scheduler(BackgroundScheduler):
    """BackgroundScheduler that does not process jobs once shutdown has begun.

    APScheduler 3's loop runs one more ``_process_jobs`` after ``shutdown()`` woke it;
    with the executors already shut down, a job due at that moment fails to submit
    but its next run time is still advanced — a consultation due during shutdown would
    be lost instead of caught up after the restart.
    """

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()  # type: ignore[no-any-return]


def start_scheduler(config: AppConfig, cfg: AlertsConfig, data_dir: Path
                    ) -> BackgroundScheduler:
    """Start the scheduler in background threads with the persistent job store.

    The scheduler starts paused, reconciles its stored jobs with the configuration,
    then resumes — at which point missed runs inside the grace time run once.
    """
    url = cfg.state_url(data_dir)
    open_state(url).dispose()
    scheduler = _Scheduler(
        jobstores={"default": SQLAlchemyJobStore(url=url)},
        timezone=cfg.schedule.timezone,
        job_defaults={
            "coalesce": cfg.schedule.coalesce,
            "misfire_grace_time": int(cfg.schedule.misfire_grace_time.total_seconds()),
            "max_instances": 1,
        },
    )
    scheduler.start(paused=True)
    sync_jobs(scheduler, config, cfg, data_dir)
    scheduler.resume()
    return scheduler


def run_scheduler(config: AppConfig, cfg: AlertsConfig, data_dir: Path) -> int:
    """Run the scheduler in the foreground until SIGINT (Ctrl-C) or SIGTERM; exit code."""
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("received %s, stopping the scheduler", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    scheduler = start_scheduler(config, cfg, data_dir)
    try:
        for job in scheduler.get_jobs():
            log.info("scheduled %s: next run %s", job.id, job.next_run_time)
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("scheduler stopped")
    return 0
