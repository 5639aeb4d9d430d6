"""Configuration of the synchronized notices: ``config/alerts.toml``, validated at start-up.

Sections (see the shipped ``config/alerts.toml`` for a commented example):

``[schedule]``
    consultation cron expressions (local time of ``timezone``), misfire grace time,
    coalescing, how often the outbox sender runs, and the ``decision_source``
    (``"module:function"`` producing a :class:`alerts.decision.IssuanceRequest`).
``[issuance]``
    lead time to the common effective time, validity (expiry), and the optional
    confirmation step with its auto-confirm deadline.
``[state]``
    SQLAlchemy URL of the alert state (default: SQLite ``alerts.sqlite`` in the data dir).
``[smtp]``
    host, port, security (``starttls`` / ``ssl`` / ``none``), the *names* of the
    environment variables holding user and password, sender address.
``[retry]``
    exponential back-off of the sender, attempt limit, lease of a notice being sent.
``[cap]``
    CAP 1.2 ``status``, ``scope`` and sender names.
``[regions.<id>]``
    per participating region: recipients, GB/T 2260 geocode, and the measures text
    per level in Chinese and English.

Every error names the file and the key (``ConfigError``), before anything is sent.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from monitor.config import AppConfig, ConfigError, check_timezone, read_toml, validate_model
from monitor.warning_grades import Grade

#: File name of the alert configuration inside the config directory.
ALERTS_FILE = "alerts.toml"
#: Default SQLite file of the alert state, inside the data directory.
STATE_FILE = "alerts.sqlite"
#: Every level needs measures text per region (``none``: what a lift tells the region).
MEASURE_LEVELS: tuple[str, ...] = tuple(g.label for g in Grade)


_ADDRESS = re.compile(r"^[^@\s<>,;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def _check_address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError(f"{value!r} is not a mail address of the form name@domain.tld")
    return value


#: A bare mail address (``name@domain.tld``), checked for shape only.
Address = Annotated[str, AfterValidator(_check_address)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Security(StrEnum):
    """How the SMTP connection is protected."""

    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"


class Schedule(_Model):
    timezone: str = "Asia/Shanghai"
    consultations: list[str] = Field(default_factory=lambda: ["0 10 * * *", "0 16 * * *"])
    misfire_grace_time: timedelta = timedelta(hours=2)
    coalesce: bool = True
    send_interval: timedelta = timedelta(minutes=1)
    decision_source: str = "monitor.decision:regional_decision"

    _tz = field_validator("timezone")(check_timezone)

    @field_validator("decision_source")
    @classmethod
    def _module_function(cls, value: str) -> str:
        module, sep, func = value.partition(":")
        if not (module and sep and func):
            raise ValueError(f"{value!r} is not of the form 'module:function'")
        return value


class Issuance(_Model):
    lead_time: timedelta = timedelta(hours=24)
    lift_lead_time: timedelta = timedelta(0)
    #: The effective time is rounded up to a multiple of this (from 00:00 UTC), so measures
    #: start on a whole hour rather than at the second the consultation ran.
    effective_step: timedelta = Field(timedelta(hours=1), gt=timedelta(0))
    validity: timedelta = timedelta(days=3)
    confirmation_required: bool = False
    #: Pending issuances are confirmed automatically this long after creation (None: never).
    auto_confirm_after: timedelta | None = None


class State(_Model):
    #: SQLAlchemy URL; empty means SQLite ``alerts.sqlite`` in the data directory.
    url: str = ""


class Smtp(_Model):
    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    security: Security = Security.STARTTLS
    #: Names of the environment variables holding the login (None: no login).
    user_env: str | None = None
    password_env: str | None = None
    timeout: timedelta = timedelta(seconds=30)
    #: CA certificates (PEM) to verify the server with, instead of the system's.
    ca_file: Path | None = None
    sender: Address
    sender_name: str = "jointwatch"


class Retry(_Model):
    max_attempts: int = Field(8, ge=1)
    first_delay: timedelta = timedelta(seconds=30)
    factor: float = Field(2.0, ge=1.0)
    max_delay: timedelta = timedelta(hours=1)
    #: A notice left "sending" longer than this by a live process is taken over.
    sending_lease: timedelta = timedelta(minutes=10)

    def delay(self, attempts: int) -> timedelta:
        """Back-off before the next try after ``attempts`` failed attempts (exponential, capped)."""
        return min(self.first_delay * self.factor ** max(attempts - 1, 0), self.max_delay)


class CapSettings(_Model):
    status: str = Field("Actual", pattern="^(Actual|Exercise|System|Test|Draft)$")
    scope: str = Field("Public", pattern="^(Public|Restricted|Private)$")
    sender_name_zh: str = "区域大气污染联防联控协调中心"
    sender_name_en: str = "Regional joint air-pollution control coordination centre"


class Measures(_Model):
    zh: str
    en: str


class RegionNotice(_Model):
    recipients: list[Address] = Field(min_length=1)
    #: Administrative division code (GB/T 2260), used as the CAP geocode.
    geocode: str = Field(pattern=r"^\d{6}$")
    #: Measures per level name (``none blue yellow orange red``).
    measures: dict[str, Measures]

    @field_validator("measures")
    @classmethod
    def _every_level(cls, value: dict[str, Measures]) -> dict[str, Measures]:
        unknown = [k for k in value if k not in MEASURE_LEVELS]
        if unknown:
            raise ValueError(f"unknown level(s) {', '.join(unknown)}; "
                             f"levels: {', '.join(MEASURE_LEVELS)}")
        missing = [lv for lv in MEASURE_LEVELS if lv not in value]
        if missing:
            raise ValueError(f"no measures for level(s) {', '.join(missing)}")
        return value


class AlertsConfig(_Model):
    """The validated ``alerts.toml``."""

    path: Path
    schedule: Schedule = Schedule()
    issuance: Issuance = Issuance()
    state: State = State()
    smtp: Smtp
    retry: Retry = Retry()
    cap: CapSettings = CapSettings()
    regions: dict[str, RegionNotice]

    def state_url(self, data_dir: Path) -> str:
        """SQLAlchemy URL of the alert state (``[state] url`` or SQLite in ``data_dir``)."""
        return self.state.url or f"sqlite:///{data_dir / STATE_FILE}"

    @property
    def message_id_domain(self) -> str:
        """Right-hand side of every Message-ID: the sender address's domain."""
        return str(self.smtp.sender).rpartition("@")[2]


class SmtpLogin(_Model):
    """User and password read from the environment variables named in ``[smtp]``."""

    user: str
    password: str


def load_alerts_config(config: AppConfig) -> AlertsConfig:
    """Load ``alerts.toml`` from the config directory and check it against ``config``.

    Raises
    ------
    ConfigError
        naming the file and the key: invalid values, unknown regions (regions are
        those of ``regions.toml``), regions without recipients, invalid cron expressions.
    """
    path = config.config_dir / ALERTS_FILE
    raw = read_toml(path)
    for region in raw.get("regions", {}):
        if region not in config.regions:
            raise ConfigError(
                f"{path}: regions.{region}: unknown region {region!r}; "
                f"configured regions (regions.toml): {', '.join(sorted(config.regions))}"
            )
    cfg = validate_model(AlertsConfig, {"path": path, **raw}, path)
    for i, expression in enumerate(cfg.schedule.consultations):
        try:
            CronTrigger.from_crontab(expression, timezone=cfg.schedule.timezone)
        except ValueError as exc:
            raise ConfigError(
                f"{path}: schedule.consultations[{i}]: invalid cron expression "
                f"{expression!r}: {exc}"
            ) from None
    return cfg


def check_regions(cfg: AlertsConfig, regions: list[str] | tuple[str, ...]) -> None:
    """Raise ConfigError unless every region in ``regions`` has a ``[regions.<id>]`` section."""
    missing = [r for r in regions if r not in cfg.regions]
    if missing:
        raise ConfigError(
            f"{cfg.path}: regions.{missing[0]}: no recipients configured for region "
            f"{missing[0]!r} (add a [regions.{missing[0]}] section with recipients)"
        )


def smtp_login(cfg: AlertsConfig, environ: Mapping[str, str] | None = None) -> SmtpLogin | None:
    """The SMTP login from the environment variables named in config, or None if none named.

    Raises
    ------
    ConfigError
        if a named variable is not set (checked at start-up, before anything is sent).
    """
    env = os.environ if environ is None else environ
    names = {"user_env": cfg.smtp.user_env, "password_env": cfg.smtp.password_env}
    if not any(names.values()):
        return None
    for key, name in names.items():
        if not name:
            raise ConfigError(f"{cfg.path}: smtp.{key}: must be set when the other one is")
        if not env.get(name):
            raise ConfigError(
                f"{cfg.path}: smtp.{key}: environment variable {name} is not set"
            )
    return SmtpLogin(user=env[str(cfg.smtp.user_env)], password=env[str(cfg.smtp.password_env)])
