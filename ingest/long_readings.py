"""From a table of native cells (one row per record, one column per parameter) to
canonical long readings.

Adapters whose code must find the records and their stations themselves (layouts
config alone cannot describe) declare their value columns as :class:`ValueColumn`
and let :func:`long_readings` do the common part: parse the cells, convert the unit
(:func:`ingest.harmonize.to_canonical_unit`) and emit one reading per record and
column with its reason code (assembled by :func:`ingest.tabular_values.readings_frame`,
as the generic tabular reader does).  Flags are then set by :func:`ingest.qc.apply_qc`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.base import empty_readings
from ingest.harmonize import to_canonical_unit
from ingest.tabular_values import Coded, coded, naive_utc, readings_frame
from monitor.schema import parameter


@dataclass(frozen=True, slots=True)
class ValueColumn:
    """One native column holding values of one parameter and averaging period."""

    #: Column label in the cell table.
    key: Hashable
    #: Native header text, for messages.
    native: str
    parameter: str
    period: str
    #: Native unit as published; empty means the parameter's canonical unit.
    unit: str = ""


#: Turns one column's cells into float values and reason codes (None = no problem).
CellParser = Callable[[pd.Series, ValueColumn], tuple[np.ndarray, pd.Series]]


def long_readings(
    table: pd.DataFrame,
    columns: Sequence[ValueColumn],
    *,
    parse_cell: CellParser,
    station_id: pd.Series,
    time: pd.Series,
    source_rows: np.ndarray,
    source: str,
    source_file: str,
) -> pd.DataFrame:
    """One canonical reading per (record, value column), flags not yet applied.

    Parameters
    ----------
    table : pandas.DataFrame
        the records' native cells, one row per record.
    columns : sequence of ValueColumn
        the columns of ``table`` that hold values.
    parse_cell : CellParser
        the feed's cell parser (e.g. :func:`ingest.qc.parse_values` with its markers).
    station_id, time : pandas.Series
        per record: canonical station id and UTC time (end of the period).
    source_rows : numpy.ndarray
        per record: its row number in the source file.
    source, source_file : str
        feed id and file path.

    Returns
    -------
    pandas.DataFrame
        ``READING_COLUMNS``; ``flag`` is ``valid`` and ``flag_reason`` holds the parse
        reason codes, to be completed by :func:`ingest.qc.apply_qc`.
    """
    if table.empty or not columns:
        return empty_readings()
    parsed = [parse_cell(table[column.key], column) for column in columns]
    values = np.stack([np.asarray(v, dtype="float64") for v, _ in parsed], axis=1)
    reasons = np.stack([np.asarray(r, dtype=object) for _, r in parsed], axis=1)
    return melt_readings(values, reasons, columns, station_id=station_id, time=time,
                         source_rows=source_rows, source=source, source_file=source_file)


def melt_readings(
    values: np.ndarray,
    reasons: np.ndarray,
    columns: Sequence[ValueColumn],
    *,
    station_id: pd.Series,
    time: pd.Series,
    source_rows: np.ndarray,
    source: str,
    source_file: str,
) -> pd.DataFrame:
    """Parsed cells (records × value columns, native units) as canonical long readings.

    Parameters
    ----------
    values, reasons : numpy.ndarray
        float values and reason codes (None = no problem), one row per record and one
        column per entry of ``columns``.
    columns, station_id, time, source_rows, source, source_file
        as for :func:`long_readings`.

    Returns
    -------
    pandas.DataFrame
        ``READING_COLUMNS``, column by column (all records of ``columns[0]`` first).
    """
    n, k = values.shape
    if n == 0 or k == 0:
        return empty_readings()
    times = pd.DatetimeIndex(time)
    converted = np.empty((k, n), dtype="float64")
    for j, column in enumerate(columns):
        unit = column.unit or parameter(column.parameter).unit
        converted[j] = to_canonical_unit(values[:, j], unit, column.parameter, times)
    station_codes, stations = coded(station_id)
    return readings_frame(
        source, source_file,
        station_id=(np.tile(station_codes, k), stations),
        time=np.tile(naive_utc(times), k),
        period=_per_column([c.period for c in columns], n),
        parameter=_per_column([c.parameter for c in columns], n),
        value=converted.ravel(), reason=reasons.T.ravel(),
        line=np.tile(np.asarray(source_rows, dtype="int64"), k))


def _per_column(labels: list[str], rows: int) -> Coded:
    """``labels[j]`` repeated for the ``rows`` readings of column ``j``, as codes."""
    codes, uniques = coded(labels)
    return np.repeat(codes, rows), uniques
