"""A tiny adapter for pipeline and store tests (feed ``adapter = "tests.csv_fixture_adapter"``).

Input: UTF-8 CSV with header ``station,city,time,parameter,value`` -- one reading per
row, ``time`` an ISO UTC timestamp (end of the hour), ``station`` a bare code that
becomes ``fx:<code>``.  A bad time or an unknown parameter quarantines the row; a
row repeating an earlier (station, time, parameter) is a duplicate; an empty value
is stored as ``invalid`` / ``missing``.  Each station with a city is reported with it
(stations with an empty city are left for the pipeline to list).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ingest.base import FileResult, IngestContext
from monitor.config import Feed
from monitor.schema import PARAMETERS, QUARANTINE_COLUMNS, READING_COLUMNS, STATION_COLUMNS

HEADER = "station,city,time,parameter,value"


def read(path: Path, feed: Feed, ctx: IngestContext) -> FileResult:
    """Read one fixture CSV into canonical readings, quarantine and stations."""
    del ctx
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw["source_row"] = raw.index + 2  # line number in the file (header is line 1)
    time = pd.to_datetime(raw["time"], utc=True, errors="coerce", format="ISO8601")
    bad_time = time.isna()
    bad_parameter = ~raw["parameter"].isin(PARAMETERS) & ~bad_time
    quarantine = pd.concat([
        pd.DataFrame({"field": "time", "reason": "bad_timestamp", "raw": raw.loc[bad_time, "time"],
                      "source_row": raw.loc[bad_time, "source_row"]}),
        pd.DataFrame({"field": "parameter", "reason": "unknown_parameter",
                      "raw": raw.loc[bad_parameter, "parameter"],
                      "source_row": raw.loc[bad_parameter, "source_row"]}),
    ]).assign(source=feed.id, source_file=str(path))[QUARANTINE_COLUMNS]
    good = raw[~bad_time & ~bad_parameter].assign(time=time[~bad_time & ~bad_parameter])
    good = good.assign(station_id="fx:" + good["station"])
    unique = good.drop_duplicates(["station_id", "time", "parameter"], keep="first")
    value = pd.to_numeric(unique["value"], errors="coerce")
    readings = pd.DataFrame({
        "station_id": unique["station_id"],
        "time": unique["time"],
        "period": "1h",
        "parameter": unique["parameter"],
        "value": value,
        "unit": unique["parameter"].map(lambda p: PARAMETERS[p].unit),
        "flag": value.isna().map({True: "invalid", False: "valid"}),
        "flag_reason": value.isna().map({True: "missing", False: None}),
        "source": feed.id,
        "source_file": str(path),
        "source_row": unique["source_row"].astype("int64"),
    })[READING_COLUMNS]
    stations = (good.loc[good["city"] != "", ["station_id", "city"]].drop_duplicates("station_id")
                .assign(name=lambda f: f["station_id"], medium="air", source=feed.id)
                .reindex(columns=STATION_COLUMNS))
    return FileResult(path=path, records=len(raw), readings=readings, quarantine=quarantine,
                      stations=stations, duplicates=len(good) - len(unique))
