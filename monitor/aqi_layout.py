"""Layouts the AQI functions accept and return: long canonical readings and xarray grids.

Long readings (:data:`monitor.schema.READING_COLUMNS`) become one row per station (or
group) and time with a column per ``(parameter, period)``; a station × time xarray
Dataset becomes the same columns, flattened station-major.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from monitor.aqi_scoring import FloatArray, ObjectArray

Columns = dict[tuple[str, str], FloatArray]
Masks = dict[tuple[str, str], npt.NDArray[np.bool_]]


#: Pollutants that enter an AQI (canonical parameter names).
AIR_POLLUTANTS: tuple[str, ...] = ("so2", "no2", "pm10", "co", "o3", "pm25")

#: ``flag_reason`` of a reading for a pollutant the station does not measure.
NOT_MONITORED = "not_monitored"


def flagged_not_monitored(readings: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Readings whose ``flag_reason`` codes (joined by ``;``) include NOT_MONITORED."""
    if "flag_reason" not in readings:
        return np.zeros(len(readings), dtype=bool)
    codes = readings["flag_reason"].astype("string").fillna("")
    return codes.str.contains(f"(?:^|;){NOT_MONITORED}(?:;|$)", regex=True).to_numpy(bool)


def wide_readings(readings: pd.DataFrame, key: str) -> tuple[pd.DataFrame, Columns, Masks]:
    """Canonical long readings -> (row keys, {(parameter, period): values}, unmonitored).

    Readings flagged ``invalid`` count as missing; the first valid reading of a key wins.
    A row without any reading of a parameter, or whose reading has ``flag_reason``
    :data:`NOT_MONITORED`, is unmonitored for it (not missing).

    Raises
    ------
    ValueError
        naming the columns a reading table lacks.
    """
    lacking = [c for c in (key, "time", "parameter", "period", "value", "flag")
               if c not in readings.columns]
    if lacking:
        raise ValueError(f"readings lack column(s) {', '.join(lacking)}; expected the "
                         "canonical reading columns (monitor.schema.READING_COLUMNS)")
    air = readings[readings["parameter"].isin(AIR_POLLUTANTS)]
    values = air["value"].astype("float64").where(air["flag"] != "invalid")
    frame = pd.DataFrame({key: air[key].to_numpy(), "time": air["time"].to_numpy(),
                          "parameter": air["parameter"].to_numpy(),
                          "period": air["period"].to_numpy(), "value": values.to_numpy(),
                          "monitored": ~flagged_not_monitored(air)})
    grouped = frame.groupby([key, "time", "parameter", "period"], sort=True)
    table = grouped["value"].first().unstack(["parameter", "period"])
    monitored = grouped["monitored"].any().unstack(["parameter", "period"]).reindex(
        index=table.index, columns=table.columns)
    keys = table.index.to_frame(index=False)
    keys["time"] = pd.to_datetime(keys["time"], utc=True)
    columns = {(str(p), str(q)): table[(p, q)].to_numpy(dtype="float64")
               for p, q in table.columns}
    unmonitored = {(str(p), str(q)): ~monitored[(p, q)].fillna(False).to_numpy(dtype=bool)
                   for p, q in table.columns}
    return keys, columns, unmonitored


def dataset_columns(dataset: Any) -> Columns:
    """xarray variables ``pm25`` (1-h) or ``pm25_24h``, ``o3_8h_max_24h`` -> columns.

    Raises
    ------
    ValueError
        when the Dataset lacks the ``station`` or ``time`` dimension.
    """
    lacking = [d for d in ("station", "time") if d not in dataset.dims]
    if lacking:
        raise ValueError(f"AQI grid lacks dimension(s) {', '.join(lacking)}; "
                         f"it has {', '.join(map(str, dataset.dims))}")
    columns = {}
    for name in dataset.data_vars:
        pollutant, _, period = str(name).partition("_")
        if pollutant in AIR_POLLUTANTS:
            columns[(pollutant, period or "1h")] = np.asarray(
                dataset[name].transpose("station", "time").values, dtype="float64").ravel()
    return columns


def numpy_text(values: ObjectArray) -> npt.NDArray[np.str_]:
    """Object text (None = empty) as a numpy string array with "" for empty."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array(["", *(str(u) for u in uniques)], dtype=str)
    return table[codes + 1]
