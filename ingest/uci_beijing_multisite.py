"""UCI "Beijing Multi-Site Air-Quality" data set (Zhang et al. 2017), one CSV per station.

Format: ``No,year,month,day,hour,PM2.5,PM10,SO2,NO2,CO,O3,TEMP,PRES,DEWP,RAIN,wd,WSPM,
station``, hourly 2013-03-01 .. 2017-02-28, Beijing local time (UTC+8) in four columns
taken as published (the hour label is the time of the reading); ``NA`` missing; CRLF.
Units: pollutants in µg/m³ — including CO, which the Chinese standard and the canonical
vocabulary give in mg/m³ (so CO 300 → 0.3 mg/m³); gases at the reference conditions in
force then (273 K, GB 3095-2012 before its 2018 amendment), kept as published;
TEMP and DEWP °C, PRES hPa, RAIN mm in the hour, WSPM m/s, ``wd`` a 16-point compass
direction (``NNW`` → 337.5°).

Stations: the ``station`` column holds a pinyin name; the feed's ``station_map`` option
(``config/feeds.toml``) maps each name to its national station id, checked by name
against ``config/stations_cn.csv``; a name without a national counterpart in that list
(Dingling, Gucheng) becomes ``uci:<name>`` through ``station_prefix``.

References
----------
.. [1] Zhang, S., Guo, B., Dong, A., He, J., Xu, Z., Chen, S.X. (2017). Cautionary tales
   on air-quality improvement in Beijing. Proc. R. Soc. A 473: 20170457.
   Data: UCI Machine Learning Repository, doi:10.24432/C5RK5G (CC BY 4.0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest.base import FileResult, IngestContext
from ingest.tabular import read_tabular
from ingest.tabular_options import COMPASS_UNIT
from monitor.config import Feed

#: Native column -> canonical parameter.
VARIABLE_MAP: dict[str, str] = {
    "PM2.5": "pm25", "PM10": "pm10", "SO2": "so2", "NO2": "no2", "CO": "co", "O3": "o3",
    "TEMP": "temp", "PRES": "pres", "DEWP": "dewp", "RAIN": "rain", "wd": "wdir",
    "WSPM": "wspd",
}

#: Tabular reader options of this format (a feed's ``options`` may override them).
OPTIONS: dict[str, Any] = {
    "layout": "long",
    "missing": ["", "NA"],
    "station_column": "station",
    "station_prefix": "uci:",
    "time": {"year": "year", "month": "month", "day": "day", "hour": "hour"},
    "columns": VARIABLE_MAP,
    "auto_columns": False,
    "units": {"CO": "ug/m3", "wd": COMPASS_UNIT},
}


def read(path: Path, feed: Feed, ctx: IngestContext) -> FileResult:
    """Read one station file of the UCI Beijing multi-site data set."""
    return read_tabular(path, feed, ctx, OPTIONS).result
