"""Operational forecast runs: store -> city series -> cached models -> forecasts -> decision.

Used by the CLI (``jointwatch forecast / decide / backtest``) and, through
:func:`decision_source`, by the scheduled consultations of ``alerts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from monitor.config import AppConfig
from monitor.decision import CityKey, RegionalDecision, decide
from monitor.forecast import (
    HISTORY_ONLY,
    WEATHER_FORECAST,
    SeriesForecast,
    forecast_series,
)
from monitor.forecast_cache import ModelCache, current_models
from monitor.forecast_config import WEATHER_PARAMETERS, ForecastConfig, load_forecast_config
from monitor.forecast_inputs import daily_pollutants, daily_weather
from monitor.forecast_models import AQI_POLLUTANTS
from monitor.rules_config import load_warning_rules
from monitor.store import Store
from monitor.store_config import open_store


@dataclass(frozen=True)
class AreaForecast:
    """Forecasts of every member city of an area from one issue time, and the decision."""

    area: str
    issue_time: pd.Timestamp
    origin: pd.Timestamp
    members: dict[str, list[str]]
    forecasts: dict[CityKey, SeriesForecast]
    decision: RegionalDecision
    #: Per-station forecasts (station id -> forecast), when asked for.
    stations: dict[str, SeriesForecast] = field(default_factory=dict)


def area_members(config: AppConfig, fconfig: ForecastConfig, target: str
                 ) -> tuple[dict[str, list[str]], str]:
    """Member regions -> cities of an area (``[decision.areas]``) or of one region, and the
    time zone of the first member region.

    Raises
    ------
    ValueError
        naming the configured areas and regions when ``target`` is neither.
    """
    if target in fconfig.decision.areas:
        regions = list(fconfig.decision.areas[target])
    elif target in config.regions:
        regions = [target]
    else:
        raise ValueError(f"unknown area or region {target!r}; areas: "
                         f"{', '.join(sorted(fconfig.decision.areas)) or '(none)'}; regions: "
                         f"{', '.join(sorted(config.regions))}")
    members = {r: list(config.regions[r].cities) for r in regions}
    return members, config.regions[regions[0]].timezone


def origin_of(issue_time: pd.Timestamp, tz: str) -> pd.Timestamp:
    """The first forecast day: the local date of the issue time (naive)."""
    return issue_time.tz_convert(tz).tz_localize(None).normalize()


def series_inputs(store: Store, station_ids: list[str], tz: str, origin: pd.Timestamp,
                  fconfig: ForecastConfig) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Daily pollutants (days < origin, mean over ``station_ids``) and weather (history and
    forecast days) of one series.

    Readings are read up to the origin's local midnight only: a run for a past issue time
    never sees later data.  Weather comes from ``forecast.weather_source`` when configured.
    """
    settings = fconfig.forecast
    start_local = origin - pd.Timedelta(days=settings.history_days)

    def to_utc(day: pd.Timestamp) -> pd.Timestamp:
        return day.tz_localize(tz).tz_convert("UTC")

    if not station_ids:
        return pd.DataFrame(columns=list(AQI_POLLUTANTS)), None
    readings = store.readings(stations=station_ids, parameters=list(AQI_POLLUTANTS),
                              periods="1h", start=to_utc(start_local), end=to_utc(origin))
    daily = daily_pollutants(readings, tz) if len(readings) else pd.DataFrame()
    daily = daily.loc[daily.index < origin] if len(daily) else daily
    weather = None
    if settings.weather_source:
        horizon_end = origin + pd.Timedelta(days=settings.horizon_days)
        wx = store.readings(stations=station_ids, parameters=list(WEATHER_PARAMETERS),
                            periods="1h", sources=settings.weather_source,
                            start=to_utc(start_local), end=to_utc(horizon_end))
        weather = daily_weather(wx, tz) if len(wx) else None
    return daily, weather


def city_stations(stations: pd.DataFrame, region: str, city: str) -> list[str]:
    """Ids of the stations of ``city`` in ``region`` (station table of the store)."""
    chosen = (stations["region"] == region) & (stations["city"] == city)
    return stations.loc[chosen, "station_id"].tolist()


def forecast_series_id(store: Store, cache: ModelCache, series_id: str, station_ids: list[str],
                       tz: str, origin: pd.Timestamp, fconfig: ForecastConfig
                       ) -> SeriesForecast:
    """Forecast one series (a city: its stations; a station: itself) from cached models
    (refitted when stale), updating the cache."""
    daily, weather = series_inputs(store, station_ids, tz, origin, fconfig)
    if daily.empty or daily.dropna(how="all").empty:
        return SeriesForecast(series_id, origin, HISTORY_ONLY, "insufficient data",
                              pd.DataFrame(), pd.DataFrame(),
                              f"insufficient data: no readings for {series_id} in the store "
                              "before the issue day")
    horizon_days = pd.date_range(origin, periods=fconfig.forecast.horizon_days, freq="D")
    with_weather = weather is not None and weather.reindex(horizon_days).notna().all().all()
    mode = WEATHER_FORECAST if with_weather else HISTORY_ONLY
    spec = fconfig.model(with_weather)
    cached = cache.load(series_id, mode)
    models = current_models(cached, series_id, daily, origin, spec, fconfig.forecast,
                            weather if with_weather else None)
    forecast, moved = forecast_series(models, daily, origin, fconfig.forecast, tz=tz,
                                      mode=mode, weather=weather if with_weather else None)
    if not moved.insufficient:
        cache.save(moved, mode)
    return forecast


def forecast_area(config: AppConfig, store: Store, target: str, issue_time: pd.Timestamp,
                  fconfig: ForecastConfig | None = None, *, with_stations: bool = False
                  ) -> AreaForecast:
    """Forecast every member city of ``target`` and make the regional decision.

    ``with_stations`` also forecasts each station of the member cities on its own (for
    display; the decision uses the city series).
    """
    fconfig = fconfig or load_forecast_config(config)
    members, tz = area_members(config, fconfig, target)
    origin = origin_of(issue_time, tz)
    stations = store.stations()
    cache = ModelCache(store.data_dir)
    forecasts = {(region, city): forecast_series_id(store, cache, f"{region}/{city}",
                                                    city_stations(stations, region, city), tz,
                                                    origin, fconfig)
                 for region, cities in members.items() for city in cities}
    per_station = {}
    if with_stations:
        per_station = {sid: forecast_series_id(store, cache, sid, [sid], tz, origin, fconfig)
                       for region, cities in members.items() for city in cities
                       for sid in city_stations(stations, region, city)}
    decision = decide(target, members, forecasts, issue_time.to_pydatetime(),
                      rules=load_warning_rules(config.config_dir), grading=fconfig.grading,
                      settings=fconfig.decision, tz=tz)
    return AreaForecast(target, issue_time, origin, members, forecasts, decision, per_station)


def decision_source(config: AppConfig, data_dir: Path, now: datetime
                    ) -> RegionalDecision | None:
    """Decision of ``[decision] default_area`` at ``now`` (``alerts`` decision source).

    None when no default area is configured.  Reads the store of ``data_dir``.
    """
    fconfig = load_forecast_config(config)
    if fconfig.decision.default_area is None:
        return None
    store = open_store(config, data_dir)
    return forecast_area(config, store, fconfig.decision.default_area, pd.Timestamp(now),
                         fconfig).decision
