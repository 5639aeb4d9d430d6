"""Command functions of the alert commands (wired in ``monitor/cli.py``).

Each takes ``(args, config)`` and returns an exit code.  The alert configuration
(and, for commands that send, the SMTP login variables) is validated first, so a
bad ``alerts.toml`` stops the command before anything is written or sent.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from datetime import UTC, datetime

from sqlalchemy import Engine

from alerts.config import AlertsConfig, SmtpLogin, check_regions, load_alerts_config, smtp_login
from alerts.decision import IssuanceRequest, parse_grade
from alerts.issuance import confirm, override
from alerts.report import as_json, format_table, notice_rows
from alerts.sender import SendReport, send_due
from alerts.state import open_state, utcnow
from monitor.config import AppConfig, ConfigError, data_dir

log = logging.getLogger(__name__)


def _start(args: argparse.Namespace, config: AppConfig, sends: bool
           ) -> tuple[AlertsConfig, SmtpLogin | None, Engine]:
    """Validate the alert config (and the login variables if the command sends), then open
    the state: a configuration error leaves nothing written."""
    cfg = load_alerts_config(config)
    login = smtp_login(cfg) if sends else None
    return cfg, login, open_state(cfg.state_url(data_dir(args.data_dir)))


def _fail(exc: Exception) -> int:
    kind = "configuration error" if isinstance(exc, ConfigError) else "error"
    print(f"jointwatch: {kind}: {exc}", file=sys.stderr)
    return 2


def _print_report(report: SendReport) -> None:
    print(f"sent {len(report.sent)}, to retry {len(report.retry)}, failed "
          f"{len(report.failed)}, resent after interruption "
          f"{len(report.resent_after_interruption)}, auto-confirmed {len(report.confirmed)}")


def _issue_time(text: str | None) -> datetime:
    if text is None or text == "now":
        return utcnow()
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"--now {text!r}: give a time zone offset, e.g. 2026-03-03T10:00+08:00")
    return moment.astimezone(UTC)


def cli_consult(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch consult``: one consultation now; prints what it decided and sent."""
    from alerts.service import consult_and_send

    try:
        cfg, login, engine = _start(args, config, sends=not args.no_send)
        now = _issue_time(args.now)
        decision = None
        if args.level is not None:
            regions = tuple(args.regions.split(",")) if args.regions else tuple(cfg.regions)
            unknown = [r for r in regions if r not in config.regions]
            if unknown:
                raise ConfigError(f"--regions: unknown region(s) {', '.join(unknown)}; "
                                  f"configured: {', '.join(sorted(config.regions))}")
            check_regions(cfg, regions)
            decision = IssuanceRequest(
                level=parse_grade(args.level), regions=regions, decided_at=now,
                evidence={"source": "level given by hand (jointwatch consult --level)",
                          "by": getpass.getuser()},
            )
    except (ConfigError, ValueError) as exc:
        return _fail(exc)
    run = consult_and_send(engine, config, cfg, login, trigger="manual",
                           data_dir=data_dir(args.data_dir), decision=decision, now=now,
                           send=not args.no_send)
    if run.consultation is None:
        print(f"no decision: {run.error}", file=sys.stderr)
        return 1
    result = run.consultation
    print(f"{result.outcome}: {result.detail}")
    if result.issuance is not None and result.outcome == "issued":
        print(f"issuance {result.issuance.id} ({result.issuance.kind}, "
              f"{result.issuance.level.label}, "
              f"{result.issuance.status}) regions: {', '.join(result.issuance.regions)}")
    if run.sending is not None:
        _print_report(run.sending)
    return 0


def cli_confirm(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch confirm ID``: confirm a pending issuance, or override its level."""
    by = args.by or getpass.getuser()
    try:
        cfg, _login, engine = _start(args, config, sends=False)
        if args.level is not None:
            if not args.reason:
                raise ValueError("--level needs --reason")
            result = override(engine, args.issuance, parse_grade(args.level), args.reason,
                              by, config, cfg, utcnow())
            print(f"override: {result.outcome}: {result.detail}")
        else:
            record = confirm(engine, args.issuance, by, utcnow())
            print(f"confirmed {record.id} ({record.kind}, {record.level.label}) by {by}; "
                  "its notices are queued (jointwatch send)")
    except (ConfigError, ValueError, LookupError) as exc:
        return _fail(exc)
    return 0


def cli_send(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch send``: run the outbox sender once."""
    try:
        cfg, login, engine = _start(args, config, sends=True)
    except ConfigError as exc:
        return _fail(exc)
    report = send_due(engine, cfg, login)
    _print_report(report)
    return 0 if not report.failed else 1


def cli_notices(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch notices``: the notice table with each issuance's sync spread."""
    try:
        cfg, _login, engine = _start(args, config, sends=False)
    except ConfigError as exc:
        return _fail(exc)
    rows = notice_rows(engine, args.issuance, args.limit)
    if args.json:
        print(json.dumps(as_json(rows), ensure_ascii=False, indent=2))
    elif rows:
        print(format_table(rows, cfg.schedule.timezone))
    else:
        print("no notices")
    return 0


def cli_scheduler(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch scheduler``: run consultations and the sender until Ctrl-C / SIGTERM."""
    from alerts.scheduler import run_scheduler

    try:
        cfg, _login, engine = _start(args, config, sends=True)
    except ConfigError as exc:
        return _fail(exc)
    engine.dispose()
    return run_scheduler(config, cfg, data_dir(args.data_dir))
