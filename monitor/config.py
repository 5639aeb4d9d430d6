"""Configuration: TOML files in a config directory, validated into typed objects at start-up.

The rest of jointwatch receives an :class:`AppConfig`; nothing deeper reads
configuration files or environment variables.

Files (all in one directory, default ``config/`` of the project, or ``--config DIR``):

``regions.toml``
    ``[regions.<id>]`` name, name_en, timezone, cities (Chinese city names as in the feeds).
``feeds.toml``
    ``[feeds.<id>]`` adapter, paths (globs, relative to the config directory's parent),
    region, timezone, expected_interval, encoding, and adapter ``options``.

Later sections (standards, warning grades, alerts, dashboard) add their own files and models here.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: The project's own config directory (used when no other is given).
DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
#: Environment variable naming the data directory.
HOME_ENV = "JOINTWATCH_HOME"


class ConfigError(ValueError):
    """A configuration file is missing or invalid; the message names file and field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)"
        ) from None
    return value


class Region(_Model):
    """A participating province-level region and its member cities."""

    id: str
    name: str
    name_en: str = ""
    timezone: str = "Asia/Shanghai"
    cities: list[str] = Field(default_factory=list)

    _tz = field_validator("timezone")(check_timezone)


class Feed(_Model):
    """One monitoring feed: where its files are and which adapter reads them."""

    id: str
    adapter: str
    paths: list[str]
    description: str = ""
    region: str | None = None
    timezone: str = "Asia/Shanghai"
    encoding: str = "utf-8"
    expected_interval: timedelta = timedelta(hours=1)
    #: Adapter-specific settings (column maps, station maps, year for year-less times...).
    options: dict[str, Any] = Field(default_factory=dict)

    _tz = field_validator("timezone")(check_timezone)


class AppConfig(_Model):
    """The whole validated configuration."""

    config_dir: Path
    regions: dict[str, Region]
    feeds: dict[str, Feed]

    @property
    def base_dir(self) -> Path:
        """Directory that relative feed paths are resolved against."""
        return self.config_dir.parent

    def feed_files(self, feed: Feed) -> list[Path]:
        """All files matching the feed's globs, sorted, without duplicates."""
        found: set[Path] = set()
        for pattern in feed.paths:
            p = Path(os.path.expandvars(pattern))
            if not p.is_absolute():
                p = self.base_dir / p
            anchor = Path(p.anchor)
            found.update(x for x in anchor.glob(str(p.relative_to(anchor))) if x.is_file())
        return sorted(found)

    def region_of_city(self, city: str) -> str | None:
        return self.city_regions().get(city)

    def city_regions(self) -> dict[str, str]:
        """Each configured city -> id of the first region listing it (for vectorized maps)."""
        found: dict[str, str] = {}
        for region in self.regions.values():
            for city in region.cities:
                found.setdefault(city, region.id)
        return found


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


M = TypeVar("M", bound=BaseModel)


def validate_model(model: type[M], data: Any, where: Path | str, prefix: str = "") -> M:
    """``model.model_validate(data)``, or a :class:`ConfigError` naming ``where`` and each
    wrong key (dotted, after ``prefix``) with pydantic's message."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{prefix}{'.'.join(str(x) for x in err['loc']) or '(file)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{where}: {problems}") from None


def _validate(model: type[_Model], path: Path, section: str, key: str, data: Any) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: [{section}.{key}] must be a table")
    return validate_model(model, {"id": key, **data}, path, f"{section}.{key}.")


def _section(path: Path, section: str, model: type[_Model]) -> dict[str, Any]:
    raw = read_toml(path).get(section, {})
    return {key: _validate(model, path, section, key, value) for key, value in raw.items()}


def load_config(config_dir: Path | str | None = None) -> AppConfig:
    """Load and validate every configuration file in ``config_dir``.

    Raises
    ------
    ConfigError
        naming the file and the field that is wrong.
    """
    cdir = Path(config_dir) if config_dir else DEFAULT_CONFIG_DIR
    cdir = cdir.resolve()
    regions = _section(cdir / "regions.toml", "regions", Region)
    feeds_path = cdir / "feeds.toml"
    feeds = _section(feeds_path, "feeds", Feed)
    for feed in feeds.values():
        if feed.region is not None and feed.region not in regions:
            raise ConfigError(
                f"{feeds_path}: feeds.{feed.id}.region: unknown region {feed.region!r}; "
                f"configured regions: {', '.join(sorted(regions))}"
            )
    return AppConfig(config_dir=cdir, regions=regions, feeds=feeds)


def data_dir(explicit: str | Path | None = None) -> Path:
    """The data directory: ``--data-dir``, else ``$JOINTWATCH_HOME``, else ``./var``."""
    chosen = explicit or os.environ.get(HOME_ENV) or "var"
    return Path(chosen).resolve()
