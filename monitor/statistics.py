"""Valid air-quality statistics: 24-h, 8-h and rolling 24-h means, daily maxima.

Implements the data-validity rules of GB 3095-2012 (*Ambient air quality
standards*), clause 8 and Table 4 ("数据统计的有效性规定"), as detailed for
routine evaluation by HJ 663-2013 (*Technical regulation for ambient air
quality assessment*):

* a 24-h mean needs at least 20 valid hourly values (GB 3095-2012 Table 4);
* an 8-h moving mean needs at least 6 valid hourly values of its 8
  (GB 3095-2012 Table 4);
* the O3 daily maximum 8-h mean is the largest of the 8-h moving means ending
  at 08:00 ... 24:00 local time (17 windows that lie wholly inside the day) and
  needs at least 14 valid ones; with fewer it still stands when it exceeds the
  concentration limit (HJ 663-2013, validity rule for the O3 daily maximum
  8-h mean);
* the rolling 24-h mean (any 24 consecutive hours, as heavy-pollution warning grades
  count "a day" since 2017) follows the 24-h rule;
* the daily maximum 1-h value (O3, HJ 633-2012 daily report) has no rule of its own in
  Table 4; the 24-h rule of the same day is applied.

Means are summed window by window (no running sums), so a mean at a breakpoint is not
nudged across it by rounding drift.  A statistic that lacks data is NaN, never a mean of
too few hours, and its reason code says why (:class:`Reason`); ``n_valid`` says how many
values it had.

Data layout ("wide"): a :class:`pandas.DataFrame` indexed by UTC time (the end
of each hour, as in :data:`monitor.schema.READING_SCHEMA`), one column per
station; or an :class:`xarray.DataArray` with dimensions ``station`` and
``time``.  :func:`hourly_frame` builds it from canonical long readings.
Everything is vectorized (numpy shifts, pandas groupby); no Python loop per value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

import numpy as np
import pandas as pd
import xarray as xr

from monitor.schema import PARAMETERS, Flag

#: Minimum valid hourly values for a 24-h mean (GB 3095-2012, Table 4).
MIN_HOURS_24H = 20
#: Minimum valid hourly values for an 8-h moving mean (GB 3095-2012, Table 4).
MIN_HOURS_8H = 6
#: Minimum valid 8-h means, among those ending 08:00-24:00, for the daily maximum (HJ 663-2013).
MIN_WINDOWS_8H_MAX = 14
#: Local end hour of the first 8-h window counted for the daily maximum (HJ 663-2013).
FIRST_DAILY_8H_END_HOUR = 8
#: O3 8-h limit, grade II (GB 3095-2012, Table 1), in ug/m3: a daily maximum above it
#: stands even with fewer than :data:`MIN_WINDOWS_8H_MAX` valid windows (HJ 663-2013).
O3_8H_LIMIT_GRADE_II = 160.0

#: The pollutants whose daily statistic is a 24-h mean; O3's is the daily maximum 8-h mean.
DAILY_MEAN_POLLUTANTS: tuple[str, ...] = ("pm25", "pm10", "so2", "no2", "co")

#: Columns of :meth:`ValidStatistic.to_long` and :func:`daily_statistics`.
LONG_COLUMNS: list[str] = ["station_id", "time", "period", "parameter", "value", "unit", "flag",
                           "flag_reason", "n_valid"]

_HOUR = pd.Timedelta(hours=1)


class Reason(StrEnum):
    """Why a statistic has, or has not, a value."""

    VALID = "valid"
    TOO_FEW_HOURS = "too_few_valid_hours"
    TOO_FEW_WINDOWS = "too_few_valid_8h_means"
    #: Fewer valid 8-h means than required, but the maximum exceeds the limit (HJ 663-2013).
    VALID_BY_EXCEEDANCE = "valid_by_exceedance"


#: Reason codes as stored in :attr:`ValidStatistic.codes` (position = code).
REASON_CODES: tuple[Reason, ...] = tuple(Reason)
_CODE = {reason: np.int8(i) for i, reason in enumerate(REASON_CODES)}


@dataclass(frozen=True)
class ValidStatistic:
    """A statistic per time and station with its count of valid inputs and a reason.

    ``value``, ``n_valid`` and ``reason`` share index (UTC end of the averaging period) and
    columns (stations).  ``codes`` holds the reasons compactly as positions in
    :data:`REASON_CODES`; ``reason`` spells them out (built on first use).
    """

    value: pd.DataFrame
    n_valid: pd.DataFrame
    codes: np.ndarray

    @cached_property
    def reason(self) -> pd.DataFrame:
        """The :class:`Reason` of every cell, as strings."""
        names = np.array([r.value for r in REASON_CODES], dtype=object)
        return pd.DataFrame(names[self.codes], index=self.value.index,
                            columns=self.value.columns)

    def to_xarray(self) -> xr.Dataset:
        """The three frames as one Dataset with dimensions ``station`` and ``time``."""
        return xr.Dataset(
            {
                name: xr.DataArray(
                    getattr(self, name).to_numpy().T,
                    dims=("station", "time"),
                    coords={"station": self.value.columns.to_numpy(),
                            "time": self.value.index.tz_convert(None).to_numpy()},
                )
                for name in ("value", "n_valid", "reason")
            }
        )

    def to_long(self, parameter: str, period: str) -> pd.DataFrame:
        """Canonical-style rows: station_id, time, period, parameter, value, unit, flag,
        flag_reason, n_valid.  A statistic without a value has ``flag = invalid``."""
        value = self.value.stack(future_stack=True)
        reason = self.reason.stack(future_stack=True)
        n_valid = self.n_valid.stack(future_stack=True)
        flag = np.where(value.isna().to_numpy(), Flag.INVALID.value, Flag.VALID.value)
        out = pd.DataFrame({
            "station_id": value.index.get_level_values(1).astype(str),
            "time": value.index.get_level_values(0),
            "period": period,
            "parameter": parameter,
            "value": value.to_numpy(),
            "unit": PARAMETERS[parameter].unit,
            "flag": flag,
            "flag_reason": reason.to_numpy(),
            "n_valid": n_valid.to_numpy().astype(np.int64),
        })
        return out.reset_index(drop=True)


def _as_frame(data: pd.DataFrame | xr.DataArray, negative_valid: bool = False) -> pd.DataFrame:
    """Wide frame (UTC time index, station columns) from a DataFrame or a DataArray."""
    if isinstance(data, xr.DataArray):
        if set(data.dims) != {"station", "time"}:
            raise ValueError(f"DataArray must have dims ('station', 'time'), got {data.dims}")
        frame = data.transpose("time", "station").to_pandas()
    else:
        frame = data
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise ValueError("wide frame must be indexed by time (a DatetimeIndex)")
    if frame.index.tz is None:
        frame = frame.tz_localize("UTC")
    frame = frame.astype(np.float64)
    if negative_valid:  # e.g. temperatures
        return frame
    # A negative concentration is not a valid hourly value (QC should have flagged it).
    return frame.where(~(frame < 0))


def _regular_hours(hourly: pd.DataFrame | xr.DataArray, negative_valid: bool = False
                   ) -> pd.DataFrame:
    """The frame on a gap-free hourly grid (missing hours become NaN rows)."""
    frame = _as_frame(hourly, negative_valid)
    if frame.empty:
        return frame
    if not frame.index.is_unique:
        raise ValueError("hourly frame has repeated times; aggregate duplicates first")
    start, end = frame.index.min().ceil("h"), frame.index.max().floor("h")
    grid = pd.date_range(start, end, freq="h")
    if len(grid) == len(frame) and frame.index.equals(grid):
        return frame
    if not frame.index.isin(grid).all():
        raise ValueError("hourly frame has times that are not whole hours")
    return frame.reindex(grid)


def _local_day_end(hour_end: pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    """UTC end of the local day each hour (labelled by its end) belongs to.

    An hour ending at local midnight (24:00) belongs to the day that ends then.
    """
    start_local = (hour_end - _HOUR).tz_convert(tz)
    day_start = start_local.normalize()
    return (day_start + pd.Timedelta(days=1)).tz_convert("UTC")


def _codes(valid: np.ndarray, failing: Reason) -> np.ndarray:
    return np.where(valid, _CODE[Reason.VALID], _CODE[failing])


def daily_mean(hourly: pd.DataFrame | xr.DataArray, tz: str, *,
               min_hours: int = MIN_HOURS_24H, negative_valid: bool = False) -> ValidStatistic:
    """24-h mean per local calendar day (GB 3095-2012, Table 4: at least 20 hourly values).

    Parameters
    ----------
    hourly : DataFrame or DataArray
        Hourly values in the parameter's canonical unit (CO in mg/m3, others ug/m3), UTC time
        index at the end of each hour, one column per station; NaN = missing or invalid.
    tz : str
        IANA time zone of the region, which fixes the day boundaries (e.g. ``Asia/Shanghai``).
    min_hours : int
        Valid hourly values a day needs.
    negative_valid : bool
        Negative hourly values count (temperatures); by default they are invalid, as a
        negative concentration is.

    Returns
    -------
    ValidStatistic
        Indexed by the UTC end of each local day.
    """
    return _per_local_day(hourly, tz, min_hours, "mean", negative_valid)


def daily_total(hourly: pd.DataFrame | xr.DataArray, tz: str, *,
                min_hours: int = MIN_HOURS_24H) -> ValidStatistic:
    """Daily total per local day (precipitation: the sum of the hourly amounts).

    No standard sets a completeness rule for a daily weather total; jointwatch applies the
    24-h rule of GB 3095-2012 Table 4 (at least 20 valid hourly values), as for the means
    the forecasts use beside it.

    Parameters
    ----------
    hourly : DataFrame or DataArray
        Hourly amounts, UTC time index at the end of each hour, one column per station.
    tz : str
        IANA time zone of the region.
    min_hours : int
        Valid hourly values a day needs.
    """
    return _per_local_day(hourly, tz, min_hours, "sum")


def daily_max_1h(hourly: pd.DataFrame | xr.DataArray, tz: str, *,
                 min_hours: int = MIN_HOURS_24H) -> ValidStatistic:
    """Daily maximum 1-h value per local day (the O3 1-h indicator of HJ 633-2012's daily
    report).

    GB 3095-2012 Table 4 gives no separate validity rule for a daily maximum 1-h value; the
    rule of the 24-h mean of the same day (at least 20 valid hourly values) is applied.

    Parameters
    ----------
    hourly : DataFrame or DataArray
        Hourly values, UTC time index at the end of each hour, one column per station.
    tz : str
        IANA time zone of the region.
    min_hours : int
        Valid hourly values a day needs.
    """
    return _per_local_day(hourly, tz, min_hours, "max")


def _per_local_day(hourly: pd.DataFrame | xr.DataArray, tz: str, min_hours: int,
                   how: str, negative_valid: bool = False) -> ValidStatistic:
    frame = _regular_hours(hourly, negative_valid)
    grouped = frame.groupby(_local_day_end(frame.index, tz))
    n_valid = grouped.count()
    valid = n_valid.to_numpy() >= min_hours
    value = grouped.agg(how).where(valid)
    value.index.name = n_valid.index.name = "time"
    return ValidStatistic(value, n_valid, _codes(valid, Reason.TOO_FEW_HOURS))


def _moving_mean(frame: pd.DataFrame, hours: int, min_hours: int) -> ValidStatistic:
    """Mean of the last ``hours`` rows (window labelled by its last row) where enough are valid.

    Summed shift by shift (``hours`` vectorized passes) rather than by a running sum, so a
    window's mean does not carry rounding drift from earlier windows.
    """
    values = frame.to_numpy()
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    total = filled.copy(order="K")
    count = present.astype(np.int16, order="K")  # at most ``hours`` per window
    for lag in range(1, hours):
        total[lag:] += filled[:-lag]
        count[lag:] += present[:-lag]
    valid = count >= min_hours
    mean = np.full_like(total, np.nan)
    np.divide(total, count, out=mean, where=valid)
    value = pd.DataFrame(mean, index=frame.index, columns=frame.columns, copy=False)
    n_valid = pd.DataFrame(count, index=frame.index, columns=frame.columns, copy=False)
    return ValidStatistic(value, n_valid, _codes(valid, Reason.TOO_FEW_HOURS))


def moving_8h_mean(hourly: pd.DataFrame | xr.DataArray, *,
                   min_hours: int = MIN_HOURS_8H) -> ValidStatistic:
    """8-h moving mean labelled by the end of its last hour (GB 3095-2012, Table 4: >= 6 of 8).

    Parameters
    ----------
    hourly : DataFrame or DataArray
        Hourly values, UTC time index at the end of each hour, one column per station.
    min_hours : int
        Valid hourly values a window needs.
    """
    return _moving_mean(_regular_hours(hourly), 8, min_hours)


def rolling_24h_mean(hourly: pd.DataFrame | xr.DataArray, *,
                     min_hours: int = MIN_HOURS_24H) -> ValidStatistic:
    """Mean of any 24 consecutive hours, labelled by the end of the last hour.

    The heavy-pollution warning rules in force since 2017 count "a day" as any rolling
    24 hours; validity follows the 24-h rule of GB 3095-2012, Table 4 (>= 20 hourly values).
    """
    return _moving_mean(_regular_hours(hourly), 24, min_hours)


def daily_max_8h_mean(hourly: pd.DataFrame | xr.DataArray, tz: str, *,
                      min_hours: int = MIN_HOURS_8H,
                      min_windows: int = MIN_WINDOWS_8H_MAX,
                      exceedance_limit: float | None = O3_8H_LIMIT_GRADE_II) -> ValidStatistic:
    """Daily maximum 8-h mean (for O3) per local day, HJ 663-2013.

    The candidates are the valid 8-h moving means ending at 08:00, 09:00, ..., 24:00 local
    time (17 windows, all inside the day); at least ``min_windows`` of them must be valid.
    With fewer, the maximum still stands if it exceeds ``exceedance_limit`` (reason
    ``valid_by_exceedance``); pass ``None`` to disable that rule.

    Parameters
    ----------
    hourly : DataFrame or DataArray
        Hourly O3 in ug/m3, UTC time index at the end of each hour, one column per station.
    tz : str
        IANA time zone of the region.

    Returns
    -------
    ValidStatistic
        Indexed by the UTC end of each local day; ``n_valid`` counts valid 8-h means.
    """
    frame = _regular_hours(hourly)
    means = _moving_mean(frame, 8, min_hours).value
    last_hour_start = (frame.index - _HOUR).tz_convert(tz)
    in_day = np.asarray(last_hour_start.hour >= FIRST_DAILY_8H_END_HOUR - 1)
    candidates = means[in_day]
    grouped = candidates.groupby(_local_day_end(candidates.index, tz))
    n_valid = grouped.count()
    maximum = grouped.max()
    enough = n_valid.to_numpy() >= min_windows
    exceeds = np.zeros_like(enough)
    if exceedance_limit is not None:
        exceeds = ~enough & (maximum.to_numpy() > exceedance_limit)
    value = maximum.where(enough | exceeds)
    codes = np.where(enough, _CODE[Reason.VALID],
                     np.where(exceeds, _CODE[Reason.VALID_BY_EXCEEDANCE],
                              _CODE[Reason.TOO_FEW_WINDOWS]))
    value.index.name = n_valid.index.name = "time"
    return ValidStatistic(value, n_valid, codes)


def hourly_frame(readings: pd.DataFrame, parameter: str) -> pd.DataFrame:
    """Wide hourly frame of one parameter from canonical long readings.

    Keeps ``period == "1h"`` readings whose flag is not ``invalid``; where several sources
    give the same station-hour their mean is used.  The result covers every hour from the
    first to the last reading (gaps are NaN rows).  Negative values are dropped, except for
    parameters that may be negative (temperatures: lower plausible bound below zero).

    Parameters
    ----------
    readings : DataFrame
        Canonical readings (:data:`monitor.schema.READING_COLUMNS`).
    parameter : str
        Canonical parameter name, e.g. ``pm25``.
    """
    if parameter not in PARAMETERS:
        raise ValueError(f"unknown parameter {parameter!r}; allowed: {', '.join(PARAMETERS)}")
    keep = (
        (readings["parameter"] == parameter)
        & (readings["period"] == "1h")
        & (readings["flag"] != Flag.INVALID.value)
    )
    chosen = readings.loc[keep, ["time", "station_id", "value"]]
    times = pd.DatetimeIndex(pd.to_datetime(chosen["time"], utc=True))
    wide = (
        chosen.assign(time=times, value=chosen["value"].astype(np.float64))
        .groupby(["time", "station_id"])["value"].mean()
        .unstack("station_id")
    )
    wide.columns.name = "station"
    if wide.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="time"))
    return _regular_hours(wide, negative_valid=PARAMETERS[parameter].plausible[0] < 0)


def daily_statistics(readings: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Daily statistics of the six AQI pollutants from canonical hourly readings.

    24-h means (``period = "24h"``) of PM2.5, PM10, SO2, NO2 (ug/m3) and CO (mg/m3), the O3
    daily maximum 8-h mean (``period = "8h_max_24h"``) and daily maximum 1-h value
    (``"1h_max_24h"``), per local day of ``tz``, each row with its validity flag, reason and
    count of valid inputs (see :meth:`ValidStatistic.to_long`); the input of
    :func:`monitor.aqi.daily_aqi`.
    """
    parts = []
    present = set(readings["parameter"].unique())
    for parameter in DAILY_MEAN_POLLUTANTS:
        if parameter in present:
            stat = daily_mean(hourly_frame(readings, parameter), tz)
            parts.append(stat.to_long(parameter, "24h"))
    if "o3" in present:
        o3 = hourly_frame(readings, "o3")
        parts.append(daily_max_8h_mean(o3, tz).to_long("o3", "8h_max_24h"))
        parts.append(daily_max_1h(o3, tz).to_long("o3", "1h_max_24h"))
    if not parts:
        return pd.DataFrame(columns=LONG_COLUMNS)
    return pd.concat(parts, ignore_index=True)
