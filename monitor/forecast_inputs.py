"""Daily inputs of the forecasts, from canonical hourly readings.

* Pollutants: per station the valid daily statistics of :mod:`monitor.statistics` (24-h
  means with >= 20 valid hours; the O3 daily maximum 8-h mean), then the mean over the
  stations that have a valid value that day (the city concentration, as the city AQI is
  computed, HJ 633 clause 5 / HJ 663-2013).  A day without any valid station value is NaN:
  it stays a gap, it is not interpolated.
* Weather: per station the daily mean of ``temp pres dewp rh wspd``, the daily total of
  ``rain`` and the daily mean northerly wind component ``wind_north`` (from ``wspd`` and
  ``wdir``: northerly winds ventilate Beijing, southerly ones bring the polluted plain's
  air), each needing >= 20 valid hours (the same completeness as the 24-h means), then
  the mean over stations.

Days are local calendar days of the region's time zone, as naive dates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitor.forecast_config import WEATHER_INPUTS, WIND_NORTH
from monitor.forecast_models import AQI_POLLUTANTS
from monitor.statistics import (
    DAILY_MEAN_POLLUTANTS,
    daily_max_8h_mean,
    daily_mean,
    daily_total,
    hourly_frame,
)

_DAY = pd.Timedelta(days=1)


def _local_dates(day_end_utc: pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    """Naive local date of each day labelled by its UTC end."""
    return (day_end_utc - _DAY).tz_convert(tz).tz_localize(None).normalize()


def daily_pollutants(readings: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Daily values of the six AQI pollutants, mean over stations (local dates x pollutant).

    Parameters
    ----------
    readings : DataFrame
        Canonical hourly readings (:data:`monitor.schema.READING_COLUMNS`) of the stations
        of one series (a city, or one station).
    tz : str
        IANA time zone fixing the day boundaries.
    """
    present = set(readings["parameter"].unique())
    columns: dict[str, pd.Series] = {}
    for pollutant in AQI_POLLUTANTS:
        if pollutant not in present:
            continue
        hourly = hourly_frame(readings, pollutant)
        stat = (daily_mean(hourly, tz) if pollutant in DAILY_MEAN_POLLUTANTS
                else daily_max_8h_mean(hourly, tz))
        columns[pollutant] = _station_mean(stat.value, tz)
    frame = pd.DataFrame(columns).reindex(columns=list(AQI_POLLUTANTS))
    frame.index.name = "day"
    return frame.asfreq("D") if len(frame) else frame


def _north_wind(readings: pd.DataFrame) -> pd.DataFrame:
    """Hourly northerly wind component ``wspd * cos(wdir)`` (m/s; > 0: wind from the north),
    one column per station.

    ``wdir`` is the direction the wind blows from (degrees clockwise from north), so the
    cosine weights a north wind +1 and a south wind -1; an hour needs both values.
    """
    speed, direction = hourly_frame(readings, "wspd"), hourly_frame(readings, "wdir")
    return speed * np.cos(np.deg2rad(direction))


def daily_weather(readings: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Daily weather, mean over stations (local dates x ``temp pres dewp rh rain wspd``
    and ``wind_north``, the mean northerly wind component, from ``wspd`` and ``wdir``).

    Means (totals for ``rain``) of :mod:`monitor.statistics`, needing
    :data:`monitor.statistics.MIN_HOURS_24H` valid hours; negative temperatures and dew
    points and northerly components are ordinary values here.
    """
    present = set(readings["parameter"].unique())
    columns: dict[str, pd.Series] = {}
    for name in (*WEATHER_INPUTS, WIND_NORTH):
        needs = {"wspd", "wdir"} if name == WIND_NORTH else {name}
        if not needs <= present:
            continue
        if name == "rain":
            stat = daily_total(hourly_frame(readings, name), tz)
        else:
            hourly = _north_wind(readings) if name == WIND_NORTH else hourly_frame(readings,
                                                                                     name)
            stat = daily_mean(hourly, tz, negative_valid=True)
        columns[name] = _station_mean(stat.value, tz)
    frame = pd.DataFrame(columns)
    frame.index.name = "day"
    return frame.asfreq("D") if len(frame) else frame


def _station_mean(daily: pd.DataFrame, tz: str) -> pd.Series:
    """Mean over the stations with a value, indexed by naive local date."""
    city = daily.mean(axis=1)
    return pd.Series(city.to_numpy(), index=_local_dates(city.index, tz))
