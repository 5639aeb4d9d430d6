"""Quality-control flags on canonical readings: flag, never delete.

Every adapter turns its native values into numbers with
:func:`ingest.qc_parse.parse_values` and
passes its canonical readings through :func:`apply_qc`.  Each check is a vectorized
mask over the whole frame; a reading that fails one or more checks keeps its value
(or NaN) and gets the worst flag of its checks and all their reason codes, joined
by ``;`` in ``flag_reason`` (e.g. ``negative;stuck``).

Reason codes and the flag they set
----------------------------------
``missing`` (invalid)
    the feed published a missing marker (``NA``, ``--``, empty) or no value.
``not_monitored`` (invalid)
    the feed says the station does not measure the parameter (CNEMC writes ``/``).  HJ
    633-2026's completeness rule (:mod:`monitor.aqi`) treats such a pollutant as absent
    from the station's set, not as a missing value, so the two are kept apart.
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
    readings of one pollutant (1-h period, values from :data:`STUCK_FLOORS` up), the
    signature of a frozen analyser or a repeated transmission.  The run length is a
    jointwatch choice, configurable per feed (``stuck_hours``), not a figure from a
    standard.  The default, :data:`DEFAULT_STUCK_HOURS` = 8, keeps a normal slow night
    plateau valid while catching a frozen analyser within one working shift.  Weather
    parameters (rain is zero for days) and the published AQI are not checked.  Runs
    continue across the files of one feed within an ingest run (one file per hour): the
    pipeline passes each file :func:`stuck_history` of the files before it.  A backfill
    reads files independently and checks runs within each file only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from monitor.aqi_layout import NOT_MONITORED
from monitor.schema import PARAMETERS, Flag, Medium

#: Default run length (consecutive hourly readings) for the ``stuck`` check.
DEFAULT_STUCK_HOURS = 8

#: Flag set by each reason code (the part before ``:``).
REASON_FLAGS: dict[str, Flag] = {
    "missing": Flag.INVALID,
    NOT_MONITORED: Flag.INVALID,
    "unparseable": Flag.INVALID,
    "negative": Flag.INVALID,
    "implausible": Flag.INVALID,
    "ph_range": Flag.INVALID,
    "pm25_gt_pm10": Flag.SUSPECT,
    "stuck": Flag.SUSPECT,
}

#: Pollutants checked for stuck values, with the value from which a run counts: ten steps
#: of the published resolution (1 µg/m³; 0.1 mg/m³ for CO).  Below it, repeats are the
#: normal look of clean air near the analysers' detection limits (UCI Aotizhongxin
#: 2013-2017: 5,201 hours in runs of SO2 = 2 µg/m³, 1,109 of O3 = 1 µg/m³).
STUCK_FLOORS: dict[str, float] = {
    name: (1.0 if p.unit == "mg/m3" else 10.0)
    for name, p in PARAMETERS.items() if p.medium is Medium.AIR and name != "aqi"
}

_SEVERITY = {Flag.VALID.value: 0, Flag.SUSPECT.value: 1, Flag.INVALID.value: 2}
_PH_SCALE = (0.0, 14.0)


def _reason_severity(reason: str) -> int:
    """Worst flag severity of the codes in a ``;``-joined reason (unknown codes: invalid)."""
    codes = (code.split(":", 1)[0] for code in reason.split(";"))
    return max(_SEVERITY[REASON_FLAGS.get(code, Flag.INVALID).value] for code in codes)


def _codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 for missing) and the distinct values of a column.

    Categoricals give their codes; integers and times spanning a small range (line
    numbers, the hours of one file) their offset from the minimum, with the range as the
    "distinct values".
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        return (column.cat.codes.to_numpy(dtype="int64"),
                column.cat.categories.to_numpy(dtype=object))
    numbers = _small_range_integers(column)
    if numbers is not None:
        low = int(numbers.min())
        return numbers - low, np.arange(low, int(numbers.max()) + 1)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return np.asarray(codes, dtype="int64"), np.asarray(uniques, dtype=object)


def _small_range_integers(column: pd.Series) -> np.ndarray | None:
    """The column as int64 (times: their epoch ticks) when it has no missing values and
    spans at most four values per row, else None."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None
    if len(column) == 0 or not (kind in ("i", "u") or pd.api.types.is_datetime64_any_dtype(
            column.dtype)):
        return None
    if kind in ("i", "u"):
        numbers = column.to_numpy(dtype="int64")
    else:
        numbers = pd.DatetimeIndex(column).asi8
        if (numbers == np.iinfo("int64").min).any():  # NaT
            return None
    return numbers if int(numbers.max()) - int(numbers.min()) <= 4 * len(numbers) else None


def _reason_codes(reasons: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_codes` of a reason column, factorizing only the rows that have a reason."""
    present = reasons.notna().to_numpy(dtype=bool)
    codes = np.full(len(reasons), -1, dtype="int64")
    if not present.any():
        return codes, np.empty(0, dtype=object)
    sub, uniques = _codes(reasons[present])
    codes[present] = sub
    return codes, uniques


def combined_key(frame: pd.DataFrame, columns: list[str],
                 rows: np.ndarray | None = None) -> np.ndarray:
    """One int64 per row (of the boolean ``rows`` mask, default all) identifying the
    combination of values in ``columns``.

    Columns are encoded whole (free for Categoricals) and the codes masked after.
    """
    key = np.zeros(len(frame), dtype="int64")
    for column in columns:
        codes, uniques = _codes(frame[column])
        key = key * (len(uniques) + 1) + codes + 1
    return key if rows is None else key[rows]


def pm25_gt_pm10_mask(readings: pd.DataFrame) -> np.ndarray:
    """Rows whose PM2.5 exceeds the PM10 of the same station, time, period and source
    (both the PM2.5 and the PM10 row are marked)."""
    mask = np.zeros(len(readings), dtype=bool)
    param = readings["parameter"]
    is25 = (param == "pm25").to_numpy(dtype=bool)
    is10 = (param == "pm10").to_numpy(dtype=bool)
    if not is25.any() or not is10.any():
        return mask
    pm = is25 | is10
    key = combined_key(readings, ["station_id", "time", "period", "source"], pm)
    values = readings["value"].to_numpy(dtype="float64", na_value=np.nan)[pm]
    rows = np.flatnonzero(pm)
    sub25, sub10 = is25[pm], is10[pm]
    keys10, first10 = np.unique(key[sub10], return_index=True)
    match = pd.Index(keys10).get_indexer(key[sub25])
    found = match >= 0
    partner = np.flatnonzero(sub10)[first10[match[found]]]
    own = np.flatnonzero(sub25)[found]
    bad = values[own] > values[partner]
    mask[rows[own[bad]]] = True
    mask[rows[partner[bad]]] = True
    return mask


#: The columns the ``stuck`` check reads (and :func:`stuck_history` keeps).
RUN_COLUMNS: list[str] = ["station_id", "parameter", "source", "period", "time", "value"]


def run_readings(table: pa.Table) -> pd.DataFrame:
    """The readings of an Arrow table (canonical columns) that the ``stuck`` check may look
    at (hourly pollutant readings), as the frame :func:`stuck_history` takes."""
    hourly = pc.and_(pc.equal(table["period"], "1h"),
                     pc.is_in(table["parameter"], value_set=pa.array(list(STUCK_FLOORS))))
    picked = table.filter(hourly)
    return run_frame({c: picked[c].to_numpy() for c in RUN_COLUMNS})


def run_frame(columns: dict[str, object]) -> pd.DataFrame:
    """A frame of :data:`RUN_COLUMNS` with plain object text columns: the runs of one file
    are concatenated with the history of the earlier ones, which is cheap for object
    columns and slow for pandas' string and categorical types."""
    text = ["station_id", "parameter", "source", "period"]
    frame = pd.DataFrame({c: columns[c] for c in text}, dtype=object)
    times = pd.DatetimeIndex(columns["time"])  # naive values are UTC
    frame["time"] = (times if times.tz is not None else times.tz_localize("UTC")).as_unit("s")
    frame["value"] = np.asarray(columns["value"], dtype="float64")
    return frame[RUN_COLUMNS]


def _stuck_eligible(frame: pd.DataFrame) -> np.ndarray:
    """Hourly readings of a pollutant in :data:`STUCK_FLOORS`, at or above its floor."""
    codes, names = _codes(frame["parameter"])
    floor = np.array([STUCK_FLOORS.get(p, np.nan) for p in names] + [np.nan])[codes]
    return ((frame["period"] == "1h").to_numpy(dtype=bool)
            & (frame["value"].to_numpy(dtype="float64", na_value=np.nan) >= floor))


def _eligible_runs(readings: pd.DataFrame, history: pd.DataFrame | None
                   ) -> tuple[pd.DataFrame, np.ndarray]:
    """The eligible readings of ``history`` then ``readings`` (:data:`RUN_COLUMNS`), and
    each one's row in ``readings`` (-1 for history)."""
    origin = np.flatnonzero(_stuck_eligible(readings))
    both = readings[RUN_COLUMNS].take(origin)
    if history is not None and not history.empty:
        earlier = history if list(history.columns) == RUN_COLUMNS else history[RUN_COLUMNS]
        usable = _stuck_eligible(earlier)
        earlier = earlier if usable.all() else earlier.loc[usable]
        both = pd.concat([earlier, both], ignore_index=True)
        origin = np.concatenate([np.full(len(earlier), -1), origin])
    return both, origin


def _hourly_runs(eligible: pd.DataFrame, stamps: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal consecutive hourly values per series (station, parameter, source).

    Returns ``order`` (rows sorted by series and time), and aligned with it the series
    code, the run number and the run length of each row.
    """
    series = combined_key(eligible, ["station_id", "parameter", "source"])
    order = np.lexsort((stamps, series))
    series, times = series[order], stamps[order]
    values = eligible["value"].to_numpy(dtype="float64")[order]
    continues = np.zeros(len(order), dtype=bool)
    continues[1:] = ((series[1:] == series[:-1]) & (values[1:] == values[:-1])
                     & (times[1:] - times[:-1] == 3600))
    run_id = np.cumsum(~continues) - 1
    return order, series, run_id, np.bincount(run_id)[run_id]


def _seconds(times: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(times).as_unit("s").asi8


def stuck_mask(
    readings: pd.DataFrame,
    stuck_hours: int = DEFAULT_STUCK_HOURS,
    history: pd.DataFrame | None = None,
) -> np.ndarray:
    """Rows inside a run of at least ``stuck_hours`` equal consecutive hourly values.

    A run is broken by a different value, a missing value, or a gap in time.
    ``history`` (earlier readings of the same stations, e.g. :func:`stuck_history` of
    the previous files) extends runs backwards for feeds that publish one file per hour;
    it is not flagged itself.
    """
    n = len(readings)
    mask = np.zeros(n, dtype=bool)
    no_history = history is None or history.empty
    if no_history and n and (readings["time"].max() - readings["time"].min()
                             < pd.Timedelta(hours=stuck_hours - 1)):
        return mask  # e.g. one hourly file: no run can be long enough
    both, origin = _eligible_runs(readings, history)
    if len(both) < stuck_hours:
        return mask
    stamps = _seconds(both["time"])
    if stamps.max() - stamps.min() < (stuck_hours - 1) * 3600:
        return mask  # e.g. one hourly file without history: no run can be long enough
    order, _, _, run_len = _hourly_runs(both, stamps)
    hit = origin[order][(run_len >= stuck_hours) & (origin[order] >= 0)]
    mask[hit] = True
    return mask


def stuck_history(readings: pd.DataFrame, history: pd.DataFrame | None = None,
                  keep: int = DEFAULT_STUCK_HOURS - 1) -> pd.DataFrame:
    """What the ``stuck`` check of the next hourly file needs from the files read so far.

    For each series (station, parameter, source) whose latest eligible reading is at the
    latest time of ``readings`` and ``history``, the last ``keep`` readings of the run it
    ends on (``keep = stuck_hours - 1`` is enough for a run to reach ``stuck_hours`` with
    the next file).  Small: about one reading per series when nothing is stuck.

    Parameters
    ----------
    readings : pandas.DataFrame
        canonical readings of the file just read.
    history : pandas.DataFrame, optional
        this function's result for the earlier files.
    keep : int
        readings kept per run.

    Returns
    -------
    pandas.DataFrame
        :data:`RUN_COLUMNS`, to pass as ``history`` to :func:`apply_qc`.
    """
    both, _ = _eligible_runs(readings, history)
    if both.empty or keep < 1:
        return both.iloc[:0].reset_index(drop=True)
    stamps = _seconds(both["time"])
    order, series, run_id, run_len = _hourly_runs(both, stamps)
    times = stamps[order]
    last_of_series = np.append(series[1:] != series[:-1], True)
    is_open = np.zeros(run_id[-1] + 1, dtype=bool)
    is_open[run_id[last_of_series & (times == times.max())]] = True
    start = np.flatnonzero(np.append(True, run_id[1:] != run_id[:-1]))
    from_end = run_len - 1 - (np.arange(len(order)) - start[run_id])
    wanted = is_open[run_id] & (from_end < keep)
    return both.iloc[order[wanted]].reset_index(drop=True)


def range_checks(values: np.ndarray, param_names: np.ndarray, param_codes: np.ndarray
                 ) -> dict[str, np.ndarray]:
    """The checks of a value against its parameter's ranges: ``negative``, ``implausible``,
    ``ph_range`` (masks aligned with ``values``; ``param_codes`` index ``param_names``,
    -1 for none)."""
    bounds = np.array([PARAMETERS[p].plausible if p in PARAMETERS else (np.nan, np.nan)
                       for p in param_names] + [(np.nan, np.nan)], dtype="float64")
    low, high = bounds[param_codes, 0], bounds[param_codes, 1]
    is_ph = np.append(np.asarray(param_names) == "ph", False)[param_codes]
    has_value = ~np.isnan(values)
    negative = has_value & (values < 0) & (low >= 0)
    outside = has_value & ((values < low) | (values > high))
    return {
        "negative": negative & ~is_ph,
        "implausible": outside & ~negative & ~is_ph,
        "ph_range": is_ph & has_value & ((values < _PH_SCALE[0]) | (values > _PH_SCALE[1])),
    }


def reason_severity(texts: list[str]) -> np.ndarray:
    """Severity (0 valid, 1 suspect, 2 invalid) of each ``;``-joined reason, followed by
    0 for "no reason" (so that ``reason_severity(texts)[codes]`` works with code -1)."""
    return np.array([_reason_severity(t) for t in texts] + [0], dtype="int8")


def add_checks(severity: np.ndarray, codes: np.ndarray, texts: list[str],
               checks: dict[str, np.ndarray]) -> None:
    """Raise ``severity`` (0 valid, 1 suspect, 2 invalid) and append each failed check's
    reason code to the reasons, in place, in ``checks`` order.

    Reasons are coded: ``codes`` index ``texts`` (``;``-joined reason codes, -1 for
    none); a new combination is appended to ``texts``.
    """
    for code, mask in checks.items():
        if not mask.any():
            continue
        severity[mask] = np.maximum(severity[mask], _SEVERITY[REASON_FLAGS[code].value])
        old, inverse = np.unique(codes[mask], return_inverse=True)
        combined = [code if c < 0 else f"{texts[c]};{code}" for c in old]
        where = {t: i for i, t in enumerate(texts)}
        for text in combined:
            if text not in where:
                where[text] = len(texts)
                texts.append(text)
        codes[mask] = np.array([where[t] for t in combined], dtype=codes.dtype)[inverse]


#: Flags by severity (the codes :func:`add_checks` works with).
FLAGS_BY_SEVERITY: list[str] = [Flag.VALID.value, Flag.SUSPECT.value, Flag.INVALID.value]


def apply_qc(
    readings: pd.DataFrame,
    *,
    stuck_hours: int = DEFAULT_STUCK_HOURS,
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Flag canonical readings; return a copy with ``flag`` and ``flag_reason`` set.

    Reasons already present (from :func:`ingest.qc_parse.parse_values`) are kept; the flag is the
    worst of the existing flag and the flags of all reason codes.

    Parameters
    ----------
    readings : pandas.DataFrame
        canonical readings (``monitor.schema.READING_COLUMNS``).
    stuck_hours : int
        run length for the ``stuck`` check (see module docstring).
    history : pandas.DataFrame, optional
        earlier readings used only to extend stuck runs backwards.

    Returns
    -------
    pandas.DataFrame
        the same readings, same order and values; ``flag`` a Categorical of
        valid/suspect/invalid, ``flag_reason`` the ``;``-joined reason codes or None.
    """
    out = readings.copy(deep=False)  # copy-on-write: only flag and flag_reason change
    n = len(out)
    if n == 0:
        return out
    values = out["value"].to_numpy(dtype="float64", na_value=np.nan)
    param_codes, param_names = _codes(out["parameter"])
    reason_codes, reason_texts = _reason_codes(out["flag_reason"])
    checks = {"missing": np.isnan(values) & (reason_codes < 0),
              **range_checks(values, param_names, param_codes),
              "pm25_gt_pm10": pm25_gt_pm10_mask(out),
              "stuck": stuck_mask(out, stuck_hours, history)}
    flag_codes, flag_names = _codes(out["flag"])
    flag_rank = np.array([_SEVERITY.get(f, 0) for f in flag_names] + [0], dtype="int8")
    text_rank = reason_severity(list(reason_texts))
    severity = np.maximum(flag_rank[flag_codes], text_rank[reason_codes])
    texts = list(reason_texts)
    add_checks(severity, reason_codes, texts, checks)
    reasons = np.array([*texts, None], dtype=object)[reason_codes]
    out["flag"] = pd.Categorical.from_codes(severity, categories=FLAGS_BY_SEVERITY)
    out["flag_reason"] = pd.Series(reasons, index=out.index, dtype=object)
    return out
