"""National station network, one file per day wide by station (quotsoft.net archive).

Format: ``date,hour,type,1001A,1002A,...``: one row per hour and parameter type, one
column per national station code; ``date`` like ``20170101`` and ``hour`` 0-23 in
Beijing time; empty cells missing.  Types ``AQI, PM2.5, PM2.5_24h, PM10, PM10_24h,
SO2, SO2_24h, NO2, NO2_24h, O3, O3_24h, O3_8h, O3_8h_24h, CO, CO_24h``; the published
AQI follows HJ 633-2012; gases at 273 K (before the 2018 amendment of GB 3095-2012),
kept as published; CO in mg/m³.

Ozone types, as the 2017-01-01 file shows (station 1001A): ``O3_24h`` is the maximum
1-h value of the last 24 h (it holds 9 from the previous day until 04:00, then falls)
→ period ``1h_max_24h``; ``O3_8h`` the current 8-h running mean → ``8h``;
``O3_8h_24h`` the maximum 8-h mean of the last 24 h → ``8h_max_24h``.

A record is one (row, station column) cell (see :mod:`ingest.base`).  Station ids are
``cn:<code>``.  Codes of 2017 that are not in the current station table (585 of 1,497 on
2017-01-01: the network was renumbered and extended since) are valid national codes:
their data are kept under ``cn:<code>``, and the pipeline lists each such station with
its id, medium and source only (:func:`ingest.stations.unlisted_stations`; name, city
and position unknown), so ``jointwatch stations`` shows them.

References
----------
.. [1] CNEMC national real-time release, archived daily by quotsoft.net
   (https://quotsoft.net/air/), public government data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest.base import FileResult, IngestContext
from ingest.tabular import read_tabular
from monitor.config import Feed

#: Native types whose period the harmonize aliases would get wrong (see module notes).
VARIABLE_MAP: dict[str, str] = {
    "O3_24h": "o3:1h_max_24h",
    "O3_8h": "o3:8h",
    "O3_8h_24h": "o3:8h_max_24h",
}

#: Tabular reader options of this format (a feed's ``options`` may override them).
OPTIONS: dict[str, Any] = {
    "layout": "wide_by_station",
    "missing": [""],
    "parameter_column": "type",
    "time": {"date": "date", "format": "%Y%m%d", "hour": "hour"},
    "station_prefix": "cn:",
    "station_columns": r"\d{4}[A-Z]",
    "columns": VARIABLE_MAP,
}


def read(path: Path, feed: Feed, ctx: IngestContext) -> FileResult:
    """Read one daily file (unknown station codes kept, see module notes)."""
    return read_tabular(path, feed, ctx, OPTIONS).result
