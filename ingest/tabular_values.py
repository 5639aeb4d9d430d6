"""Cells to canonical values, reading frames and quarantine frames (vectorized)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ingest.base import empty_quarantine
from ingest.harmonize import compass_to_degrees, to_canonical_unit
from ingest.qc_parse import parse_arrow_values, parse_values
from ingest.tabular_options import COMPASS_UNIT
from monitor.schema import PARAMETERS, QUARANTINE_COLUMNS, Flag

_UNITS = {name: p.unit for name, p in PARAMETERS.items()}


class QuarantineBuilder:
    """Collects refused records of one file as arrays; :meth:`frame` builds the table once."""

    def __init__(self, source: str, source_file: str) -> None:
        self.source, self.source_file = source, source_file
        self._parts: list[pd.DataFrame] = []

    def add_rows(self, lines: np.ndarray, field: str | None, reasons: str | np.ndarray,
                 raw: np.ndarray) -> None:
        """Add one record per entry of ``lines`` (reasons: one text or one per record)."""
        if len(lines) == 0:
            return
        self._parts.append(pd.DataFrame({
            "source": self.source,
            "source_file": self.source_file,
            "source_row": np.asarray(lines, dtype="int64"),
            "field": field,
            "reason": reasons,
            "raw": raw,
        }))

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return empty_quarantine()
        return pd.concat(self._parts, ignore_index=True)[QUARANTINE_COLUMNS]


def parse_column(cells: pd.Series | pa.ChunkedArray, missing: list[str],
                 not_monitored: list[str], compass: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Numbers and reason codes of one column of cells (pandas, or as pyarrow read it).

    Numbers and text go through :func:`ingest.qc.parse_values` (its Arrow core for
    pyarrow columns); with ``compass`` the text is read as compass points.
    """
    if not compass:
        if isinstance(cells, pd.Series):
            values, reasons = parse_values(cells, missing, not_monitored)
            return values, reasons.to_numpy(dtype=object)
        return parse_arrow_values(cells, missing, not_monitored)
    series = cells if isinstance(cells, pd.Series) else cells.to_pandas()
    text = series.astype("string").str.strip()
    absent = (text.isna() | text.isin(missing)).to_numpy(dtype=bool)
    values = compass_to_degrees(text)
    bad = np.isnan(values) & ~absent
    reasons = np.where(absent, "missing", None).astype(object)
    reasons[bad] = ("unparseable:" + text[bad]).to_numpy(dtype=object)
    return values, reasons


def parse_cells(cells: pd.DataFrame | pa.Table, missing: list[str],
                not_monitored: list[str], compass: frozenset[str] = frozenset()
                ) -> tuple[np.ndarray, np.ndarray]:
    """Numbers and reason codes of a block of cells (rows × columns).

    A pandas block whose columns are all numbers is taken in one step; otherwise each
    column goes through :func:`parse_column` (those named in ``compass`` as compass
    points).
    """
    names = list(cells.columns) if isinstance(cells, pd.DataFrame) else cells.column_names
    if isinstance(cells, pd.DataFrame) and not compass and all(
            pd.api.types.is_numeric_dtype(t) for t in cells.dtypes):
        values = cells.to_numpy(dtype="float64", na_value=np.nan, copy=True)
        return values, np.where(np.isnan(values), "missing", None).astype(object)
    values = np.empty((len(cells), len(names)), dtype="float64")
    reasons = np.empty((len(cells), len(names)), dtype=object)
    for j, name in enumerate(names):
        column = cells.iloc[:, j] if isinstance(cells, pd.DataFrame) else cells.column(j)
        values[:, j], reasons[:, j] = parse_column(column, missing, not_monitored,
                                                   compass=name in compass)
    return values, reasons


def naive_utc(times: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Time-zone aware times as a plain UTC ``datetime64[ns]`` array (for repeating and
    tiling)."""
    index = pd.DatetimeIndex(times)
    if index.tz is None:
        raise ValueError("naive_utc needs time-zone aware times")
    return index.as_unit("ns").asi8.view("datetime64[ns]")


def convert_unit(values: np.ndarray, unit: str | None, param: str,
                 times: pd.Series) -> np.ndarray:
    """``values`` (rows × columns, rows aligned with ``times``) in ``param``'s canonical unit."""
    if unit is None or unit == COMPASS_UNIT:
        return values
    flat_times = pd.DatetimeIndex(np.repeat(naive_utc(times), values.shape[1])).tz_localize(
        "UTC") if values.ndim == 2 else times
    flat = to_canonical_unit(values.ravel(), unit, param, flat_times)
    return flat.reshape(values.shape)


#: A column given as integer codes into distinct values (becomes a pandas Categorical).
Coded = tuple[np.ndarray, np.ndarray]


def coded(values: np.ndarray | list[str] | pd.Series) -> Coded:
    """Codes and distinct values of ``values`` (no missing values allowed); a categorical
    Series gives its own codes and categories."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        return (values.cat.codes.to_numpy(dtype="int64"),
                values.cat.categories.to_numpy(dtype=object))
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return np.asarray(codes, dtype="int64"), np.asarray(uniques, dtype=object)


def _categorical(column: Coded) -> pd.Categorical:
    dtype = pd.CategoricalDtype(pd.Index(column[1], dtype=object))
    return pd.Categorical.from_codes(column[0], dtype=dtype, validate=False)


def readings_frame(source: str, source_file: str, station_id: Coded, time: np.ndarray,
                   period: Coded, parameter: Coded, value: np.ndarray, reason: np.ndarray,
                   line: np.ndarray) -> pd.DataFrame:
    """Canonical readings from flat, aligned arrays (``time`` as naive UTC datetime64).

    Repeated text columns are Categoricals (codes into few values): building them costs
    no per-value string work, and ``pyarrow.Table.from_pandas`` writes them as strings.
    The columns are in ``READING_COLUMNS`` order.
    """
    n = len(value)
    unit_names = [_UNITS[p] for p in parameter[1]]
    unit = coded(unit_names) if unit_names else (np.empty(0, dtype="int64"),
                                                 np.empty(0, dtype=object))
    constant = (np.zeros(n, dtype="int64"), np.array([source], dtype=object))
    return pd.DataFrame({
        "station_id": _categorical(station_id),
        "time": pd.DatetimeIndex(time.astype("datetime64[s]"), dtype="datetime64[s, UTC]"),
        "period": _categorical(period),
        "parameter": _categorical(parameter),
        "value": value,
        "unit": _categorical((unit[0][parameter[0]] if n else parameter[0], unit[1])),
        "flag": _categorical((np.zeros(n, dtype="int8"), np.array([Flag.VALID.value]))),
        "flag_reason": pd.Series(reason, dtype=object),
        "source": _categorical(constant),
        "source_file": _categorical((constant[0], np.array([source_file], dtype=object))),
        "source_row": np.asarray(line, dtype="int64"),
    })
