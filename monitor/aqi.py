"""Air quality index: individual indices, real-time and daily AQI, city and group AQI.

The standards themselves are data (:mod:`monitor.aqi_tables`, :mod:`monitor.epa`); the
functions here apply whichever standard is in force for each value's date:
HJ 633-2012 before 2026-03-01 (Beijing time), HJ 633-2026 from then on, or the US EPA
AQI when asked for by name.  Everything is vectorised over NumPy arrays; bad values
(negative concentrations, values beyond a scale) give NaN or a capped index together
with a QC reason, never an exception in the middle of a dataset.

References
----------
.. [1] HJ 633-2012 and HJ 633-2026, Technical Regulation on Ambient Air Quality Index,
   clause 4.1 (IAQI by linear interpolation in Table 1, rounded up to an integer),
   clause 4.2 (AQI = max IAQI; primary pollutant when AQI > 50), clause 5 (reports).
.. [2] US EPA, EPA-454/B-24-002 (2024), section IV (equation 1, truncation, rounding).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from monitor.aqi_layout import (
    AIR_POLLUTANTS,
    NOT_MONITORED,
    Columns,
    Masks,
    dataset_columns,
    flagged_not_monitored,
    numpy_text,
    wide_readings,
)
from monitor.aqi_scoring import (
    REASON_ABOVE_SCALE,
    REASON_BELOW_SCALE,
    REASON_FALLBACK,
    REASON_FALLBACK_MISSING,
    REASON_INCOMPLETE,
    REASON_NEGATIVE,
    STANDARDS,
    ArrayLike,
    FloatArray,
    ObjectArray,
    Scored,
    categories,
    category,
    category_level,
    check_report,
    combine,
    get_standard,
    report_indicators,
    resolve_scale,
    score_scale,
)
from monitor.aqi_tables import HJ633_2012, HJ633_2026, AqiStandard
from monitor.config import AppConfig
from monitor.epa import to_epa_unit
from monitor.schema import parameter

__all__ = [
    "AIR_POLLUTANTS", "CHINA_SEQUENCE", "NOT_MONITORED", "REASON_ABOVE_SCALE",
    "REASON_BELOW_SCALE", "REASON_FALLBACK", "REASON_FALLBACK_MISSING",
    "REASON_INCOMPLETE", "REASON_NEGATIVE", "STANDARDS", "Scored", "categories",
    "category", "category_level", "china_standard_names", "city_aqi", "daily_aqi",
    "get_standard", "group_aqi", "iaqi", "realtime_aqi", "region_aqi", "score",
    "standard_at",
]

#: The Chinese standards in force one after the other (chosen by date).
CHINA_SEQUENCE: tuple[AqiStandard, ...] = (HJ633_2012, HJ633_2026)


def _as_utc(times: Any) -> pd.DatetimeIndex:
    """Times as a UTC index; naive times are taken as UTC, strings as ISO 8601."""
    if isinstance(times, pd.DatetimeIndex | pd.Series) or (
            isinstance(times, np.ndarray) and np.issubdtype(times.dtype, np.datetime64)):
        return pd.DatetimeIndex(pd.to_datetime(times, utc=True))
    values = np.atleast_1d(np.asarray(times, dtype=object))
    fmt = "ISO8601" if values.size and isinstance(values[0], str) else None
    return pd.DatetimeIndex(pd.to_datetime(values, utc=True, format=fmt))


def china_standard_names(starts: Any) -> ObjectArray:
    """Name of the Chinese standard in force at each period start (UTC, or naive = UTC)."""
    stamps = _as_utc(starts)
    cutovers = pd.DatetimeIndex(
        [s.effective_from for s in CHINA_SEQUENCE[1:] if s.effective_from]
    ).tz_convert("UTC")
    index = np.searchsorted(cutovers.asi8, stamps.asi8, side="right")
    names = np.array([s.name for s in CHINA_SEQUENCE], dtype=object)
    return names[index]


def standard_at(at: datetime | pd.Timestamp | str | None = None) -> AqiStandard:
    """The Chinese standard in force at ``at`` (default: now)."""
    moment = pd.Timestamp.now(tz="UTC") if at is None else at
    return STANDARDS[str(china_standard_names([moment])[0])]


def score(
    pollutant: str,
    concentration: ArrayLike,
    *,
    period: str,
    standard: str | None = None,
    at: Any = None,
    fallback: ArrayLike | None = None,
    unit: str | None = None,
) -> Scored:
    """IAQI of ``concentration`` with the QC reason of each value.

    Parameters
    ----------
    pollutant
        ``pm25 pm10 so2 no2 co o3``.
    concentration
        Values (µg/m³, CO mg/m³ for the Chinese standards; for ``"epa"`` the table's
        own units unless ``unit`` says otherwise).
    period
        Averaging period of the values (``1h 8h 24h 8h_max_24h 1h_max_24h``).
    standard
        ``"hj633-2012"``, ``"hj633-2026"`` or ``"epa"``; None chooses the Chinese
        standard in force at ``at``.
    at
        Start of the averaging period: one time, or one per value (UTC when naive);
        None = now.
    fallback
        The value for the overflow rule's other period (see :func:`score_scale`).
    unit
        Unit of ``concentration`` when it is not the scale's (``ug/m3 mg/m3 ppb ppm``;
        mixing ratios and mass concentrations are related at 25 °C and 1 atm).

    Returns
    -------
    Scored
        ``iaqi`` (float array, integers rounded up; NaN for NaN, negative values, values
        below a scale or above a fallback scale without a fallback value) and ``reason``
        (object array: None, or one of the ``REASON_*`` codes).

    Raises
    ------
    ValueError
        for an unknown pollutant, period, standard or unit, listing the allowed ones.
    """
    conc = np.atleast_1d(np.asarray(concentration, dtype="float64"))
    fb = None if fallback is None else np.asarray(fallback, dtype="float64")
    if standard is not None:
        chosen = np.full(conc.shape, get_standard(standard).name, dtype=object)
    else:
        names = china_standard_names([pd.Timestamp.now(tz="UTC")] if at is None else at)
        chosen = np.broadcast_to(names.reshape(names.shape + (1,) * (conc.ndim - 1))
                                 if names.size > 1 else names[0], conc.shape)
    iaqi_out = np.full(conc.shape, np.nan)
    reason_out = np.full(conc.shape, None, dtype=object)
    for name in pd.unique(chosen.ravel()):
        std = STANDARDS[str(name)]
        scale = resolve_scale(std, pollutant, period)
        rows = chosen == name
        values = conc[rows]
        if unit is not None and unit != scale.unit:
            values = to_epa_unit(values, pollutant, unit, scale.unit)
        sub_fb = None if fb is None else np.broadcast_to(fb, conc.shape)[rows]
        if sub_fb is not None and unit is not None and scale.fallback_period:
            fb_unit = resolve_scale(std, pollutant, scale.fallback_period).unit
            sub_fb = to_epa_unit(sub_fb, pollutant, unit, fb_unit)
        result = score_scale(std, scale, values, sub_fb)
        iaqi_out[rows] = result.iaqi
        reason_out[rows] = result.reason
    return Scored(iaqi_out, reason_out)


def iaqi(
    pollutant: str,
    concentration: ArrayLike,
    *,
    period: str,
    standard: str | None = None,
    at: Any = None,
    fallback: ArrayLike | None = None,
    unit: str | None = None,
) -> FloatArray:
    """Individual air quality index (IAQI) of each concentration; NaN for NaN.

    HJ 633-2012 / HJ 633-2026 clause 4.1 and Table 1, or EPA-454/B-24-002 equation 1
    and Table 6, chosen by ``standard`` or by the date ``at``.

    Parameters
    ----------
    pollutant, concentration, period, standard, at, fallback, unit
        As for :func:`score`.

    Returns
    -------
    numpy.ndarray
        IAQI per value (float; see :func:`score` for why a value may be NaN).

    Examples
    --------
    >>> iaqi("pm25", [75.0], period="24h", at="2026-03-01T00:00+08:00").tolist()
    [114.0]
    >>> iaqi("pm25", [35.9], period="24h", standard="epa").tolist()
    [102.0]
    """
    return score(pollutant, concentration, period=period, standard=standard, at=at,
                 fallback=fallback, unit=unit).iaqi


#: Nominal duration of each report's averaging period, to find the period start.
_REPORT_DURATION = {"realtime": pd.Timedelta(hours=1), "daily": pd.Timedelta(hours=24)}


Report = dict[str, npt.NDArray[Any]]
#: Report columns that hold text (None where empty); the others are floats (NaN).
_TEXT_COLUMNS = ("standard", "primary_pollutants", "nonattainment_pollutants", "reason")


def _standard_names(times: pd.DatetimeIndex, report: str, standard: str | None
                    ) -> ObjectArray:
    """Name of the standard for each report time (end of period): the forced one, or the
    Chinese standard in force at the start of the averaging period."""
    if standard is not None:
        return np.full(len(times), get_standard(standard).name, dtype=object)
    if not len(times):
        return np.array([], dtype=object)
    return china_standard_names(times - _REPORT_DURATION[report])


def _report(names: ObjectArray, columns: Columns, report: str,
            unmonitored: Masks | None = None) -> Report:
    """Apply, to each row, the report's indicators of the standard named for it."""
    n = len(names)
    out: Report = {"standard": np.asarray(names, dtype=object)}
    for name in pd.unique(names):
        std = STANDARDS[str(name)]
        report_indicators(std, report)  # fails early for a report the standard lacks
        rows = np.flatnonzero(names == name)
        sub: Columns = {}
        sub_unmonitored = {k: v[rows] for k, v in (unmonitored or {}).items()}
        for (pollutant, period), values in columns.items():
            scale = std.scales.get((pollutant, period))
            if scale is None:
                try:
                    scale = resolve_scale(std, pollutant, period)
                except ValueError:
                    continue
            canonical = parameter(pollutant).unit
            sub[(pollutant, period)] = (values[rows] if scale.unit == canonical else
                                        to_epa_unit(values[rows], pollutant, canonical,
                                                    scale.unit))
        part = combine(std, report, sub, len(rows), sub_unmonitored)
        for column, values in part.items():
            if column not in out:
                out[column] = (np.full(n, None, dtype=object) if column in _TEXT_COLUMNS
                               else np.full(n, np.nan))
            out[column][rows] = values
    return out


def _aqi_of(data: pd.DataFrame | Any, report: str, standard: str | None,
            key: str = "station_id") -> pd.DataFrame | Any:
    if isinstance(data, pd.DataFrame):
        keys, columns, unmonitored = wide_readings(data, key)
        names = _standard_names(pd.DatetimeIndex(keys["time"]), report, standard)
        result = _report(names, columns, report, unmonitored)
        return pd.concat([keys, pd.DataFrame(result, index=keys.index)], axis=1)
    import xarray as xr

    columns = dataset_columns(data)
    ds = data.transpose("station", "time", ...)
    names = np.tile(_standard_names(_as_utc(ds["time"].values), report, standard),
                    ds.sizes["station"])
    result = _report(names, columns, report)
    shape = (ds.sizes["station"], ds.sizes["time"])
    text = {col: numpy_text(result[col]) for col in _TEXT_COLUMNS if col in result}
    return xr.Dataset(
        {col: (("station", "time"), text.get(col, values).reshape(shape))
         for col, values in result.items()},
        coords={"station": ds["station"].values, "time": ds["time"].values},
    )


def realtime_aqi(readings: pd.DataFrame | Any, *, standard: str | None = None
                 ) -> pd.DataFrame | Any:
    """Real-time (hourly) AQI per station-hour.

    Parameters
    ----------
    readings
        Canonical readings (``monitor.schema.READING_COLUMNS``; hourly ``1h`` values, and
        ``24h`` values for the HJ 633-2012 SO2 fallback), or an xarray Dataset with
        dimensions ``station`` × ``time`` and variables ``pm25 pm10 so2 no2 co o3`` (1-h)
        and optionally ``so2_24h``.
    standard
        Force a standard; by default each hour is scored under the Chinese standard in
        force at the start of the hour (HJ 633-2012 clause 5.2 / HJ 633-2026).

    Returns
    -------
    One row per station-hour (or a Dataset): ``standard``, ``aqi``, ``category`` (1-6),
    ``primary_pollutants``, ``nonattainment_pollutants`` (HJ 633-2012 only),
    ``iaqi_<indicator>`` and the QC ``reason``.
    """
    return _aqi_of(readings, "realtime", standard)


def daily_aqi(statistics: pd.DataFrame | Any, *, standard: str | None = None
              ) -> pd.DataFrame | Any:
    """Daily AQI from daily statistics (HJ 633 clause 5.1; EPA daily report).

    Parameters
    ----------
    statistics
        Per station and local day (``time`` = end of the day, UTC), in the reading
        layout of :func:`monitor.statistics.daily_statistics` (a statistic without
        enough valid data is ``invalid`` and counts as missing): ``24h`` means, the
        ``8h_max_24h`` O3 (and, for EPA, CO) maximum 8-h mean and the ``1h_max_24h``
        maxima (O3 under HJ 633-2012; O3, SO2, NO2 for EPA).  Or an xarray Dataset
        ``station`` × ``time`` with variables ``pm25_24h``, ``o3_8h_max_24h``...
    standard
        Force a standard; by default the Chinese standard in force on each day.

    Returns
    -------
    As :func:`realtime_aqi`, one row per station-day.
    """
    return _aqi_of(statistics, "daily", standard)


def group_aqi(readings: pd.DataFrame, groups: Mapping[str, Hashable], *,
              report: str = "realtime", standard: str | None = None) -> pd.DataFrame:
    """AQI of station groups from the mean concentration of their stations.

    Chinese practice (HJ 633 clause 4.3, HJ 663): a city's concentration of each
    pollutant is the arithmetic mean of its stations' valid concentrations; the city's
    IAQI and AQI are computed from those means.  ``groups`` maps station_id -> group;
    stations outside ``groups`` are ignored.  A pollutant none of whose readings in a
    group is valid is missing there; one no station of the group monitors is not.

    Returns
    -------
    One row per group and time, with the columns of :func:`realtime_aqi` and ``group``
    in place of ``station_id``.
    """
    check_report(report)
    member = readings["station_id"].map(dict(groups))
    kept = readings[member.notna() & readings["parameter"].isin(AIR_POLLUTANTS)]
    valid = kept["value"].astype("float64").where(kept["flag"] != "invalid")
    monitored = ~flagged_not_monitored(kept)
    grouped = pd.DataFrame({
        "group": member[kept.index], "time": kept["time"], "parameter": kept["parameter"],
        "period": kept["period"], "value": valid, "monitored": monitored,
    }).groupby(["group", "time", "parameter", "period"], sort=True)
    means = grouped.agg(value=("value", "mean"), monitored=("monitored", "any")).reset_index()
    means["flag"] = "valid"
    means["flag_reason"] = np.where(means.pop("monitored"), None, NOT_MONITORED)
    return _aqi_of(means, report, standard, key="group")


def city_aqi(readings: pd.DataFrame, stations: pd.DataFrame, *, report: str = "realtime",
             standard: str | None = None) -> pd.DataFrame:
    """City AQI from the mean concentrations of the city's stations (``stations.city``)."""
    groups = stations.dropna(subset=["city"]).set_index("station_id")["city"]
    return group_aqi(readings, groups.to_dict(), report=report, standard=standard)


def region_aqi(readings: pd.DataFrame, stations: pd.DataFrame, config: AppConfig, *,
               report: str = "realtime", standard: str | None = None) -> pd.DataFrame:
    """AQI of each configured region (``config.regions``: member cities) from its stations."""
    city = stations.dropna(subset=["city"]).set_index("station_id")["city"]
    region = city.map(lambda c: config.region_of_city(c)).dropna()
    return group_aqi(readings, region.to_dict(), report=report, standard=standard)
