"""Analyst exports of the store: CSV, Parquet, CF-NetCDF and Zarr.

One function, :func:`export`, backs both ``jointwatch export`` and the dashboard's
export panel: it reads a :class:`Selection` from the store and writes one file
(or, for Zarr, one directory) atomically -- to a hidden temporary name first, then
renamed -- so a failed or empty export leaves no broken file behind.

Formats
-------
``csv`` / ``parquet`` (long, the default)
    one row per reading; columns :data:`LONG_COLUMNS` (documented there): the
    canonical reading columns of :mod:`monitor.schema` followed by the station's
    name, region, city and coordinates.  ``value`` is in ``unit``, the parameter's
    canonical unit.  CSV is UTF-8 with ISO 8601 times with offset
    (``2026-03-03T00:00:00+00:00``, UTC, end of the averaging period); Parquet keeps
    ``time`` as a UTC timestamp and carries each column's description and unit as
    field metadata and the provenance as schema metadata (key ``jointwatch``).
``csv`` / ``parquet`` with ``wide=True``
    one row per station, time and feed; for every (parameter, period) selected one
    value column ``<parameter>_<period>`` in the canonical unit
    (:data:`monitor.schema.PARAMETERS`) and one flag column ``<parameter>_<period>_flag``.
    Reason codes and source rows are only in the long form.
``netcdf`` / ``zarr``
    CF-1.8 discrete sampling geometry, featureType ``timeSeries`` (see :mod:`monitor.cf`);
    NetCDF-4 through the netCDF4 engine, Zarr in format 2 by default.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import xarray as xr

from monitor.cf import FLAG_CODES, Provenance, to_cf_dataset, variable_name
from monitor.config import AppConfig, data_dir
from monitor.schema import PERIODS, READING_COLUMNS, READING_SCHEMA, Flag, parameter
from monitor.store import Store, TimeLike
from monitor.store_config import open_store

#: Export formats.
FORMATS: tuple[str, ...] = ("csv", "parquet", "netcdf", "zarr")
#: Formats that have a wide (one column per parameter) form.
WIDE_FORMATS: tuple[str, ...] = ("csv", "parquet")
#: Flags exported unless asked otherwise.
DEFAULT_FLAGS: tuple[str, ...] = (Flag.VALID.value,)
#: Zarr storage format written (2: readable by zarr-python 2 and 3, R, Julia, netCDF-C).
ZARR_FORMAT = 2

#: Columns of the long CSV/Parquet export and what they hold.
LONG_COLUMNS: dict[str, str] = {
    "station_id": "station id, namespaced by network (cn:1001A)",
    "time": "end of the averaging period, ISO 8601 in UTC (+00:00)",
    "period": f"averaging period, one of {', '.join(PERIODS)}",
    "parameter": "canonical parameter name (monitor.schema.PARAMETERS)",
    "value": "value in `unit`; empty when the feed published a missing marker",
    "unit": "canonical unit of the parameter (ug/m3; mg/m3 for CO; mg/L for water ...)",
    "flag": "QC flag: valid, suspect or invalid",
    "flag_reason": "QC reason codes separated by ';' (see ingest.qc), empty when valid",
    "source": "feed id the reading came from",
    "source_file": "input file the reading came from",
    "source_row": "row of the input file the reading came from (as its adapter counts rows)",
    "station_name": "station name as published",
    "region": "province-level region id (config/regions.toml)",
    "city": "city",
    "lon": "station longitude, degrees east",
    "lat": "station latitude, degrees north",
}
_STATION_EXTRA = {"station_name": "name", "region": "region", "city": "city",
                  "lon": "lon", "lat": "lat"}
_UNITS = {"lon": "degrees_east", "lat": "degrees_north"}


class EmptySelectionError(ValueError):
    """No reading matches the selection; nothing was written."""


@dataclass(frozen=True)
class Selection:
    """Which readings to export; ``None`` means no restriction on that field.

    ``start`` and ``end`` are inclusive bounds on the reading time (end of the
    averaging period), ISO 8601 strings or timestamps; without an offset they are
    taken as UTC.  ``flags`` defaults to valid readings only; ``None`` exports all
    readings with their flags.
    """

    regions: tuple[str, ...] | None = None
    stations: tuple[str, ...] | None = None
    parameters: tuple[str, ...] | None = None
    periods: tuple[str, ...] | None = None
    start: TimeLike | None = None
    end: TimeLike | None = None
    flags: tuple[str, ...] | None = DEFAULT_FLAGS
    sources: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in self.parameters or ():
            parameter(name)
        bad_periods = sorted(set(self.periods or ()) - set(PERIODS))
        if bad_periods:
            raise ValueError(f"unknown period(s) {', '.join(bad_periods)}; "
                             f"allowed: {', '.join(PERIODS)}")
        bad_flags = sorted(set(self.flags or ()) - {f.value for f in Flag})
        if bad_flags:
            raise ValueError(f"unknown flag(s) {', '.join(bad_flags)}; "
                             f"allowed: {', '.join(f.value for f in Flag)} or all")
        for bound in ("start", "end"):
            value = getattr(self, bound)
            if value is not None:
                try:
                    pd.Timestamp(value)
                except (ValueError, TypeError):
                    raise ValueError(f"{bound}: {value!r} is not an ISO 8601 time") from None

    def describe(self) -> str:
        """The selection in words, e.g. ``regions=beijing; parameters=pm25; flags=valid``."""
        parts = []
        for name in ("regions", "stations", "parameters", "periods", "start", "end",
                     "sources"):
            value = getattr(self, name)
            if value is not None:
                text = ",".join(value) if isinstance(value, tuple | list) else str(value)
                parts.append(f"{name}={text}")
        parts.append("flags=" + (",".join(self.flags) if self.flags is not None else "all"))
        return "; ".join(parts)


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote."""

    path: Path
    format: str
    readings: int
    stations: int
    parameters: list[str] = field(default_factory=list)
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None


def software_version() -> str:
    """The installed jointwatch version (``unknown`` when not installed)."""
    try:
        return version("jointwatch")
    except PackageNotFoundError:
        return "unknown"


def _check_known(selection: Selection, store: Store) -> None:
    """Raise ValueError for stations or regions the station table does not know."""
    if selection.stations is None and selection.regions is None:
        return
    table = store.stations()
    for name, column in (("stations", "station_id"), ("regions", "region")):
        wanted = getattr(selection, name)
        unknown = sorted(set(wanted or ()) - set(table[column].dropna()))
        if unknown:
            raise ValueError(f"unknown {name[:-1]}(s) {', '.join(unknown[:10])}; "
                             f"see `jointwatch stations`")


def long_frame(readings: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    """Readings with the station columns appended, in :data:`LONG_COLUMNS` order."""
    meta = stations.drop_duplicates("station_id").set_index("station_id")
    extra = {col: readings["station_id"].map(meta[src]) for col, src in _STATION_EXTRA.items()}
    return readings[READING_COLUMNS].assign(**extra)[list(LONG_COLUMNS)]


def wide_frame(readings: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    """One row per station, time and feed; ``<parameter>_<period>`` value and flag columns."""
    names = [variable_name(p, q) for p, q in zip(readings["parameter"], readings["period"],
                                                strict=True)]
    keyed = readings.assign(variable=names)
    index = ["station_id", "time", "source"]
    values = keyed.pivot(index=index, columns="variable", values="value")
    flags = keyed.pivot(index=index, columns="variable", values="flag").add_suffix("_flag")
    columns = [c for name in sorted(values.columns) for c in (name, f"{name}_flag")]
    wide = values.join(flags)[columns].reset_index()
    wide.columns.name = None
    meta = stations.drop_duplicates("station_id").set_index("station_id")
    for col, src in _STATION_EXTRA.items():
        wide[col] = wide["station_id"].map(meta[src])
    return wide


def _iso_times(times: pd.Series) -> pd.Series:
    return times.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S") + "+00:00"


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.assign(time=_iso_times(frame["time"])).to_csv(path, index=False, encoding="utf-8")


def column_docs(readings: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Description (and unit) of every long and wide column an export of ``readings`` has."""
    docs = {name: {"description": text} for name, text in LONG_COLUMNS.items()}
    for name, unit in _UNITS.items():
        docs[name]["unit"] = unit
    pairs = readings[["parameter", "period"]].drop_duplicates().itertuples(index=False)
    for param, period in pairs:
        name = variable_name(param, period)
        spec = parameter(param)
        docs[name] = {"description": f"{spec.long_name}, {period} period", "unit": spec.unit}
        docs[f"{name}_flag"] = {"description": f"QC flag of {name}: {', '.join(FLAG_CODES)}"}
    return docs


def _write_parquet(frame: pd.DataFrame, path: Path, docs: dict[str, dict[str, str]],
                   provenance: Provenance) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    time_type = READING_SCHEMA.field("time").type
    fields = [pa.field(f.name, time_type if f.name == "time" else f.type, metadata=docs[f.name])
              for f in table.schema]
    metadata = {"jointwatch": json.dumps(provenance.as_dict(), ensure_ascii=False)}
    pq.write_table(table.cast(pa.schema(fields, metadata=metadata)), path, compression="zstd")


def _write_cf(dataset: xr.Dataset, format: str, path: Path) -> None:
    if format == "netcdf":
        dataset.to_netcdf(path, engine="netcdf4", format="NETCDF4")
    else:
        dataset.to_zarr(path, mode="w-", zarr_format=ZARR_FORMAT, consolidated=True)


def _writer(format: str, wide: bool, readings: pd.DataFrame, stations: pd.DataFrame,
            provenance: Provenance) -> Callable[[Path], None]:
    """The function writing ``readings`` in ``format`` to a given path."""
    if format in ("netcdf", "zarr"):
        return partial(_write_cf, to_cf_dataset(readings, stations, provenance), format)
    frame = (wide_frame if wide else long_frame)(readings, stations)
    if format == "csv":
        return partial(_write_csv, frame)
    return partial(_write_parquet, frame, docs=column_docs(readings), provenance=provenance)


def _replace(temp: Path, out: Path) -> None:
    """Move the finished ``temp`` to ``out`` (a file is replaced atomically)."""
    if temp.is_dir():
        if out.exists():
            raise FileExistsError(f"{out}: already exists; remove it or choose another --out")
        temp.rename(out)
    else:
        os.replace(temp, out)


def _write_atomic(out: Path, write: Callable[[Path], None]) -> None:
    if out.is_dir():
        raise FileExistsError(f"{out}: already exists as a directory; choose another --out")
    temp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(temp)
        _replace(temp, out)
    finally:
        if temp.is_dir():
            shutil.rmtree(temp)
        else:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


def export(store: Store, selection: Selection, format: str, out: Path | str, *,
           wide: bool = False) -> ExportResult:
    """Write the readings of ``selection`` from ``store`` to ``out`` in ``format``.

    Parameters
    ----------
    store : monitor.store.Store
        the store to read.
    selection : Selection
        which readings (by default valid ones only).
    format : str
        one of :data:`FORMATS`.
    out : path
        file to write (a directory for ``zarr``); its folder must exist.  An existing
        file is replaced; an existing directory is never overwritten.
    wide : bool
        CSV/Parquet only: one column per parameter and period instead of one row per
        reading.

    Returns
    -------
    ExportResult
        the path written and what it holds.

    Raises
    ------
    EmptySelectionError
        when no reading matches (nothing is written).
    ValueError
        for an unknown format, station or region, or ``wide`` with NetCDF/Zarr.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    if wide and format not in WIDE_FORMATS:
        raise ValueError(f"--wide applies to {' and '.join(WIDE_FORMATS)} only, not {format}")
    out = Path(out)
    if not out.parent.is_dir():
        raise FileNotFoundError(f"{out.parent}: folder does not exist")
    _check_known(selection, store)
    readings = store.readings(
        stations=_listed(selection.stations), regions=_listed(selection.regions),
        parameters=_listed(selection.parameters), periods=_listed(selection.periods),
        start=selection.start, end=selection.end, flags=_listed(selection.flags),
        sources=_listed(selection.sources))
    if readings.empty:
        raise EmptySelectionError(f"no readings match the selection ({selection.describe()}); "
                                  f"nothing written to {out}")
    stations = store.stations(sorted(readings["station_id"].unique()))
    provenance = Provenance(
        sources=sorted(readings["source"].unique()),
        files=sorted(readings["source_file"].unique()),
        software_version=software_version(),
        created=pd.Timestamp.now(tz="UTC").floor("s"),
        selection=selection.describe(),
    )
    _write_atomic(out, _writer(format, wide, readings, stations, provenance))
    return ExportResult(
        path=out, format=format, readings=len(readings),
        stations=readings["station_id"].nunique(),
        parameters=sorted(readings["parameter"].unique()),
        start=readings["time"].min(), end=readings["time"].max(),
    )


def _listed(values: Iterable[str] | None) -> list[str] | None:
    return None if values is None else list(values)


def selection_from_args(args: argparse.Namespace) -> Selection:
    """The :class:`Selection` of ``jointwatch export``'s filter options."""
    def listed(name: str) -> tuple[str, ...] | None:
        values = getattr(args, name)
        return tuple(values) if values else None

    flags = listed("flags")
    return Selection(
        regions=listed("regions"), stations=listed("stations"),
        parameters=listed("parameters"), periods=listed("periods"),
        start=args.start, end=args.end, sources=listed("sources"),
        flags=None if flags == ("all",) else flags,
    )


def cli_export(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch export --format F --out PATH [filters] [--wide] [--json]``."""
    try:
        selection = selection_from_args(args)
        store = open_store(config, data_dir(args.data_dir))
        result = export(store, selection, args.format, args.out,
                        wide=args.wide)
    except (ValueError, OSError) as exc:
        print(f"jointwatch export: {exc}", file=sys.stderr)
        return 1
    summary = {"path": str(result.path), "format": result.format,
               "readings": result.readings, "stations": result.stations,
               "parameters": result.parameters,
               "start": result.start.isoformat() if result.start is not None else None,
               "end": result.end.isoformat() if result.end is not None else None}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"wrote {result.readings} readings of {result.stations} stations "
              f"({', '.join(result.parameters)}; {summary['start']} .. {summary['end']}) "
              f"to {result.path} [{result.format}]")
    return 0
