"""Native cells to numbers and reason codes: the first step of QC (see :mod:`ingest.qc`).

A cell is a number, a missing marker (reason ``missing``), a marker that the station does
not measure the parameter (``not_monitored``) or text that is not a number
(``unparseable:<text>``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from monitor.aqi_layout import NOT_MONITORED


def parse_values(
    raw: pd.Series, missing_markers: Iterable[str] = ("",),
    not_monitored_markers: Iterable[str] = (),
) -> tuple[np.ndarray, pd.Series]:
    """Turn native cells into floats and a reason code per cell.

    Parameters
    ----------
    raw : pandas.Series
        cells as read (strings, numbers or nulls).
    missing_markers : iterable of str
        the feed's missing-value markers (compared after stripping blanks).
    not_monitored_markers : iterable of str
        the feed's markers of a parameter the station does not measure.

    Returns
    -------
    values : numpy.ndarray of float64
        the numbers; NaN where missing, not monitored or unparseable.
    reasons : pandas.Series of object
        ``missing``, ``not_monitored``, ``unparseable:<raw text>`` or None, aligned with
        ``raw``.
    """
    if pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.to_numpy(dtype="float64", na_value=np.nan)
        reasons = np.where(np.isnan(values), "missing", None).astype(object)
    else:
        try:
            cells = pa.array(raw, type=pa.large_string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: read as text
            cells = pa.array(raw.astype("string"), type=pa.large_string())
        values, reasons = parse_arrow_values(cells, missing_markers, not_monitored_markers)
    return values, pd.Series(reasons, index=raw.index, dtype=object)


#: Reason codes of :func:`parse_arrow_codes` (index into this list; -1 for none).
PARSE_REASONS: list[str] = ["missing", NOT_MONITORED]


def parse_arrow_codes(
    cells: pa.Array | pa.ChunkedArray, missing_markers: Iterable[str] = ("",),
    not_monitored_markers: Iterable[str] = (),
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Numbers and coded reasons of cells as pyarrow read them (numbers, or text).

    Returns
    -------
    values : numpy.ndarray of float64
        NaN where missing, not monitored or unparseable.
    codes : numpy.ndarray of int32
        per cell, the index of its reason in ``texts`` (-1: none).
    texts : list of str
        :data:`PARSE_REASONS` followed by one ``unparseable:<raw text>`` per cell that is
        not a number.
    """
    texts = list(PARSE_REASONS)
    if pa.types.is_integer(cells.type) or pa.types.is_floating(cells.type) or (
            pa.types.is_null(cells.type)):
        values = pc.cast(cells, pa.float64()).to_numpy(zero_copy_only=False)
        return values, np.isnan(values).astype("int32") - 1, texts
    text = pc.utf8_trim_whitespace(pc.cast(cells, pa.large_string()))
    missing = _marked(text, missing_markers, nulls=True)
    unmonitored = _marked(text, not_monitored_markers, nulls=False)
    numbers = pc.if_else(pa.array(missing | unmonitored), pa.scalar(None, text.type), text)
    try:
        values = pc.cast(numbers, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # some cell is not a number: find which, keep its text
        values = pd.to_numeric(pd.Series(numbers, dtype="string"), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan)
    codes = np.full(len(values), -1, dtype="int32")
    codes[missing] = 0
    codes[unmonitored] = 1
    bad = np.isnan(values) & ~missing & ~unmonitored
    if bad.any():
        cleaned = pd.Series(text, dtype="string")[bad].str.replace(";", ",", regex=False)
        codes[bad] = np.arange(len(texts), len(texts) + int(bad.sum()))
        texts += ("unparseable:" + cleaned).tolist()
    return values, codes, texts


def parse_arrow_values(
    cells: pa.Array | pa.ChunkedArray, missing_markers: Iterable[str] = ("",),
    not_monitored_markers: Iterable[str] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`parse_values` of cells as pyarrow read them (numbers, or text).

    Returns
    -------
    values : numpy.ndarray of float64
    reasons : numpy.ndarray of object
        as for :func:`parse_values`.
    """
    values, codes, texts = parse_arrow_codes(cells, missing_markers, not_monitored_markers)
    return values, np.array([*texts, None], dtype=object)[codes]


def _marked(text: pa.Array | pa.ChunkedArray, markers: Iterable[str], *,
            nulls: bool) -> np.ndarray:
    """Cells of ``text`` equal to one of ``markers`` (and, if ``nulls``, the null cells)."""
    hits = pc.is_in(text, value_set=pa.array(list(markers), type=text.type))
    if nulls:
        hits = pc.or_kleene(hits, pc.is_null(text))
    return hits.to_numpy(zero_copy_only=False).astype(bool, copy=False)
