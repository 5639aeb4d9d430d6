"""Quality-control flags on canonical readings: flag, never delete.

Every adapter turns its native values into numbers with :func:`parse_values` and
passes its canonical readings through :func:`apply_qc`.  Each check is a vectorized
mask over the whole frame; a reading that fails one or more checks keeps its value
(or NaN) and gets the worst flag of its checks and all their reason codes, joined
by ``;`` in ``flag_reason`` (e.g. ``negative;stuck``).

Reason codes and the flag they set
----------------------------------
``missing`` (invalid)
    the feed published a missing marker (``NA``, ``/``, ``--``, empty) or no value.
``unparseable:<raw text>`` (invalid)
    the cell is not a number; the value becomes NaN, the text is kept in the reason.
``negative`` (invalid)
    below zero for a parameter that cannot be negative (lower plausible bound >= 0).
``implausible`` (invalid)
    outside ``Parameter.plausible`` of :mod:`monitor.schema` (other than negative).
``ph_range`` (invalid)
    water pH outside 0-14, the range of the pH scale for aqueous solutions
    (GB 3838-2002 Table 1 item 2 sets 6-9 as the quality limit; outside 0-14 is a
    measurement or transmission fault, not poor water).
``pm25_gt_pm10`` (suspect, on both readings)
    PM2.5 exceeds PM10 at the same station, time, period and source.  PM2.5 is a
    size fraction of PM10 (HJ 633 / GB 3095-2012 definitions), so this cannot hold
    physically; beta-attenuation monitors do report it at high humidity, hence
    *suspect* on both rather than invalid on one.
``stuck`` (suspect)
    the same value at a station for at least ``stuck_hours`` consecutive hourly
    readings of one pollutant (1-h period only).  HJ 818-2018 (technical specification
    for data validity of ambient air automatic monitoring) requires review of constant
    values; it names no count.  The default, :data:`DEFAULT_STUCK_HOURS`, is 8: at the
    1 µg/m³ (0.1 mg/m³ for CO) resolution of the national releases, clean-air SO2 and CO
    legitimately repeat for a few hours, and 8 h keeps those valid while catching a
    frozen analyser within one working shift.  Weather parameters (rain is zero for
    days) and the published AQI are not checked.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from monitor.schema import PARAMETERS, Flag, Medium

#: Default run length (consecutive hourly readings) for the ``stuck`` check.
DEFAULT_STUCK_HOURS = 8

#: Flag set by each reason code (the part before ``:``).
REASON_FLAGS: dict[str, Flag] = {
    "missing": Flag.INVALID,
    "unparseable": Flag.INVALID,
    "negative": Flag.INVALID,
    "implausible": Flag.INVALID,
    "ph_range": Flag.INVALID,
    "pm25_gt_pm10": Flag.SUSPECT,
    "stuck": Flag.SUSPECT,
}

#: Pollutants checked for stuck values.
STUCK_PARAMETERS: frozenset[str] = frozenset(
    name for name, p in PARAMETERS.items() if p.medium is Medium.AIR and name != "aqi"
)

_SEVERITY = {Flag.VALID.value: 0, Flag.SUSPECT.value: 1, Flag.INVALID.value: 2}
_BY_SEVERITY = np.array([Flag.VALID.value, Flag.SUSPECT.value, Flag.INVALID.value], dtype=object)
_PH_SCALE = (0.0, 14.0)


def parse_values(
    raw: pd.Series, missing_markers: Iterable[str] = ("",)
) -> tuple[np.ndarray, pd.Series]:
    """Turn native cells into floats and a reason code per cell.

    Parameters
    ----------
    raw : pandas.Series
        cells as read (strings, numbers or nulls).
    missing_markers : iterable of str
        the feed's missing-value markers (compared after stripping blanks).

    Returns
    -------
    values : numpy.ndarray of float64
        the numbers; NaN where missing or unparseable.
    reasons : pandas.Series of object
        ``missing``, ``unparseable:<raw text>`` or None, aligned with ``raw``.
    """
    if pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.to_numpy(dtype="float64", na_value=np.nan)
        reasons = pd.Series(np.where(np.isnan(values), "missing", None), index=raw.index,
                            dtype=object)
        return values, reasons
    text = raw.astype("string").str.strip()
    missing = (text.isna() | text.isin(list(missing_markers))).to_numpy(dtype=bool)
    values = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan)
    bad = np.isnan(values) & ~missing
    reasons = pd.Series(None, index=raw.index, dtype=object)
    reasons[missing] = "missing"
    if bad.any():
        cleaned = text[bad].str.replace(";", ",", regex=False)
        reasons[bad] = ("unparseable:" + cleaned).to_numpy(dtype=object)
    return values, reasons


def _reason_severity(reason: str | None) -> int:
    """Worst flag severity of the codes in a ``;``-joined reason (unknown codes: invalid)."""
    if reason is None:
        return 0
    codes = (code.split(":", 1)[0] for code in reason.split(";"))
    return max(_SEVERITY[REASON_FLAGS.get(code, Flag.INVALID).value] for code in codes)


def _bounds(params: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    low = params.map({k: p.plausible[0] for k, p in PARAMETERS.items()})
    high = params.map({k: p.plausible[1] for k, p in PARAMETERS.items()})
    return (low.to_numpy(dtype="float64", na_value=np.nan),
            high.to_numpy(dtype="float64", na_value=np.nan))


def pm25_gt_pm10_mask(readings: pd.DataFrame) -> np.ndarray:
    """Rows whose PM2.5 exceeds the PM10 of the same station, time, period and source."""
    keys = ["station_id", "time", "period", "source"]
    is_pm = readings["parameter"].isin(("pm25", "pm10")).to_numpy()
    if not is_pm.any():
        return np.zeros(len(readings), dtype=bool)
    pm = readings.loc[is_pm, [*keys, "parameter", "value"]].dropna(subset=["value"])
    wide = pm.pivot_table(index=keys, columns="parameter", values="value", aggfunc="last")
    if "pm25" not in wide or "pm10" not in wide:
        return np.zeros(len(readings), dtype=bool)
    bad_keys = wide.index[(wide["pm25"] > wide["pm10"]).to_numpy()]
    if len(bad_keys) == 0:
        return np.zeros(len(readings), dtype=bool)
    row_keys = pd.MultiIndex.from_frame(readings[keys])
    return row_keys.isin(bad_keys) & is_pm & readings["value"].notna().to_numpy()


def stuck_mask(
    readings: pd.DataFrame,
    stuck_hours: int = DEFAULT_STUCK_HOURS,
    history: pd.DataFrame | None = None,
) -> np.ndarray:
    """Rows inside a run of at least ``stuck_hours`` equal consecutive hourly values.

    A run is broken by a different value, a missing value, or a gap in time.
    ``history`` (earlier readings of the same stations, e.g. from the store) extends
    runs backwards for feeds that publish one file per hour; it is not flagged itself.
    """
    n = len(readings)
    frames = [readings.assign(_row=np.arange(n))]
    if history is not None and not history.empty:
        frames.insert(0, history[readings.columns.intersection(history.columns)]
                      .assign(_row=-1))
    both = pd.concat(frames, ignore_index=True)
    both = both[both["parameter"].isin(STUCK_PARAMETERS) & (both["period"] == "1h")
                & both["value"].notna()]
    if both.empty:
        return np.zeros(n, dtype=bool)
    series_key = ["station_id", "parameter", "source"]
    both = both.sort_values([*series_key, "time"], kind="stable")
    times = pd.to_datetime(both["time"], utc=True)
    same_series = (both[series_key] == both[series_key].shift()).all(axis=1)
    continues = (
        same_series
        & (both["value"] == both["value"].shift())
        & (times - times.shift() == pd.Timedelta(hours=1))
    )
    run_id = (~continues).cumsum()
    run_len = run_id.map(run_id.value_counts())
    rows = both.loc[(run_len >= stuck_hours).to_numpy(), "_row"].to_numpy()
    mask = np.zeros(n, dtype=bool)
    mask[rows[rows >= 0]] = True
    return mask


def apply_qc(
    readings: pd.DataFrame,
    *,
    stuck_hours: int = DEFAULT_STUCK_HOURS,
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Flag canonical readings; return a copy with ``flag`` and ``flag_reason`` set.

    Reasons already present (from :func:`parse_values`) are kept; the flag is the
    worst of the existing flag and the flags of all reason codes.

    Parameters
    ----------
    readings : pandas.DataFrame
        canonical readings (``monitor.schema.READING_COLUMNS``).
    stuck_hours : int
        run length for the ``stuck`` check (see module docstring).
    history : pandas.DataFrame, optional
        earlier readings used only to extend stuck runs backwards.
    """
    out = readings.copy()
    n = len(out)
    if n == 0:
        return out
    values = out["value"].to_numpy(dtype="float64", na_value=np.nan)
    params = out["parameter"]
    low, high = _bounds(params)
    existing = out["flag_reason"].astype(object).where(out["flag_reason"].notna(), None)
    is_ph = (params == "ph").to_numpy()
    has_value = ~np.isnan(values)
    negative = has_value & (values < 0) & (low >= 0)
    outside = has_value & ((values < low) | (values > high))
    checks: dict[str, np.ndarray] = {
        "missing": ~has_value & existing.isna().to_numpy(),
        "negative": negative & ~is_ph,
        "implausible": outside & ~negative & ~is_ph,
        "ph_range": is_ph & has_value & ((values < _PH_SCALE[0]) | (values > _PH_SCALE[1])),
        "pm25_gt_pm10": pm25_gt_pm10_mask(out),
        "stuck": stuck_mask(out, stuck_hours, history),
    }
    severity = np.maximum(
        out["flag"].map(_SEVERITY).fillna(0).to_numpy(dtype="int8"),
        existing.map(_reason_severity).fillna(0).to_numpy(dtype="int8"),
    )
    reasons = existing.to_numpy(dtype=object).copy()
    for code, mask in checks.items():
        if not mask.any():
            continue
        severity[mask] = np.maximum(severity[mask], _SEVERITY[REASON_FLAGS[code].value])
        current = pd.Series(reasons[mask], dtype=object)
        reasons[mask] = (current + ";" + code).fillna(code).to_numpy(dtype=object)
    out["flag"] = _BY_SEVERITY[severity]
    out["flag_reason"] = reasons
    return out
