"""The generic tabular reader: a delimited file described by config alone becomes readings.

Use it as an adapter (``adapter = "tabular"`` in ``config/feeds.toml``, options in
:mod:`ingest.tabular_options`) or from a feed-specific adapter through
:func:`read_tabular`, which also returns the accepted rows for metadata the
adapter wants to collect.

Two layouts:

``long``
    one row per station and time, one column per parameter; a record is a row.
``wide_by_station``
    one row per time and parameter, one column per station; a record is one
    (row, station column) cell (see :mod:`ingest.base`).

Rows that cannot become readings are quarantined with file, line, field, raw text
and reason (bad timestamp, missing or unknown station, unknown parameter, conflicting
duplicate) on top of what :mod:`ingest.tabular_load` refuses line by line.  Rows
repeating an earlier row exactly are counted as duplicates.  A file without the
configured columns is refused as a whole (one quarantine record, line 0).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.base import FileResult, IngestContext
from ingest.harmonize import NativeName
from ingest.long_readings import ValueColumn, melt_readings
from ingest.qc import apply_qc, combined_key
from ingest.tabular_arrow import long_readings_table
from ingest.tabular_load import LayoutError, LoadedFile, load_delimited
from ingest.tabular_options import COMPASS_UNIT, TabularOptions
from ingest.tabular_times import parse_local_times
from ingest.tabular_values import (
    QuarantineBuilder,
    coded,
    convert_unit,
    naive_utc,
    parse_cells,
    readings_frame,
)
from monitor.config import Feed

log = logging.getLogger(__name__)


@dataclass
class TabularResult:
    """A file's :class:`FileResult` and its accepted rows, for metadata an adapter collects."""

    result: FileResult
    loaded: LoadedFile | None = None
    #: Rows that produced readings (None: all of them).
    keep: np.ndarray | None = None
    #: Each row's station id (long layout), aligned with the rows as read.
    station: pd.Series | pa.DictionaryArray | None = None

    def accepted(self, columns: list[str]) -> pa.Table | None:
        """``columns`` of the rows that produced readings, with their ``station_id``
        (None when the file had no rows or the layout has no station column)."""
        if self.loaded is None or self.station is None:
            return None
        if self.keep is None and self.loaded.table is not None:
            return self.loaded.table.select(columns).append_column(
                "station_id", self.station.dictionary_decode())
        keep = np.ones(len(self.loaded.lines), dtype=bool) if self.keep is None else self.keep
        frame = self.loaded.frame.loc[keep, columns].astype("string")
        return pa.Table.from_pandas(frame.assign(station_id=pd.Series(
            self.station).astype(object).to_numpy()[keep]), preserve_index=False)


def _time_text(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    text = frame[columns].astype("string").fillna("")
    return text.agg(" ".join, axis=1) if len(columns) > 1 else text[columns[0]]


def _prefixed(prefix: str, native: pd.Series) -> pd.Series:
    """``prefix + native`` as a categorical Series: each id built once (in Arrow) and
    used as codes after; missing stays missing."""
    text = pa.array(native, type=pa.large_string())
    ids = pc.binary_join_element_wise(pa.scalar(prefix, text.type), text,
                                      pa.scalar("", text.type))
    return pd.Series(ids.dictionary_encode().to_pandas(), index=native.index)


def _unit_after_parsing(unit: str | None) -> str:
    """The unit of parsed values: compass points are already degrees (canonical)."""
    return "" if unit is None or unit == COMPASS_UNIT else unit


def _required_columns(opts: TabularOptions) -> list[str]:
    explicit = list(opts.columns) if opts.layout == "long" else []
    return [*opts.id_columns(), *explicit]


def _header_text(header: list[str], limit: int = 30) -> str:
    shown = ", ".join(header[:limit])
    return shown if len(header) <= limit else f"{shown}, ... ({len(header)} columns)"


def _refuse(path: Path, feed: Feed, reason: str) -> TabularResult:
    quarantine = QuarantineBuilder(feed.id, str(path))
    quarantine.add_rows(np.array([0]), None, reason, np.array([None], dtype=object))
    log.warning("%s: refused: %s", path, reason)
    result = FileResult(path=path, records=1, quarantine=quarantine.frame())
    return TabularResult(result)


def _raw_rows(frame: pd.DataFrame, mask: np.ndarray, delimiter: str) -> np.ndarray:
    """The cells of the masked rows joined back into text, for the quarantine."""
    picked = frame.loc[mask].astype("string").fillna("")
    if picked.empty:
        return np.empty(0, dtype=object)
    return picked.agg(delimiter.join, axis=1).to_numpy(dtype=object)


#: A reason for refused rows: one text, or a function of the refused rows' mask.
Reason = str | Callable[[np.ndarray], np.ndarray]


class _Rows:
    """Good rows of a file being narrowed down, with their quarantine.

    Each row stands for ``cells`` records (1 for long files, the number of station
    columns for files wide by station).
    """

    def __init__(self, loaded: LoadedFile, path: Path, feed: Feed, opts: TabularOptions,
                 cells_per_row: int) -> None:
        self.frame, self.lines, self.opts = loaded.frame, loaded.lines, opts
        self.keep = np.ones(len(self.frame), dtype=bool)
        self.cells = cells_per_row
        self.quarantine = QuarantineBuilder(feed.id, str(path))
        for bad in loaded.rejected:
            self.quarantine.add_rows(np.repeat(bad.line, cells_per_row), bad.field,
                                     bad.reason, np.repeat(np.array([bad.raw], dtype=object),
                                                           cells_per_row))
        self.duplicates = 0

    def reject(self, mask: np.ndarray, field: str | None, reason: Reason) -> None:
        """Quarantine the still-kept rows in ``mask``."""
        mask = mask & self.keep
        if not mask.any():
            return
        raw = _raw_rows(self.frame, mask, self.opts.delimiter)
        texts = reason if isinstance(reason, str) else np.repeat(
            np.asarray(reason(mask), dtype=object), self.cells)
        self.quarantine.add_rows(np.repeat(self.lines[mask], self.cells), field, texts,
                                 np.repeat(raw, self.cells))
        self.keep &= ~mask

    def drop_duplicates(self, keys: pd.DataFrame, content: list[str]) -> None:
        """Count exact repeats of an earlier row as duplicates; quarantine conflicting ones.

        ``keys`` (aligned with the rows) identify a record; the ``content`` columns of the
        frame tell an exact repeat from a conflicting one.
        """
        if not pd.Index(combined_key(keys, list(keys.columns), self.keep)).has_duplicates:
            return
        kept = np.flatnonzero(self.keep)
        same_key = keys.iloc[kept].duplicated(keep="first").to_numpy()
        both = pd.concat([keys, self.frame[content]], axis=1).iloc[kept]
        exact = np.zeros(len(self.keep), dtype=bool)
        exact[kept] = both.duplicated(keep="first").to_numpy()
        conflict = np.zeros(len(self.keep), dtype=bool)
        conflict[kept] = same_key
        conflict &= ~exact
        first = pd.Series(self.lines[kept]).groupby(
            [keys[c].iloc[kept].to_numpy() for c in keys.columns], sort=False,
            dropna=False).transform("first").to_numpy()
        first_line = np.zeros(len(self.keep), dtype="int64")
        first_line[kept] = first
        self.reject(conflict, None, lambda m: np.array(
            [f"conflicting duplicate of line {n}: same key, different values"
             for n in first_line[m]], dtype=object))
        self.duplicates += int(exact.sum()) * self.cells
        self.keep &= ~exact


def _check_layout(loaded: LoadedFile, opts: TabularOptions) -> None:
    missing = [c for c in _required_columns(opts) if c not in loaded.header]
    if missing:
        raise LayoutError(
            f"unknown layout: required columns missing: {', '.join(missing)} "
            f"(header has: {_header_text(loaded.header)})")


def _times(rows: _Rows, timezone: str) -> pd.Series:
    times = parse_local_times(rows.frame, rows.opts, timezone)
    spec = rows.opts.time
    expected = spec.format or ("ISO 8601" if spec.column else "numbers")
    rows.reject(times.isna().to_numpy(), ",".join(spec.columns), lambda m: (
        "bad timestamp '" + _time_text(rows.frame.loc[m], spec.columns)
        + f"' (expected {expected}, local time {timezone})").to_numpy(dtype=object))
    return times


def _value_columns(loaded: LoadedFile, opts: TabularOptions) -> dict[str, NativeName]:
    """The long layout's value columns: native header -> canonical (parameter, period)."""
    natives: dict[str, NativeName] = {}
    for column in loaded.header:
        name = opts.value_column(column)
        if name is not None:
            natives[column] = name
    if not natives:
        raise LayoutError("unknown layout: no value columns recognised in header "
                          f"({_header_text(loaded.header)})")
    return natives


def _long_arrow(loaded: LoadedFile, path: Path, feed: Feed, ctx: IngestContext,
                opts: TabularOptions) -> TabularResult | None:
    """The fast path (:mod:`ingest.tabular_arrow`) for a well-formed long file, else None."""
    if loaded.table is None or loaded.rejected:
        return None
    natives = _value_columns(loaded, opts)
    readings = long_readings_table(loaded.table, loaded.lines, natives, opts, source=feed.id,
                                   path=path, timezone=feed.timezone, history=ctx.history)
    if readings is None:
        return None
    result = FileResult(path=path, records=loaded.data_lines, readings=readings,
                        notes=loaded.notes, unique_keys=True)
    station = readings["station_id"].chunk(0).slice(0, loaded.table.num_rows)
    return TabularResult(result, loaded, None, station if opts.station is None else None)


def _long(loaded: LoadedFile, path: Path, feed: Feed, ctx: IngestContext,
          opts: TabularOptions) -> tuple[pd.DataFrame, _Rows, pd.Series | None]:
    natives = _value_columns(loaded, opts)
    rows = _Rows(loaded, path, feed, opts, cells_per_row=1)
    frame = rows.frame
    if opts.station is not None:
        native = pd.Series(opts.station, index=frame.index, dtype="string")
        station = native.astype("category")
    else:
        native = frame[opts.station_column].astype("string").str.strip()
        station = _prefixed(opts.station_prefix, native)
        if opts.station_map:
            mapped = native.astype(object).map(opts.station_map)
            station = mapped.where(mapped.notna(), station.astype(object)).astype("category")
        rows.reject((native.fillna("") == "").to_numpy(), opts.station_column,
                    "missing station")
    if opts.require_known_station:
        rows.reject(~station.isin(ctx.stations["station_id"]).to_numpy(), opts.station_column,
                    lambda m: ("unknown station '" + native[m].fillna("")
                               + "': not in the station table").to_numpy(dtype=object))
    times = _times(rows, feed.timezone)
    rows.drop_duplicates(pd.DataFrame({"station_id": station, "time": times}), list(natives))
    keep = rows.keep
    columns = [ValueColumn(key=c, native=c, parameter=name.parameter, period=name.period,
                           unit=_unit_after_parsing(opts.unit_of(c, name.parameter)))
               for c, name in natives.items()]
    compass = frozenset(c for c in natives
                        if opts.unit_of(c, natives[c].parameter) == COMPASS_UNIT)
    every = bool(keep.all())
    cells = (frame[list(natives)] if loaded.table is None
             else loaded.table.select(list(natives)))
    if not every:
        cells = cells.loc[keep] if loaded.table is None else cells.filter(pa.array(keep))
    values, reasons = parse_cells(cells, opts.missing, opts.not_monitored, compass)
    readings = melt_readings(
        values, reasons, columns,
        station_id=station if every else station[keep], time=times if every else times[keep],
        source_rows=rows.lines[keep], source=feed.id, source_file=str(path))
    return readings, rows, station


def _wide(loaded: LoadedFile, path: Path, feed: Feed, ctx: IngestContext,
          opts: TabularOptions) -> tuple[pd.DataFrame, _Rows, pd.Series | None]:
    ids = set(opts.id_columns())
    pattern = re.compile(opts.station_columns) if opts.station_columns else None
    stations = [c for c in loaded.header if c not in ids
                and (pattern is None or pattern.fullmatch(c))]
    if not stations:
        raise LayoutError("unknown layout: no station columns in header "
                          f"({_header_text(loaded.header)})")
    rows = _Rows(loaded, path, feed, opts, cells_per_row=len(stations))
    frame = rows.frame
    kinds = frame[opts.parameter_column].astype("string").str.strip()
    names = {k: opts.value_column(k) for k in kinds.dropna().unique()}
    known_kind = kinds.map(lambda k: names.get(k) is not None).fillna(False)
    rows.reject(~known_kind.to_numpy(dtype=bool), opts.parameter_column,
                lambda m: ("unknown parameter '" + kinds[m].fillna("") + "'").to_numpy(
                    dtype=object))
    times = _times(rows, feed.timezone)
    rows.drop_duplicates(pd.DataFrame({"time": times, "kind": kinds}), stations)
    keep = rows.keep
    good, good_times, good_kinds = frame.loc[keep], times[keep], kinds[keep]
    if opts.require_known_station:
        stations = _known_station_columns(good, rows, stations, ctx)
    values, reasons = parse_cells(good[stations], opts.missing, opts.not_monitored)
    for kind in good_kinds.unique():
        sel = (good_kinds == kind).to_numpy()
        param = names[kind].parameter
        values[sel] = convert_unit(values[sel], opts.unit_of(kind, param), param,
                                   good_times[sel])
    m, r = len(stations), len(good)
    station = coded([opts.station_id(c) for c in stations])
    param = coded(good_kinds.map(lambda k: names[k].parameter).to_numpy(dtype=object))
    period = coded(good_kinds.map(lambda k: names[k].period).to_numpy(dtype=object))
    readings = readings_frame(
        feed.id, str(path),
        station_id=(np.tile(station[0], r), station[1]),
        time=np.repeat(naive_utc(good_times), m),
        period=(np.repeat(period[0], m), period[1]),
        parameter=(np.repeat(param[0], m), param[1]),
        value=values.ravel(), reason=reasons.ravel(),
        line=np.repeat(rows.lines[keep], m))
    return readings, rows, None


def _known_station_columns(good: pd.DataFrame, rows: _Rows, stations: list[str],
                           ctx: IngestContext) -> list[str]:
    """The station columns in the station table; the cells of the others are quarantined
    (one record per cell, raw = the cell as read)."""
    known = set(ctx.stations["station_id"])
    lines = rows.lines[rows.keep]
    kept = []
    for column in stations:
        station_id = rows.opts.station_id(column)
        if station_id in known:
            kept.append(column)
            continue
        cells = good[column].astype("string").fillna("").to_numpy(dtype=object)
        rows.quarantine.add_rows(lines, column,
                                 f"unknown station '{station_id}': not in the station table",
                                 cells)
    return kept


def read_tabular(path: Path, feed: Feed, ctx: IngestContext,
                 defaults: dict[str, Any] | None = None) -> TabularResult:
    """Read one file with the tabular options of ``feed`` over an adapter's ``defaults``.

    Never raises on bad content: a file that cannot be read in the configured layout
    becomes one quarantine record with line 0 and a reason naming the problem.

    Parameters
    ----------
    path : pathlib.Path
        the input file.
    feed : monitor.config.Feed
        its feed: ``encoding``, ``timezone`` and the tabular ``options``.
    ctx : ingest.base.IngestContext
        configuration and known stations (for ``require_known_station``).
    defaults : dict, optional
        the adapter's own options, which the feed's ``options`` override.

    Returns
    -------
    TabularResult
        the QC-flagged :class:`~ingest.base.FileResult` and the rows as read.

    Raises
    ------
    monitor.config.ConfigError
        the options are invalid (a configuration problem, not bad content).
    """
    opts = TabularOptions.for_feed(feed, defaults)
    try:
        loaded = load_delimited(path.read_bytes(), feed.encoding, opts.delimiter,
                                opts.header_row, opts.missing, opts.id_columns())
        if not loaded.header:
            log.info("%s: %s", path, "; ".join(loaded.notes))
            return TabularResult(FileResult(path=path, records=0, notes=loaded.notes))
        _check_layout(loaded, opts)
        fast = _long_arrow(loaded, path, feed, ctx, opts) if opts.layout == "long" else None
        if fast is not None:
            return fast
        build = _long if opts.layout == "long" else _wide
        readings, rows, station = build(loaded, path, feed, ctx, opts)
    except LayoutError as exc:
        return _refuse(path, feed, str(exc))
    records = loaded.data_lines * rows.cells
    result = FileResult(path=path, records=records,
                        readings=apply_qc(readings, stuck_hours=opts.stuck_hours,
                                          history=ctx.history),
                        quarantine=rows.quarantine.frame(), duplicates=rows.duplicates,
                        notes=loaded.notes)
    for note in loaded.notes:
        log.info("%s: %s", path, note)
    return TabularResult(result, loaded, rows.keep, station)


def read(path: Path, feed: Feed, ctx: IngestContext) -> FileResult:
    """Adapter entry point for feeds that config alone describes (``adapter = "tabular"``)."""
    return read_tabular(path, feed, ctx).result
