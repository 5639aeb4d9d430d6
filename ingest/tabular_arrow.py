"""The long layout read in Arrow end to end: the fast path of :mod:`ingest.tabular`.

A well-formed long file (pyarrow parsed it; every row has a station and a readable
timestamp; no station appears twice at one time) needs none of the row-level
bookkeeping of the general path: every record becomes readings.  For such a file
:func:`long_readings_table` builds the QC-flagged readings straight from pyarrow's
columns into an Arrow table (:data:`monitor.schema.READING_TABLE_SCHEMA`), without
pandas, which is what makes backfills of hourly national files fast.

It gives exactly the readings of the general path (same rows, order, values, flags
and reasons; ``tests/test_tabular_arrow.py`` compares both on every real hourly file)
and returns None whenever the file or the options need the general path: rows to
quarantine or count as duplicates, ``station_map``, ``require_known_station``, compass
columns, a timestamp spread over several columns, or two columns with the same
parameter and period.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.harmonize import NativeName, to_canonical_unit
from ingest.qc import (
    FLAGS_BY_SEVERITY,
    STUCK_FLOORS,
    add_checks,
    range_checks,
    reason_severity,
    run_frame,
    stuck_mask,
)
from ingest.qc_parse import PARSE_REASONS, parse_arrow_codes
from ingest.tabular_options import COMPASS_UNIT, TabularOptions
from ingest.tabular_times import parse_texts
from monitor.schema import PARAMETERS, READING_TABLE_SCHEMA


def _dictionary(codes: np.ndarray, values: list[str] | pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype("int32", copy=False)),
                                          pa.array(values, type=pa.string()))


def _per_column(labels: list[str], rows: int) -> pa.DictionaryArray:
    """``labels[j]`` for the ``rows`` readings of column ``j`` (a dictionary of distinct
    labels: pandas needs unique categories)."""
    distinct, codes = np.unique(np.asarray(labels, dtype=object), return_inverse=True)
    return _dictionary(np.repeat(codes, rows), list(distinct))


def _constant(value: str, n: int) -> pa.DictionaryArray:
    return _dictionary(np.zeros(n, dtype="int32"), [value])


def _station_ids(table: pa.Table, opts: TabularOptions) -> pa.DictionaryArray | None:
    """Each row's station id, dictionary-encoded; None when a row has no station."""
    if opts.station is not None:
        return _constant(opts.station, table.num_rows)
    native = table.column(opts.station_column)
    if not (pa.types.is_string(native.type) or pa.types.is_large_string(native.type)):
        native = native.cast(pa.string())
    native = pc.utf8_trim_whitespace(native)
    if native.null_count or pc.any(pc.equal(native, "")).as_py():
        return None
    encoded = native.combine_chunks().dictionary_encode()
    ids = pc.binary_join_element_wise(opts.station_prefix, encoded.dictionary, "")
    return pa.DictionaryArray.from_arrays(encoded.indices, ids.cast(pa.string()))


def _row_times(table: pa.Table, opts: TabularOptions, timezone: str) -> np.ndarray | None:
    """Each row's UTC time (datetime64[s]); None when one cannot be read."""
    text = table.column(opts.time.column).cast(pa.string()).combine_chunks().dictionary_encode()
    parsed = parse_texts(text.dictionary.to_numpy(zero_copy_only=False), opts.time.format,
                         timezone)
    if np.isnat(parsed).any():
        return None
    return parsed.astype("datetime64[s]")[text.indices.to_numpy(zero_copy_only=False)]


def _unique_rows(stations: pa.DictionaryArray, times: np.ndarray) -> bool:
    """Whether no station appears twice at the same time."""
    codes = stations.indices.to_numpy(zero_copy_only=False).astype("int64")
    if (times == times[0]).all():
        return len(np.unique(codes)) == len(codes)
    _, time_codes = np.unique(times, return_inverse=True)
    key = time_codes.astype("int64") * (len(stations.dictionary) + 1) + codes
    return len(np.unique(key)) == len(key)


def _pm_pairs(names: list[NativeName]) -> list[tuple[int, int]]:
    """Columns (PM2.5, PM10) of the same period: their rows are compared."""
    by_key = {(n.parameter, n.period): j for j, n in enumerate(names)}
    return [(j, by_key[("pm10", n.period)]) for j, n in enumerate(names)
            if n.parameter == "pm25" and ("pm10", n.period) in by_key]


def _stuck(values: np.ndarray, names: list[NativeName], stations: pa.DictionaryArray,
           times: np.ndarray, source: str, opts: TabularOptions,
           history: pd.DataFrame | None) -> np.ndarray:
    """The ``stuck`` check of :func:`ingest.qc.apply_qc` on the cells (columns × rows)."""
    mask = np.zeros(values.shape, dtype=bool)
    no_history = history is None or history.empty
    span = (times.max() - times.min()).astype("int64")
    if no_history and span < (opts.stuck_hours - 1) * 3600:
        return mask  # e.g. one hourly file: no run can be long enough
    columns = [j for j, n in enumerate(names)
               if n.period == "1h" and n.parameter in STUCK_FLOORS]
    if not columns:
        return mask
    n = len(times)
    station = stations.dictionary.to_numpy(zero_copy_only=False)[
        stations.indices.to_numpy(zero_copy_only=False)]
    run = run_frame({
        "station_id": np.tile(station, len(columns)),
        "parameter": np.repeat(np.array([names[j].parameter for j in columns], dtype=object), n),
        "source": np.full(n * len(columns), source, dtype=object),
        "period": np.full(n * len(columns), "1h", dtype=object),
        "time": np.tile(times, len(columns)),
        "value": values[columns].ravel()})
    hit = stuck_mask(run, opts.stuck_hours, history).reshape(len(columns), n)
    mask[columns] = hit
    return mask


def long_readings_table(table: pa.Table, lines: np.ndarray, natives: dict[str, NativeName],
                        opts: TabularOptions, *, source: str, path: Path, timezone: str,
                        history: pd.DataFrame | None) -> pa.Table | None:
    """QC-flagged readings of a well-formed long file, or None if it needs the general path.

    Parameters
    ----------
    table : pyarrow.Table
        the file as pyarrow read it (missing markers already null).
    lines : numpy.ndarray
        1-based line number of each row.
    natives : dict
        value column -> canonical (parameter, period).
    opts : TabularOptions
        the feed's tabular options.
    source, path, timezone
        feed id, the file, the feed's local time zone.
    history : pandas.DataFrame, optional
        recent readings of the feed, for the ``stuck`` check (see :func:`ingest.qc.apply_qc`).

    Returns
    -------
    pyarrow.Table or None
        readings in :data:`monitor.schema.READING_TABLE_SCHEMA`, column by column (all
        rows of the first value column first), as :func:`ingest.long_readings.melt_readings`
        orders them.
    """
    names = list(natives.values())
    if (opts.station_map or opts.require_known_station or opts.time.column is None
            or len({(n.parameter, n.period) for n in names}) < len(names)
            or any(opts.unit_of(c, n.parameter) == COMPASS_UNIT for c, n in natives.items())):
        return None
    n, k = table.num_rows, len(names)
    if n == 0:
        return None
    stations = _station_ids(table, opts)
    times = None if stations is None else _row_times(table, opts, timezone)
    if stations is None or times is None or not _unique_rows(stations, times):
        return None
    values = np.empty((k, n), dtype="float64")
    codes = np.empty((k, n), dtype="int32")
    texts = list(PARSE_REASONS)
    for j, (column, name) in enumerate(natives.items()):
        raw, column_codes, column_texts = parse_arrow_codes(
            table.column(column), opts.missing, opts.not_monitored)
        if len(column_texts) > len(PARSE_REASONS):  # unparseable cells: their own texts
            column_codes = np.where(column_codes >= len(PARSE_REASONS),
                                    column_codes + len(texts) - len(PARSE_REASONS), column_codes)
            texts += column_texts[len(PARSE_REASONS):]
        codes[j] = column_codes
        unit = opts.unit_of(column, name.parameter)
        values[j] = raw if unit is None else to_canonical_unit(
            raw, unit, name.parameter, pd.DatetimeIndex(times).tz_localize("UTC"))
    param_names = np.array([nm.parameter for nm in names], dtype=object)
    flat, reason_codes = values.ravel(), codes.ravel()
    pm_gt = np.zeros((k, n), dtype=bool)
    for j25, j10 in _pm_pairs(names):
        over = values[j25] > values[j10]
        pm_gt[j25] |= over
        pm_gt[j10] |= over
    severity = reason_severity(texts)[reason_codes]
    add_checks(severity, reason_codes, texts, {
        **range_checks(flat, param_names, np.repeat(np.arange(k), n)),
        "pm25_gt_pm10": pm_gt.ravel(),
        "stuck": _stuck(values, names, stations, times, source, opts, history).ravel(),
    })
    if len(set(texts)) < len(texts):  # the same unparseable text in several cells
        distinct, remap = np.unique(np.array(texts, dtype=object), return_inverse=True)
        reason_codes = np.where(reason_codes < 0, -1, remap[reason_codes]).astype("int32")
        texts = [str(t) for t in distinct]
    station_codes = stations.indices.to_numpy(zero_copy_only=False)
    units = [PARAMETERS[nm.parameter].unit for nm in names]
    columns = {
        "station_id": pa.DictionaryArray.from_arrays(
            pa.array(np.tile(station_codes, k).astype("int32")), stations.dictionary),
        "time": pa.array(np.tile(times, k), type=READING_TABLE_SCHEMA.field("time").type),
        "period": _per_column([nm.period for nm in names], n),
        "parameter": _per_column(list(param_names), n),
        "value": pa.array(flat, from_pandas=True),  # NaN stored as null, as from pandas
        "unit": _per_column(units, n),
        "flag": _dictionary(severity, FLAGS_BY_SEVERITY),
        "flag_reason": pa.DictionaryArray.from_arrays(
            pa.array(reason_codes, mask=reason_codes < 0), pa.array(texts, type=pa.string())),
        "source": _constant(source, n * k),
        "source_file": _constant(str(path), n * k),
        "source_row": pa.array(np.tile(lines.astype("int64"), k)),
    }
    return pa.table([columns[f.name] for f in READING_TABLE_SCHEMA], schema=READING_TABLE_SCHEMA)
