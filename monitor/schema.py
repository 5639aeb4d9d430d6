"""The canonical data model of jointwatch, defined once.

Every feed adapter produces readings in exactly this shape; the store, the
domain rules, the exports and the dashboard consume it.

A *reading* is one value of one parameter at one station for one averaging
period, ending at ``time`` (UTC).  Values are in the parameter's canonical
unit (see :data:`PARAMETERS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


class Flag(StrEnum):
    """QC flag of a reading. Invalid readings are kept but excluded from statistics."""

    VALID = "valid"
    SUSPECT = "suspect"
    INVALID = "invalid"


class Medium(StrEnum):
    AIR = "air"
    WATER = "water"
    WEATHER = "weather"


@dataclass(frozen=True, slots=True)
class Parameter:
    """One entry of the controlled parameter vocabulary.

    ``plausible`` is the closed physical-plausibility range in the canonical
    unit; values outside it are flagged ``invalid`` with reason ``implausible``.
    ``standard_name`` is the CF standard name where CF has one.
    """

    name: str
    medium: Medium
    unit: str
    long_name: str
    plausible: tuple[float, float]
    standard_name: str | None = None
    #: Gaseous pollutant whose mass concentration depends on reference conditions.
    gas: bool = False
    #: Molar mass in g/mol (gases only), for ppb/ppm conversions.
    molar_mass: float | None = None


_P = Parameter
_AIR, _WATER, _WX = Medium.AIR, Medium.WATER, Medium.WEATHER
_CF = "mass_concentration_of_{}_in_air"

#: Controlled vocabulary: canonical name -> definition.
PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in (
        _P("pm25", _AIR, "ug/m3", "PM2.5 mass concentration", (0, 2000),
           _CF.format("pm2p5_ambient_aerosol_particles")),
        _P("pm10", _AIR, "ug/m3", "PM10 mass concentration", (0, 5000),
           _CF.format("pm10_ambient_aerosol_particles")),
        _P("so2", _AIR, "ug/m3", "sulfur dioxide mass concentration", (0, 10000),
           _CF.format("sulfur_dioxide"), gas=True, molar_mass=64.066),
        _P("no2", _AIR, "ug/m3", "nitrogen dioxide mass concentration", (0, 5000),
           _CF.format("nitrogen_dioxide"), gas=True, molar_mass=46.0055),
        _P("co", _AIR, "mg/m3", "carbon monoxide mass concentration", (0, 200),
           _CF.format("carbon_monoxide"), gas=True, molar_mass=28.010),
        _P("o3", _AIR, "ug/m3", "ozone mass concentration", (0, 3000),
           _CF.format("ozone"), gas=True, molar_mass=47.997),
        _P("aqi", _AIR, "1", "published air quality index", (0, 500)),
        _P("ph", _WATER, "1", "pH", (0, 14), "sea_water_ph_reported_on_total_scale"),
        _P("do", _WATER, "mg/L", "dissolved oxygen", (0, 30),
           "mass_concentration_of_oxygen_in_sea_water"),
        _P("codmn", _WATER, "mg/L", "permanganate index (CODMn)", (0, 200)),
        _P("cod", _WATER, "mg/L", "chemical oxygen demand (CODCr)", (0, 1000)),
        _P("bod5", _WATER, "mg/L", "5-day biochemical oxygen demand", (0, 500)),
        _P("nh3n", _WATER, "mg/L", "ammonia nitrogen", (0, 100)),
        _P("tp", _WATER, "mg/L", "total phosphorus", (0, 50)),
        _P("tn", _WATER, "mg/L", "total nitrogen", (0, 200)),
        _P("wtemp", _WATER, "degC", "water temperature", (-5, 45), "sea_water_temperature"),
        _P("turbidity", _WATER, "NTU", "turbidity", (0, 10000)),
        _P("conductivity", _WATER, "uS/cm", "electrical conductivity", (0, 100000)),
        _P("chla", _WATER, "mg/L", "chlorophyll a", (0, 10)),
        _P("algae", _WATER, "cells/L", "algal density", (0, 1e12)),
        _P("water_class", _WATER, "1", "published water quality class (1-6, 6 = worse than V)",
           (1, 6)),
        _P("temp", _WX, "degC", "air temperature", (-60, 60), "air_temperature"),
        _P("pres", _WX, "hPa", "air pressure", (500, 1100), "air_pressure"),
        _P("dewp", _WX, "degC", "dew point temperature", (-80, 40), "dew_point_temperature"),
        _P("rh", _WX, "%", "relative humidity", (0, 100), "relative_humidity"),
        _P("wspd", _WX, "m/s", "wind speed", (0, 75), "wind_speed"),
        _P("wdir", _WX, "degree", "wind from direction", (0, 360), "wind_from_direction"),
        _P("rain", _WX, "mm", "precipitation amount in the period", (0, 500),
           "precipitation_amount"),
    )
}

#: Averaging periods a reading may have.
#: ``1h_max_24h`` is the maximum 1-h value in the 24 h ending at ``time`` (ozone, HJ 633).
PERIODS: tuple[str, ...] = ("1h", "4h", "8h", "24h", "8h_max_24h", "1h_max_24h")

#: The canonical reading table (Arrow schema); column order is fixed.
READING_SCHEMA = pa.schema(
    [
        pa.field("station_id", pa.string(), nullable=False),
        pa.field("time", pa.timestamp("s", tz="UTC"), nullable=False),
        pa.field("period", pa.string(), nullable=False),
        pa.field("parameter", pa.string(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("unit", pa.string(), nullable=False),
        pa.field("flag", pa.string(), nullable=False),
        pa.field("flag_reason", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_row", pa.int64(), nullable=False),
    ]
)
READING_COLUMNS: list[str] = READING_SCHEMA.names

#: The same table as it travels between the adapters and the store and as it is written:
#: :data:`READING_SCHEMA` with each text column dictionary-encoded (same values; the text of
#: a station id or a file name is held once per file, not once per reading, which makes
#: building, concatenating and writing the readings several times cheaper).
READING_TABLE_SCHEMA = pa.schema([
    pa.field(f.name, pa.dictionary(pa.int32(), pa.string()), f.nullable)
    if f.type == pa.string() else f for f in READING_SCHEMA])


def reading_table(readings: pd.DataFrame | pa.Table) -> pa.Table:
    """Canonical readings (a frame or an Arrow table with ``READING_COLUMNS``) as an Arrow
    table in :data:`READING_TABLE_SCHEMA`, columns in canonical order.

    Raises
    ------
    KeyError
        when a canonical column is missing.
    pyarrow.ArrowInvalid
        when a column cannot be cast to its canonical type.
    """
    if isinstance(readings, pd.DataFrame):
        # converting first and casting after is ~20x faster than from_pandas(schema=...)
        # for the categorical columns adapters produce
        readings = pa.Table.from_pandas(readings[READING_COLUMNS], preserve_index=False)
    table = readings.select(READING_COLUMNS)
    if table.schema.equals(READING_TABLE_SCHEMA):
        return table
    return pa.table([table.column(f.name).cast(f.type) for f in READING_TABLE_SCHEMA],
                    schema=READING_TABLE_SCHEMA)


def plain_values(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Dictionary-encoded values decoded (hash joins and groupings need plain values)."""
    return values.cast(values.type.value_type) if pa.types.is_dictionary(values.type) else values


def distinct_values(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The distinct values of a (possibly dictionary-encoded) column, decoded; for a
    dictionary column only the few dictionary entries in use are decoded."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    if not pa.types.is_dictionary(values.type):
        return pc.unique(pa.chunked_array(chunks, type=values.type))
    used = [c.dictionary.take(pc.unique(c.indices).drop_null()) for c in chunks]
    return pc.unique(pa.chunked_array(used, type=values.type.value_type))


#: The natural key of a reading: a later value for the same key supersedes the earlier one.
READING_KEY: list[str] = ["station_id", "time", "period", "parameter", "source"]

#: The station table.
STATION_SCHEMA = pa.schema(
    [
        pa.field("station_id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("name_en", pa.string()),
        pa.field("region", pa.string()),
        pa.field("city", pa.string()),
        pa.field("lon", pa.float64()),
        pa.field("lat", pa.float64()),
        pa.field("medium", pa.string(), nullable=False),
        pa.field("basin", pa.string()),
        pa.field("water_body", pa.string()),  # river / lake / reservoir
        pa.field("target_class", pa.int8()),
        pa.field("upstream_region", pa.string()),
        pa.field("downstream_region", pa.string()),
        pa.field("source", pa.string()),
    ]
)
STATION_COLUMNS: list[str] = STATION_SCHEMA.names

#: A row that could not become a reading, with the reason.
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_row", pa.int64(), nullable=False),
        pa.field("field", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string()),
    ]
)
QUARANTINE_COLUMNS: list[str] = QUARANTINE_SCHEMA.names


def parameter(name: str) -> Parameter:
    """Return the vocabulary entry for ``name`` or raise a ValueError listing the allowed names."""
    try:
        return PARAMETERS[name]
    except KeyError:
        raise ValueError(
            f"unknown parameter {name!r}; allowed: {', '.join(sorted(PARAMETERS))}"
        ) from None
