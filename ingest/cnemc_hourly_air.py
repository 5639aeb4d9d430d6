"""China national real-time air quality release (CNEMC), one long CSV per hour.

Format: ``timepoint,stationcode,longitude,latitude,area,positionname,primarypollutant,
aqi,pm10,pm10_24h,pm2_5,pm2_5_24h,o3,o3_24h,o3_8h,o3_8h_24h,no2,no2_24h,so2,so2_24h,
co,co_24h``; ``timepoint`` like ``2026-03-03T0800`` in Beijing time (end of the hour);
``NA`` means missing and ``/`` that the station does not measure the pollutant (reason
``not_monitored``, which HJ 633-2026's completeness rule needs apart); CO in mg/m³, the
others in µg/m³; gases at 298.15 K / 1013.25 hPa (GB 3095-2012 amendment 1), which is the
canonical basis, so no conversion.  The published ``aqi`` (HJ 633-2026 since 2026-03-01) is kept as
parameter ``aqi``; ``primarypollutant`` is text and not a reading.

Ozone columns, as the data show (all 76,7xx rows of 2026-03-03 and 2026-05-01):

* ``o3_24h`` equals ``o3`` in every row: a copy of the 1-h value, not a 24-h statistic.
  It is not read (it would collide with ``o3`` 1h under the reading key).
* ``o3_8h`` is the day's maximum 8-h running mean so far (it never decreases during a
  day, is missing 01:00-07:00 before the first 8-h window of the day, and is >= the other
  8-h column in every row) → period ``8h_max_24h``.
* ``o3_8h_24h`` is the current 8-h running mean (the mean of the last eight ``o3``
  values, e.g. 1001A 2026-03-03 09:00: 44) → period ``8h``.

Station ids are ``cn:<stationcode>``; each file's station metadata (code, name, city,
lon, lat) is returned in ``FileResult.stations``.

References
----------
.. [1] CNEMC, 全国城市空气质量实时发布平台 (national real-time air quality release).
.. [2] HJ 633-2026 Technical regulation on ambient air quality index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.base import FileResult, IngestContext
from ingest.tabular import read_tabular
from monitor.config import Feed
from monitor.schema import STATION_COLUMNS

#: Native column -> canonical ``parameter`` or ``parameter:period`` (see module notes).
VARIABLE_MAP: dict[str, str] = {
    "aqi": "aqi",
    "pm2_5": "pm25", "pm2_5_24h": "pm25:24h",
    "pm10": "pm10", "pm10_24h": "pm10:24h",
    "so2": "so2", "so2_24h": "so2:24h",
    "no2": "no2", "no2_24h": "no2:24h",
    "co": "co", "co_24h": "co:24h",
    "o3": "o3", "o3_8h": "o3:8h_max_24h", "o3_8h_24h": "o3:8h",
}

#: Tabular reader options of this format (a feed's ``options`` may override them).
OPTIONS: dict[str, Any] = {
    "layout": "long",
    "missing": ["", "NA"],
    "not_monitored": ["/"],
    "station_column": "stationcode",
    "station_prefix": "cn:",
    "time": {"column": "timepoint", "format": "%Y-%m-%dT%H%M"},
    "columns": VARIABLE_MAP,
    "auto_columns": False,
}

#: Native columns of station metadata (name, city, position).
STATION_FIELDS: list[str] = ["positionname", "area", "longitude", "latitude"]


#: The last station table built per feed, with what it was built from: consecutive hourly
#: files of one release mostly list the same stations, and then reuse it (see :func:`read`).
_LAST_STATIONS: dict[str, tuple[pa.Table, IngestContext, pd.DataFrame, pd.DataFrame]] = {}


def station_table(rows: pa.Table, ctx: IngestContext, source: str) -> pd.DataFrame:
    """Station metadata of the accepted rows (one per station, STATION_COLUMNS).

    ``rows``: the :data:`STATION_FIELDS` and ``station_id`` of the accepted rows.  The
    region is the configured region of the city, else the region the station table
    already gives the station (e.g. the province in ``config/stations_cn.csv``).
    """
    if rows.num_rows == 0:
        return pd.DataFrame(columns=STATION_COLUMNS)
    ids = rows["station_id"].to_numpy()
    if len(pd.unique(ids)) < len(ids):  # keep each station's last row
        last = pd.Series(np.arange(len(ids))).groupby(ids, sort=False).max().to_numpy()
        rows, ids = rows.take(np.sort(last)), ids[np.sort(last)]
    areas = rows["area"].cast(pa.string()).combine_chunks().dictionary_encode()
    cities = areas.dictionary.to_pylist()
    codes = pc.fill_null(areas.indices, len(cities)).to_numpy()  # no city: the None after
    city_regions = ctx.config.city_regions()
    region = np.array([*(city_regions.get(c) for c in cities), None], dtype=object)[codes]
    unassigned = pd.isna(region)
    if unassigned.any() and not ctx.stations.empty:
        # a dict beats pandas' index lookup on string ids here
        known = dict(zip(ctx.stations["station_id"].to_numpy(dtype=object),
                         ctx.stations["region"].to_numpy(dtype=object), strict=True))
        region[unassigned] = [known.get(i) for i in ids[unassigned]]
    given = {
        "station_id": ids,
        "name": rows["positionname"].to_numpy(),
        "region": region,
        "city": rows["area"].to_numpy(),
        "lon": _numbers(rows["longitude"]),
        "lat": _numbers(rows["latitude"]),
        "medium": np.full(len(ids), "air", dtype=object),
        "source": np.full(len(ids), source, dtype=object),
    }
    absent = np.full(len(ids), None, dtype=object)
    # text columns as object: letting pandas infer its string type costs more than the rest
    frame = pd.DataFrame({c: given.get(c, absent) for c in STATION_COLUMNS}, dtype=object)
    frame["lon"], frame["lat"] = given["lon"], given["lat"]
    return frame


def _numbers(column: pa.ChunkedArray) -> np.ndarray:
    """Coordinates as floats (NaN where missing or not a number)."""
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return pc.cast(column, pa.float64()).to_numpy()
    return pd.to_numeric(column.to_pandas(), errors="coerce").to_numpy(dtype="float64")


def read(path: Path, feed: Feed, ctx: IngestContext) -> FileResult:
    """Read one hourly file of the national release into canonical readings and stations."""
    outcome = read_tabular(path, feed, ctx, OPTIONS)
    meta = outcome.accepted(STATION_FIELDS)
    if meta is None:
        return outcome.result
    last = _LAST_STATIONS.get(feed.id)
    if last is not None and last[1] is ctx and last[2] is ctx.stations and last[0].equals(meta):
        outcome.result.stations = last[3]
    else:
        outcome.result.stations = station_table(meta, ctx, feed.id)
        _LAST_STATIONS[feed.id] = (meta, ctx, ctx.stations, outcome.result.stations)
    return outcome.result
