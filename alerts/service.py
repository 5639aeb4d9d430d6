"""One consultation end to end: get the decision, issue if the level changed, send the outbox.

Shared by ``jointwatch consult``, the scheduler's job and (later) the dashboard.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from alerts.config import AlertsConfig, SmtpLogin
from alerts.decision import IssuanceRequest, from_forecast_decision, load_decision_source
from alerts.issuance import Consultation, consult, record_failed_consultation
from alerts.sender import SendReport, send_due
from alerts.state import utcnow
from monitor.config import AppConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsultationRun:
    """A consultation and, when it queued notices, the sender run that followed."""

    consultation: Consultation | None
    sending: SendReport | None
    error: str | None = None


def decide(config: AppConfig, cfg: AlertsConfig, data_dir: Path, now: datetime
           ) -> IssuanceRequest | None:
    """The regional decision from the configured ``[schedule] decision_source``.

    The source may return the forecasting core's decision
    (``monitor.decision.RegionalDecision``); it is adapted with
    :func:`alerts.decision.from_forecast_decision`.

    Raises
    ------
    ValueError
        if the source cannot be imported (for example, no forecasting core yet).
    """
    made = load_decision_source(cfg.schedule.decision_source)(config, data_dir, now)
    if made is None or isinstance(made, IssuanceRequest):
        return made
    return from_forecast_decision(made)


def consult_and_send(
    engine: Engine,
    config: AppConfig,
    cfg: AlertsConfig,
    login: SmtpLogin | None,
    trigger: str,
    data_dir: Path,
    decision: IssuanceRequest | None = None,
    now: datetime | None = None,
    send: bool = True,
) -> ConsultationRun:
    """Consult (``decision`` given, else from the decision source) then drain the outbox.

    A failing decision source is recorded as a ``no-decision`` consultation (and
    logged), never raised: a scheduler must keep running.
    """
    moment = now or utcnow()
    if decision is None:
        try:
            decision = decide(config, cfg, data_dir, moment)
        except Exception as exc:  # any failure of the forecast side is recorded, not fatal
            record_failed_consultation(engine, moment, trigger, f"decision source: {exc}")
            return ConsultationRun(None, None, str(exc))
        if decision is None:
            record_failed_consultation(engine, moment, trigger, "no forecast available")
            return ConsultationRun(None, None, "no forecast available")
    result = consult(engine, decision, config, cfg, moment, trigger=trigger)
    report = send_due(engine, cfg, login) if send else None
    return ConsultationRun(result, report)
