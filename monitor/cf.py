"""Canonical readings as a CF-1.8 discrete-sampling-geometry dataset, and back.

The layout is the *orthogonal multidimensional array* representation of
featureType ``timeSeries`` (CF Conventions 1.8, chapter 9 "Discrete Sampling
Geometries", section 9.3.1 and Appendix H.2.1): one ``station`` instance
dimension, one ``time`` element dimension shared by every station, station
variables ``station_id`` (``cf_role = "timeseries_id"``), ``station_name``,
``lat``, ``lon``, ``region`` and ``city``, and one data variable per
(parameter, averaging period) named ``<parameter>_<period>`` (``pm25_1h``,
``o3_8h_max_24h``) with

* ``units`` (UDUNITS spelling of the canonical unit), ``long_name``, and
  ``standard_name`` where the CF standard-name table has one
  (:attr:`monitor.schema.Parameter.standard_name`);
* ``cell_methods`` describing the averaging period (CF 1.8 section 7.3);
* ``ancillary_variables`` naming its QC flag variable ``<name>_qc``, a CF flag
  variable (section 3.5: ``flag_values`` 0/1/2, ``flag_meanings``
  ``valid suspect invalid``; fill where there is no reading), and the string
  variable ``<name>_qc_reason`` holding the reason codes of :mod:`ingest.qc` (only
  when some reading of the variable has a reason).

``time`` is the end of the averaging period in UTC.  A reading whose value is
missing but which exists (a flagged missing marker) is NaN with a flag; a
station-time without a reading is NaN with the flag fill value, so
:func:`readings_from_cf` gives back exactly the readings that went in.

The gridded layout holds one value per (station, time, parameter, period).
When several feeds report the same one, :func:`to_cf_dataset` keeps the
best-flagged reading (valid, then suspect, then invalid; ties by feed id) and
records how many were set aside in the global attribute
``readings_set_aside_across_sources``; the long CSV/Parquet exports keep all.

References
----------
.. [1] NetCDF Climate and Forecast (CF) Metadata Conventions, version 1.8 (2020),
   https://cfconventions.org/Data/cf-conventions/cf-conventions-1.8/cf-conventions.html
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from monitor.schema import PARAMETERS, Flag, parameter

#: Integer code of each QC flag in the ``<name>_qc`` flag variables.
FLAG_CODES: dict[str, int] = {Flag.VALID.value: 0, Flag.SUSPECT.value: 1, Flag.INVALID.value: 2}
#: Flag variable value where a station-time has no reading.
FLAG_FILL = -127

#: Canonical units UDUNITS cannot parse -> (UDUNITS units, comment kept on the variable).
_UDUNITS_FOR: dict[str, tuple[str, str]] = {
    "NTU": ("1", "turbidity in nephelometric turbidity units (NTU)"),
    "cells/L": ("L-1", "algal cells per litre"),
}

#: Averaging period -> CF cell_methods (CF 1.8 section 7.3, 7.3.2 for the interval).
CELL_METHODS: dict[str, str] = {
    "1h": "time: mean (interval: 1 hour)",
    "4h": "time: mean (interval: 4 hour)",
    "8h": "time: mean (interval: 8 hour)",
    "24h": "time: mean (interval: 24 hour)",
    "8h_max_24h": "time: mean (interval: 8 hour) time: maximum (interval: 24 hour)",
    "1h_max_24h": "time: mean (interval: 1 hour) time: maximum (interval: 24 hour)",
}

_TIME_UNITS = "seconds since 1970-01-01 00:00:00"
#: Station variable -> (station table column, attributes).
_STATION_VARS: dict[str, tuple[str, dict[str, str]]] = {
    "station_name": ("name", {"long_name": "station name"}),
    "region": ("region", {"long_name": "province-level region id"}),
    "city": ("city", {"long_name": "city"}),
}


@dataclass(frozen=True, slots=True)
class Provenance:
    """Global provenance attributes of an export."""

    sources: list[str]
    files: list[str]
    software_version: str
    created: pd.Timestamp
    selection: str

    def as_dict(self) -> dict[str, object]:
        """The attributes as JSON-ready values."""
        return {"sources": self.sources, "files": self.files,
                "software_version": self.software_version,
                "created": self.created.isoformat(), "selection": self.selection}


def cf_units(unit: str) -> str:
    """UDUNITS spelling of a canonical jointwatch unit (``NTU`` -> ``1``)."""
    return _UDUNITS_FOR.get(unit, (unit, ""))[0]


def variable_name(param: str, period: str) -> str:
    """Name of the data variable of ``param`` over ``period`` (``pm25_1h``)."""
    return f"{param}_{period}"


def _one_per_cell(readings: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep one reading per (station, time, parameter, period): best flag, then feed id."""
    severity = readings["flag"].map(FLAG_CODES)
    ordered = readings.assign(_severity=severity).sort_values(
        ["station_id", "time", "parameter", "period", "_severity", "source"], kind="stable"
    )
    key = ["station_id", "time", "parameter", "period"]
    kept = ordered.drop_duplicates(key, keep="first").drop(columns="_severity")
    return kept, len(readings) - len(kept)


def _data_attrs(param: str, period: str, ancillary: list[str]) -> dict[str, str]:
    spec = parameter(param)
    units, comment = _UDUNITS_FOR.get(spec.unit, (spec.unit, ""))
    attrs = {
        "long_name": f"{spec.long_name}, {period} period",
        "units": units,
        "cell_methods": CELL_METHODS[period],
        "ancillary_variables": " ".join(ancillary),
        "parameter": param,
        "period": period,
    }
    if spec.standard_name:
        attrs["standard_name"] = spec.standard_name
    if comment:
        attrs["comment"] = comment
    return attrs


def _qc_attrs(name: str) -> dict[str, object]:
    return {
        "long_name": f"quality flag of {name}",
        "standard_name": "status_flag",
        "flag_values": np.array(list(FLAG_CODES.values()), dtype="int8"),
        "flag_meanings": " ".join(FLAG_CODES),
    }


def to_cf_dataset(
    readings: pd.DataFrame, stations: pd.DataFrame, provenance: Provenance
) -> xr.Dataset:
    """Arrange canonical readings as a CF-1.8 ``timeSeries`` dataset (station x time).

    Parameters
    ----------
    readings : pandas.DataFrame
        canonical readings (``monitor.schema.READING_COLUMNS``), ``time`` tz-aware UTC;
        must not be empty.
    stations : pandas.DataFrame
        the station table (``STATION_COLUMNS``); every station of ``readings`` must be in it.
    provenance : Provenance
        global attributes: feeds, files, software version, creation time, selection.

    Returns
    -------
    xarray.Dataset
        dimensions ``station`` and ``time``; see the module docstring for variables.
    """
    cells, set_aside = _one_per_cell(readings)
    station_ids = pd.Index(np.sort(cells["station_id"].unique()), name="station")
    times = pd.DatetimeIndex(np.sort(cells["time"].unique())).tz_convert("UTC").tz_localize(None)
    meta = stations.drop_duplicates("station_id").set_index("station_id").reindex(station_ids)
    unknown = station_ids[meta["medium"].isna().to_numpy()]
    if len(unknown):
        raise ValueError(f"stations missing from the station table: {', '.join(unknown[:10])}")
    s_idx = station_ids.get_indexer(cells["station_id"])
    t_idx = times.get_indexer(
        pd.DatetimeIndex(cells["time"]).tz_convert("UTC").tz_localize(None)
    )
    shape = (len(station_ids), len(times))
    data_vars: dict[str, xr.Variable] = {}
    dims = ("station", "time")
    for (param, period), rows in cells.groupby(["parameter", "period"], sort=True).indices.items():
        name = variable_name(param, period)
        at = (s_idx[rows], t_idx[rows])
        values = np.full(shape, np.nan)
        values[at] = cells["value"].to_numpy(dtype="float64", na_value=np.nan)[rows]
        flags = np.full(shape, FLAG_FILL, dtype="int8")
        flags[at] = cells["flag"].map(FLAG_CODES).to_numpy(dtype="int8")[rows]
        ancillary = {f"{name}_qc": xr.Variable(dims, flags, _qc_attrs(name))}
        codes = cells["flag_reason"].fillna("").to_numpy(dtype=object)[rows]
        if (codes != "").any():
            reasons = np.full(shape, "", dtype=object)
            reasons[at] = codes
            ancillary[f"{name}_qc_reason"] = xr.Variable(
                dims, reasons, {"long_name": f"QC reason codes of {name} (';'-separated)"})
        data_vars[name] = xr.Variable(dims, values, _data_attrs(param, period, list(ancillary)))
        data_vars.update(ancillary)
    coords = {
        "station_id": ("station", station_ids.to_numpy(dtype=object),
                       {"cf_role": "timeseries_id", "long_name": "station id"}),
        "lat": ("station", meta["lat"].to_numpy(dtype="float64", na_value=np.nan),
                {"standard_name": "latitude", "long_name": "station latitude",
                 "units": "degrees_north"}),
        "lon": ("station", meta["lon"].to_numpy(dtype="float64", na_value=np.nan),
                {"standard_name": "longitude", "long_name": "station longitude",
                 "units": "degrees_east"}),
        "time": ("time", times.to_numpy(dtype="datetime64[ns]"),
                 {"standard_name": "time", "long_name": "end of the averaging period (UTC)",
                  "axis": "T"}),
    }
    for var, (column, attrs) in _STATION_VARS.items():
        values = meta[column].astype(object).where(meta[column].notna(), "").to_numpy()
        coords[var] = ("station", values, attrs)
    ds = xr.Dataset(data_vars, coords=coords)
    ds["time"].encoding.update(units=_TIME_UNITS, calendar="standard", dtype="float64",
                             _FillValue=None)
    ds.attrs = {
        "Conventions": "CF-1.8",
        "featureType": "timeSeries",
        "title": "jointwatch harmonized monitoring readings",
        "source": "jointwatch canonical store; feeds: " + ", ".join(provenance.sources),
        "history": f"{provenance.created.isoformat()} exported by jointwatch "
                   f"{provenance.software_version} ({provenance.selection})",
        "date_created": provenance.created.isoformat(),
        "software_version": f"jointwatch {provenance.software_version}",
        "source_feeds": " ".join(provenance.sources),
        "source_files": "\n".join(provenance.files),
        "selection": provenance.selection,
        "readings_set_aside_across_sources": np.int32(set_aside),
    }
    return ds


def _unit_from_cf(param: str, units: str) -> str:
    unit = PARAMETERS[param].unit
    if cf_units(unit) != units:
        raise ValueError(f"variable of {param}: units {units!r}, expected {cf_units(unit)!r}")
    return unit


def readings_from_cf(ds: xr.Dataset) -> pd.DataFrame:
    """The readings held in a dataset written by :func:`to_cf_dataset`.

    Returns
    -------
    pandas.DataFrame
        columns ``station_id, time, period, parameter, value, unit, flag, flag_reason``
        (``time`` tz-aware UTC), one row per reading, sorted by station, time,
        parameter and period.
    """
    meanings: Mapping[int, str] = {code: flag for flag, code in FLAG_CODES.items()}
    times = pd.DatetimeIndex(ds["time"].to_numpy()).tz_localize("UTC")
    stations = ds["station_id"].to_numpy().astype(object)
    frames = []
    for name, var in ds.data_vars.items():
        if "parameter" not in var.attrs:
            continue
        param, period = var.attrs["parameter"], var.attrs["period"]
        flags = ds[f"{name}_qc"].to_numpy()
        s_idx, t_idx = np.nonzero(flags != FLAG_FILL)
        reason_var = f"{name}_qc_reason"
        reasons = (ds[reason_var].to_numpy()[s_idx, t_idx].astype(object) if reason_var in ds
                   else np.full(len(s_idx), "", dtype=object))
        frames.append(pd.DataFrame({
            "station_id": stations[s_idx],
            "time": times[t_idx],
            "period": period,
            "parameter": param,
            "value": var.to_numpy()[s_idx, t_idx].astype("float64"),
            "unit": _unit_from_cf(param, var.attrs["units"]),
            "flag": pd.Series(flags[s_idx, t_idx]).map(meanings).to_numpy(dtype=object),
            "flag_reason": np.where(reasons == "", None, reasons),
        }))
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["station_id", "time", "parameter", "period"], ignore_index=True)
