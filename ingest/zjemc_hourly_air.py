"""Adapter for the Zhejiang provincial real-time air quality release (ZJEMC), two layouts.

The archive changes format in the middle (2026-04-30 13:00 Beijing time in the
shared archive); the adapter recognises each file's layout by its header and reads
columns by name, never by position:

``early``
    ``site,city,AQI,SO₂,NO₂,O₃,PM₁₀,PM₂.₅,CO,O₃-8h,PM₁₀-24h,PM₂.₅-24h,time`` — Unicode
    subscripts in the headers, ``--`` for missing, the station only by its Chinese name
    and city.
``late``
    the raw API table (~40 columns in varying order): an unnamed index column,
    ``sitecode``, ``sitename``, ``districtname`` (city), ``longitude``/``latitude``,
    ``PM25``, ``PM25H24``, ``O3H8`` ..., plus ``*_level``/``*_color`` (the AQI category
    and its colour, derived from the values) and administrative codes, which are ignored.

A file in neither layout (e.g. the city-average table the API served for
2026-05-04 09:00, which lacks the 24-hour and 8-hour columns) is refused: one
quarantine record (line 0) naming the file, the closest layout and its missing and
unknown columns.

Parameter names go through :func:`ingest.harmonize.canonical_name` (``PM₂.₅-24h`` and
``PM25H24`` are both (pm25, 24h); ``O₃-8h`` and ``O3H8`` the 8-hour moving average).
Units are those of the national release the province follows (HJ 633): µg/m³, CO in
mg/m³, AQI dimensionless.  ``time`` is Beijing local time of the end of the hour
(``2026-04-29`` alone means midnight) and becomes UTC.

Station ids are resolved by :mod:`ingest.zjemc_stations`: the same station gets the
same id in both layouts (``cn:<code>`` when it is a national station, else
``zj:<sitecode>``); an early-layout row whose name and city are known nowhere is
quarantined as an unknown station.

References
----------
.. [1] Zhejiang Ecology and Environment Monitoring Centre, 浙江省环境空气质量实时发布.
.. [2] HJ 633-2026 Technical regulation on ambient air quality index (AQI).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.base import FileResult, IngestContext, empty_stations
from ingest.harmonize import canonical_name, local_to_utc
from ingest.long_readings import ValueColumn, long_readings
from ingest.qc import apply_qc
from ingest.qc_parse import parse_values
from ingest.tabular_load import LayoutError, LoadedFile, load_delimited
from ingest.tabular_values import QuarantineBuilder
from ingest.zjemc_stations import ProvincialStations, resolve_station_ids
from monitor.config import Feed
from monitor.schema import STATION_COLUMNS, Medium

log = logging.getLogger(__name__)

#: Cells meaning "no value".
MISSING_MARKERS: list[str] = ["--", ""]
#: Native units of the value columns, by canonical parameter (others: canonical unit).
UNITS: dict[str, str] = {"co": "mg/m3", "aqi": "1"}


@dataclass(frozen=True)
class Layout:
    """One ZJEMC file layout: its station and time columns, value columns and extras."""

    name: str
    #: Role -> native column: ``name``, ``city``, ``time`` and, late only, ``sitecode``,
    #: ``lon``, ``lat``.
    id_columns: dict[str, str]
    value_columns: tuple[str, ...]
    #: Columns present in the layout but not read (regular expression, full match).
    ignored: str = r"(?!)"

    @property
    def required(self) -> list[str]:
        return [*self.id_columns.values(), *self.value_columns]

    def differences(self, header: list[str]) -> tuple[list[str], list[str]]:
        """Columns of this layout missing from ``header``, and unknown columns in it."""
        missing = [c for c in self.required if c not in header]
        ignored = re.compile(self.ignored)
        unknown = [c for c in header if c not in self.required and not ignored.fullmatch(c)]
        return missing, unknown


EARLY = Layout(
    name="early",
    id_columns={"name": "site", "city": "city", "time": "time"},
    value_columns=("AQI", "SO₂", "NO₂", "O₃", "PM₁₀", "PM₂.₅", "CO", "O₃-8h", "PM₁₀-24h",
                   "PM₂.₅-24h"),
)
LATE = Layout(
    name="late",
    id_columns={"sitecode": "sitecode", "name": "sitename", "city": "districtname",
                "lon": "longitude", "lat": "latitude", "time": "time"},
    value_columns=("AQI", "SO2", "NO2", "O3", "PM10", "PM25", "CO", "O3H8", "PM10H24",
                   "PM25H24"),
    ignored=r"|.+_(level|color)|regioncode|districtcode|SYWRW|sort",
)
LAYOUTS: tuple[Layout, ...] = (EARLY, LATE)
#: Columns kept as text whatever they look like.
TEXT_COLUMNS: list[str] = sorted({c for lay in LAYOUTS for k, c in lay.id_columns.items()
                                  if k not in ("lon", "lat")})


def detect_layout(header: list[str]) -> Layout:
    """The layout whose columns ``header`` has exactly (extras of that layout aside).

    Raises
    ------
    LayoutError
        naming the closest layout and its missing and unknown columns.
    """
    scored = []
    for layout in LAYOUTS:
        missing, unknown = layout.differences(header)
        if not missing and not unknown:
            return layout
        scored.append((len(missing) + len(unknown), layout.name, missing, unknown))
    _, name, missing, unknown = min(scored)
    raise LayoutError(
        f"neither the early nor the late ZJEMC layout; closest is {name!r}: "
        f"missing columns {', '.join(missing) or 'none'}; "
        f"unknown columns {', '.join(repr(c) for c in unknown) or 'none'}")


def value_columns(layout: Layout) -> list[ValueColumn]:
    """The layout's value columns as canonical (parameter, period) with native units."""
    columns = []
    for native in layout.value_columns:
        name = canonical_name(native)
        if name is None:  # a layout constant the harmonization rules do not know
            raise ValueError(f"{layout.name} layout: no canonical name for {native!r}")
        columns.append(ValueColumn(native, native, name.parameter, name.period,
                                   UNITS.get(name.parameter, "")))
    return columns


def _parse_column(cells: pd.Series, column: ValueColumn) -> tuple[np.ndarray, pd.Series]:
    del column
    return parse_values(cells, MISSING_MARKERS)


def _raw_lines(raw: bytes, encoding: str, numbers: np.ndarray) -> list[str]:
    """The text of the given 1-based lines of the file, as published."""
    lines = raw.split(b"\n")
    return [lines[n - 1].removesuffix(b"\r").decode(encoding, errors="replace")
            for n in numbers]


def _refuse(path: Path, feed: Feed, reason: str, raw: str | None) -> FileResult:
    log.warning("%s: refused: %s", path, reason)
    refusal = QuarantineBuilder(feed.id, str(path))
    refusal.add_rows(np.array([0]), None, f"{path}: {reason}", np.array([raw], dtype=object))
    return FileResult(path=path, records=1, quarantine=refusal.frame())


def read(path: Path, feed: Feed, ctx: IngestContext) -> FileResult:
    """Read one ZJEMC hourly file (either layout) into canonical readings.

    Parameters
    ----------
    path : Path
        the CSV file.
    feed : Feed
        the feed; option ``station_list`` names the provincial station list
        (``sitecode,name,city,lon,lat``, relative to the project directory) that gives
        early-layout rows their sitecode.
    ctx : IngestContext
        the configuration and the station table (national stations ``cn:*`` are
        matched by name and city).

    Returns
    -------
    FileResult
        one record per data line; refused lines and unknown stations quarantined.
    """
    raw = path.read_bytes()
    try:
        loaded = load_delimited(raw, feed.encoding, ",", 1, MISSING_MARKERS, TEXT_COLUMNS)
        if not loaded.header:
            return FileResult(path=path, records=0)
        layout = detect_layout(loaded.header)
    except LayoutError as exc:
        first_line = raw.split(b"\n", 1)[0].decode(feed.encoding, errors="replace")
        return _refuse(path, feed, str(exc), first_line)
    provincial = ProvincialStations.for_feed(feed, ctx.config)
    return _read_rows(loaded, raw, layout, path, feed, ctx, provincial)


def _read_rows(loaded: LoadedFile, raw: bytes, layout: Layout, path: Path, feed: Feed,
               ctx: IngestContext, provincial: ProvincialStations) -> FileResult:
    frame, lines = loaded.frame, loaded.lines
    cols = layout.id_columns
    name = frame[cols["name"]].astype("string").str.strip()
    city = frame[cols["city"]].astype("string").str.strip()
    if "sitecode" in cols:
        sitecode = frame[cols["sitecode"]].astype("string").str.strip()
    else:
        sitecode = provincial.sitecode_of(name, city)
    station_id = resolve_station_ids(name, city, sitecode, ctx.stations)
    time_text = frame[cols["time"]].astype("string").str.strip()
    local = pd.to_datetime(time_text, format="ISO8601", errors="coerce")
    times = local_to_utc(pd.Series(local, index=frame.index), feed.timezone)

    unknown = station_id.isna().to_numpy()
    bad_time = times.isna().to_numpy() & ~unknown
    keys = pd.DataFrame({"station_id": station_id, "time": times})
    ok = ~unknown & ~bad_time
    values = frame[list(layout.value_columns)]
    exact = np.zeros(len(frame), dtype=bool)
    conflict = np.zeros(len(frame), dtype=bool)
    exact[ok] = pd.concat([keys, values], axis=1)[ok].duplicated().to_numpy()
    conflict[ok] = keys[ok].duplicated().to_numpy() & ~exact[ok]
    good = ok & ~exact & ~conflict

    if layout is EARLY:
        no_station = (cols["name"], "unknown station: name and city in neither the national "
                                    "nor the provincial station list")
    else:
        no_station = (cols["sitecode"], "unknown station: no sitecode")
    reasons = (
        [(unknown, *no_station),
         (bad_time, cols["time"], "bad timestamp (expected YYYY-MM-DD[ HH:MM:SS], "
                                  f"{feed.timezone})"),
         (conflict, None, "conflicting duplicate: same station and time as an earlier line, "
                          "other values")])
    quarantine = QuarantineBuilder(feed.id, str(path))
    for bad in loaded.rejected:
        quarantine.add_rows(np.array([bad.line]), bad.field, bad.reason,
                            np.array([bad.raw], dtype=object))
    for mask, field, reason in reasons:
        quarantine.add_rows(lines[mask], field, reason, np.array(
            _raw_lines(raw, feed.encoding, lines[mask]), dtype=object))
    readings = long_readings(
        frame[good], value_columns(layout), parse_cell=_parse_column,
        station_id=station_id[good], time=times[good], source_rows=lines[good],
        source=feed.id, source_file=str(path))
    stations = _stations(layout, frame[good], station_id[good], name[good], city[good],
                         sitecode[good], provincial, feed)
    return FileResult(path=path, records=loaded.data_lines,
                      readings=apply_qc(readings, history=ctx.history),
                      quarantine=quarantine.frame(), duplicates=int(exact.sum()), stations=stations)


def _stations(layout: Layout, frame: pd.DataFrame, station_id: pd.Series, name: pd.Series,
              city: pd.Series, sitecode: pd.Series, provincial: ProvincialStations,
              feed: Feed) -> pd.DataFrame:
    """Provincial stations (``zj:*``) seen in the file; national ones are the national feed's."""
    own = station_id.str.startswith("zj:").fillna(False).to_numpy()
    if not own.any():
        return empty_stations()
    if layout is LATE:
        lon = pd.to_numeric(frame[layout.id_columns["lon"]], errors="coerce")
        lat = pd.to_numeric(frame[layout.id_columns["lat"]], errors="coerce")
    else:
        lon, lat = provincial.coordinates_of(sitecode)
    out = pd.DataFrame({
        "station_id": station_id.to_numpy(), "name": name.to_numpy(),
        "city": city.to_numpy(), "region": feed.region,
        "lon": np.asarray(lon, dtype="float64"), "lat": np.asarray(lat, dtype="float64"),
        "medium": Medium.AIR.value, "source": feed.id,
    })[own].drop_duplicates("station_id")
    return out.reindex(columns=STATION_COLUMNS)
