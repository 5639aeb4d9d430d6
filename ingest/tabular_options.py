"""Options of the generic tabular reader, validated from a feed's ``options`` table.

A new province's CSV needs only a ``[feeds.<id>]`` entry in ``config/feeds.toml``, e.g.::

    [feeds.anhui_hourly_air]
    adapter = "tabular"
    paths = ["../incoming/anhui/*.csv"]
    encoding = "gbk"
    [feeds.anhui_hourly_air.options]
    layout = "long"                      # or "wide_by_station"
    delimiter = ";"
    header_row = 1                       # 1-based line of the header
    missing = ["", "NA", "--"]
    not_monitored = ["/"]                # the station does not measure it (not missing)
    station_column = "站点编码"           # or station = "<fixed id>"
    station_prefix = "cn:"               # namespace of native station codes
    station_map = { "老城区" = "cn:3001A" }  # native station -> id, before the prefix
    require_known_station = true         # stations not in the station table -> quarantine
    time = { column = "时间", format = "%Y/%m/%d %H:%M" }
    # or time = { year = "year", month = "month", day = "day", hour = "hour" }
    # or time = { date = "date", format = "%Y%m%d", hour = "hour" }
    columns = { "PM2.5浓度" = "pm25", "O3_24h" = "o3:1h_max_24h" }  # native -> name[_period]
                                         # or exact "parameter:period"
    units = { CO = "ug/m3" }             # unit per native column (default: canonical unit)
    ignore_columns = ["AQI"]             # recognised names not to read

Columns whose names :func:`ingest.harmonize.canonical_name` recognises are read
without listing them (``auto_columns = false`` turns that off).  A unit of
``compass`` reads wind direction given as compass points.  For ``wide_by_station``,
``parameter_column`` names the column that holds each row's parameter and
``station_columns`` is a regular expression selecting the station columns (default:
every column that is not a time or parameter column).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.harmonize import NativeName, canonical_name, canonical_unit
from ingest.qc import DEFAULT_STUCK_HOURS
from monitor.config import Feed, validate_model
from monitor.schema import PARAMETERS, PERIODS

#: Unit spelling for values that are compass points (converted to degrees).
COMPASS_UNIT = "compass"


def resolve_name(name: str, default_period: str) -> NativeName | None:
    """A configured target name: ``parameter:period`` exactly, else a harmonize alias."""
    if ":" in name:
        param, period = name.split(":", 1)
        if param in PARAMETERS and period in PERIODS:
            return NativeName(param, period)
        return None
    return canonical_name(name, default_period)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeSpec(_Strict):
    """Where the local timestamp of a row is: one column, date + hour, or four columns."""

    column: str | None = None
    date: str | None = None
    year: str | None = None
    month: str | None = None
    day: str | None = None
    hour: str | None = None
    #: strptime format of ``column`` or ``date`` (default: ISO 8601 for ``column``).
    format: str | None = None

    @model_validator(mode="after")
    def _one_scheme(self) -> TimeSpec:
        schemes = [self.column is not None, self.date is not None, self.year is not None]
        if sum(schemes) != 1:
            raise ValueError("give exactly one of: column, date (+ hour), year + month + day "
                             "(+ hour)")
        if self.year is not None and (self.month is None or self.day is None):
            raise ValueError("year needs month and day")
        if self.date is not None and self.format is None:
            raise ValueError("date needs format (e.g. '%Y%m%d')")
        return self

    @property
    def columns(self) -> list[str]:
        """The native columns the timestamp is read from."""
        names = (self.column, self.date, self.year, self.month, self.day, self.hour)
        return [n for n in names if n is not None]


class TabularOptions(_Strict):
    """Everything the generic tabular reader needs to know about a feed's files."""

    layout: Literal["long", "wide_by_station"] = "long"
    delimiter: str = Field(",", min_length=1, max_length=1)
    header_row: int = Field(1, ge=1)
    missing: list[str] = Field(default_factory=lambda: ["", "NA"])
    #: Cells saying the station does not measure the parameter (reason ``not_monitored``).
    not_monitored: list[str] = Field(default_factory=list)
    time: TimeSpec
    station_column: str | None = None
    station: str | None = None
    station_prefix: str = ""
    station_map: dict[str, str] = Field(default_factory=dict)
    require_known_station: bool = False
    columns: dict[str, str] = Field(default_factory=dict)
    auto_columns: bool = True
    units: dict[str, str] = Field(default_factory=dict)
    ignore_columns: list[str] = Field(default_factory=list)
    period: str = "1h"
    parameter_column: str | None = None
    station_columns: str | None = None
    #: Run length of the QC ``stuck`` check (see :mod:`ingest.qc`).
    stuck_hours: int = Field(DEFAULT_STUCK_HOURS, ge=2)

    @model_validator(mode="after")
    def _consistent(self) -> TabularOptions:
        if self.period not in PERIODS:
            raise ValueError(f"period {self.period!r} not one of {', '.join(PERIODS)}")
        if self.layout == "long" and (self.station_column is None) == (self.station is None):
            raise ValueError("layout 'long' needs exactly one of station_column, station")
        if self.layout == "wide_by_station" and self.parameter_column is None:
            raise ValueError("layout 'wide_by_station' needs parameter_column")
        for native, name in self.columns.items():
            if resolve_name(name, self.period) is None:
                raise ValueError(f"columns.{native}: {name!r} is neither a parameter name "
                                 "nor 'parameter:period' of the canonical vocabulary")
        for native, unit in self.units.items():
            if unit != COMPASS_UNIT:
                try:
                    canonical_unit(unit)
                except ValueError as exc:
                    raise ValueError(f"units.{native}: {exc}") from None
        if self.station_columns is not None:
            try:
                re.compile(self.station_columns)
            except re.error as exc:
                raise ValueError(f"station_columns: bad regular expression: {exc}") from None
        return self

    @classmethod
    def for_feed(cls, feed: Feed, defaults: dict[str, Any] | None = None) -> TabularOptions:
        """Options of ``feed``: an adapter's ``defaults`` updated by the feed's ``options``.

        Keys the tabular reader does not know are left to the adapter (ignored here).

        Raises
        ------
        ConfigError
            naming the feed and the option that is wrong.
        """
        merged = {**(defaults or {}), **feed.options}
        known = {k: v for k, v in merged.items() if k in cls.model_fields}
        return validate_model(cls, known, "feeds.toml", f"feeds.{feed.id}.options.")

    def id_columns(self) -> list[str]:
        """Columns that locate a row (time, station or parameter), not values."""
        ids = list(self.time.columns)
        ids += [c for c in (self.station_column, self.parameter_column) if c is not None]
        return ids

    def value_column(self, native: str) -> NativeName | None:
        """Canonical (parameter, period) of a long-layout column, or None if not read."""
        if native in self.columns:
            return resolve_name(self.columns[native], self.period)
        if not self.auto_columns or native in self.ignore_columns:
            return None
        if native in self.id_columns():
            return None
        return canonical_name(native, self.period)

    def unit_of(self, native: str, param: str) -> str | None:
        """Declared unit of a native column / parameter type, None for the canonical unit."""
        return self.units.get(native, self.units.get(param))

    def station_id(self, native: str) -> str:
        """Station id of a native station code or name (``station_map``, else prefix)."""
        return self.station_map.get(native, self.station_prefix + native)
