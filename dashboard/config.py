"""Configuration of the dashboard: ``config/dashboard.toml``, validated at start-up.

Sections (see the shipped ``config/dashboard.toml``):

``[server]``
    ``host``, ``port``, the page's ``refresh_interval`` and ``secret_env``, the *name* of
    the environment variable holding the session-cookie secret.
``[users.<name>]``
    ``role`` (``viewer``: a regional bureau, read only; ``operator``: the coordinating
    centre, may confirm and override issuances) and ``password_hash`` (a
    ``werkzeug.security`` hash such as ``scrypt:32768:8:1$...``; never a password).

Every error names the file and the key (:class:`monitor.config.ConfigError`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitor.config import AppConfig, ConfigError, read_toml, validate_model

#: File name of the dashboard configuration inside the config directory.
DASHBOARD_FILE = "dashboard.toml"
#: Hash methods ``werkzeug.security.check_password_hash`` verifies.
HASH_METHODS: tuple[str, ...] = ("scrypt", "pbkdf2")
#: Shortest session secret accepted (bytes of text).
MIN_SECRET_LENGTH = 32


class Role(StrEnum):
    """What a dashboard user may do."""

    VIEWER = "viewer"  # a regional bureau: sees everything, changes nothing
    OPERATOR = "operator"  # the coordinating centre: may confirm / override issuances


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Server(_Model):
    """Where the dashboard listens and how often the page refreshes its data."""

    host: str = "127.0.0.1"
    port: int = Field(8050, ge=1, le=65535)
    refresh_interval: timedelta = timedelta(minutes=1)
    secret_env: str = "JOINTWATCH_DASHBOARD_SECRET"

    @field_validator("refresh_interval")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("must be at least one second")
        return value


class User(_Model):
    """One dashboard login."""

    role: Role
    password_hash: str

    @field_validator("password_hash")
    @classmethod
    def _is_hash(cls, value: str) -> str:
        method = value.split(":", 1)[0].split("$", 1)[0]
        if method not in HASH_METHODS or "$" not in value:
            raise ValueError("must be a werkzeug.security password hash "
                             f"({' or '.join(HASH_METHODS)}), never a password; make one "
                             "with: python -m dashboard.auth")
        return value


class DashboardConfig(_Model):
    """The content of ``dashboard.toml``."""

    server: Server = Field(default_factory=Server)
    users: dict[str, User] = Field(min_length=1)


def load_dashboard_config(config: AppConfig) -> DashboardConfig:
    """Read and validate ``dashboard.toml`` of ``config.config_dir``.

    Raises
    ------
    ConfigError
        naming the file and the key that is wrong.
    """
    path = config.config_dir / DASHBOARD_FILE
    return validate_model(DashboardConfig, read_toml(path), path)


def session_secret(cfg: DashboardConfig, environ: Mapping[str, str] | None = None) -> str:
    """The session-cookie secret from the environment variable ``[server] secret_env``.

    Raises
    ------
    ConfigError
        when the variable is unset or shorter than :data:`MIN_SECRET_LENGTH`.
    """
    env = os.environ if environ is None else environ
    name = cfg.server.secret_env
    secret = env.get(name, "")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"{DASHBOARD_FILE}: server.secret_env: environment variable {name} must hold the "
            f"session-cookie secret (at least {MIN_SECRET_LENGTH} characters), e.g. "
            f"export {name}=$(python -c 'import secrets; print(secrets.token_hex(32))')")
    return secret
