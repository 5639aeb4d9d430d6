"""Adapter for the CNEMC national surface-water automatic monitoring release (JSON).

The real-time publication platform of the China National Environmental Monitoring
Centre (国家地表水水质自动监测实时数据发布系统) answers a page of sections as JSON
``{"thead": [...], "tbody": [[...], ...], ...}``:

* ``thead`` names the columns; parameter headers are HTML carrying their unit,
  ``溶解氧<br/><span class='unit'>(mg/L)</span>``.  The unit is taken from the span
  and converted to the canonical unit (:func:`ingest.harmonize.to_canonical_unit`).
* ``tbody`` cells of parameters are HTML, ``<span title='原始值：7.6'>7.60</span>``:
  the ``title`` holds the raw value (原始值) and wins over the rounded display text;
  a cell without a title gives its display text.  ``--`` means missing.  A cell whose
  title is not a raw value is a publisher remark, in this release always the
  quality-control tooltip ``当天质控不合格`` (failed the day's QC); such a reading is
  kept with ``flag = invalid`` and reason ``source_qc_failed:<tooltip text>``.
* The published water class (水质类别, 1..6 with 6 = 劣V under GB 3838-2002) is kept
  as the reference reading ``water_class``; ``-1`` (not assessed) is ``missing``.

Records, stations and time
--------------------------
One record is one section row of ``tbody`` (``source_row`` = its 1-based position).
A section has no code in the feed; its station id is ``cnw:<province>:<section name>``
(stable as long as the publisher keeps the name).  Sections go to
``FileResult.stations`` with ``medium = water``, the basin, the region (the configured
region whose name is the province, e.g. 北京市 → ``beijing``, else the province name as
published) and, from the water-sections reference (feed option ``sections``, see
:func:`ingest.water_sections.load_water_sections`), the water body, target class and
upstream/downstream regions of cross-border sections.

The monitoring time ``08-21 20:00`` is Beijing time without a year.  **The year comes
from the date in the file name** (``..._20260821_...``), because that date belongs to
each file and stays right across a new year: a time later than one day after the
file's date is taken to be from the previous year (a snapshot of 2027-01-01 00:10
that still shows ``12-31 20:00`` is 2026-12-31).  **Only when the file name carries no
date is the feed option ``year`` used**; with neither, every row is quarantined as a
bad timestamp.  The time is taken as the end of the four-hour sampling period
(period ``4h``, the platform's 4-hourly cycle) and converted to UTC.

References
----------
.. [1] GB 3838-2002 Environmental quality standards for surface water, Table 1
   (classes I-V; 劣V = worse than class V).
.. [2] CNEMC, 国家地表水水质自动监测实时数据发布系统, https://szzdjc.cnemc.cn:8070/
"""

from __future__ import annotations

import codecs
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ingest.base import FileResult, IngestContext, empty_stations
from ingest.harmonize import canonical_name, local_to_utc
from ingest.long_readings import ValueColumn, long_readings
from ingest.qc import apply_qc
from ingest.qc_parse import parse_values
from ingest.tabular_load import LayoutError, decode_problem
from ingest.tabular_values import QuarantineBuilder
from ingest.water_sections import load_water_sections
from monitor.config import AppConfig, Feed
from monitor.schema import STATION_COLUMNS, Medium

#: Columns describing the section and the time (header text -> role).
SECTION_COLUMNS: dict[str, str] = {
    "省份": "province",
    "流域": "basin",
    "断面名称": "section",
    "监测时间": "time",
    "水质类别": "water_class",
}
#: Averaging period of a reading (the platform publishes every four hours).
PERIOD = "4h"
#: Cell texts meaning "no value".
MISSING_MARKERS: tuple[str, ...] = ("--", "")
#: Prefix of a title attribute that holds the raw value (full-width or ASCII colon).
RAW_VALUE_TITLE = re.compile(r"^\s*原始值\s*[：:]\s*")
#: Published class text -> class number (GB 3838-2002; 6 = 劣V, worse than class V).
WATER_CLASSES: dict[str, float] = {
    **{str(n): float(n) for n in range(1, 7)},
    **{r: float(n) for n, r in enumerate(("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ"), start=1)},
    **{r: float(n) for n, r in enumerate(("I", "II", "III", "IV", "V"), start=1)},
    "劣Ⅴ": 6.0, "劣V": 6.0,
}
#: Class texts the platform uses for "not assessed".
UNASSESSED_CLASSES: tuple[str, ...] = ("-1", "--", "")

_UNIT_SPAN = re.compile(r"<span[^>]*class\s*=\s*['\"]unit['\"][^>]*>\s*\(?([^)<]*)\)?\s*</span>")
_TITLE = re.compile(r"title\s*=\s*['\"]([^'\"]*)['\"]")
_TAG = re.compile(r"<[^>]*>")
_FILE_DATE = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")


def header_unit(header: str) -> str | None:
    """The unit written in a header's ``<span class='unit'>(...)</span>``, if any."""
    match = _UNIT_SPAN.search(header)
    return match.group(1).strip() if match else None


def plain_headers(thead: list[str]) -> list[str]:
    """Header texts without their HTML unit annotation (``溶解氧<br/>...`` → ``溶解氧``)."""
    return [h.split("<", 1)[0].strip() for h in thead]


def parse_cells(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split HTML cells into the value text and a publisher remark.

    Parameters
    ----------
    cells : pandas.Series of str
        cells as published, e.g. ``<span title='原始值：7.6'>7.60</span>`` or ``--``.

    Returns
    -------
    text : pandas.Series of str
        the raw value from the title when it holds one (``7.6``), else the display text.
    remark : pandas.Series of object
        the title when it is not a raw value (``当天质控不合格``), else None.
    """
    cells = cells.astype("string")
    title = cells.str.extract(_TITLE, expand=False)
    is_raw = title.str.contains(RAW_VALUE_TITLE, na=False)
    raw = title.where(is_raw).str.replace(RAW_VALUE_TITLE, "", regex=True).str.strip()
    display = cells.str.replace(_TAG, "", regex=True).str.strip()
    remark = title.where(title.notna() & ~is_raw)
    return raw.fillna(display), remark.astype(object).where(remark.notna(), None)


def file_date(path: Path) -> date | None:
    """The date written in the file name (``..._20260821_...``), if any."""
    match = _FILE_DATE.search(path.name)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def local_times(text: pd.Series, path: Path, year: int | None) -> pd.Series:
    """Year-less ``MM-DD HH:MM`` Beijing times as naive local timestamps (NaT if bad).

    The year comes from the file name's date (a time more than one day after that date
    belongs to the previous year); only without a date in the name from ``year``.
    """
    reference = file_date(path)
    if reference is None and year is None:
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")
    base_year = reference.year if reference is not None else year
    stamps = pd.to_datetime(str(base_year) + "-" + text.astype("string").str.strip(),
                            format="%Y-%m-%d %H:%M", errors="coerce")
    if reference is not None:
        later = stamps > pd.Timestamp(reference + timedelta(days=1))
        stamps = stamps.where(~later, stamps - pd.DateOffset(years=1))
    return stamps


def _load(path: Path, encoding: str) -> tuple[list[str], list[Any]]:
    """``thead`` and ``tbody`` of the file; LayoutError if it is not such a page."""
    raw = path.read_bytes()
    if codecs.lookup(encoding).name == "utf-8":
        raw = raw.removeprefix(codecs.BOM_UTF8)
    problem = decode_problem(raw, encoding)
    if problem is not None:
        raise LayoutError(problem)
    try:
        page = json.loads(raw.decode(encoding))
    except json.JSONDecodeError as exc:
        raise LayoutError(f"not valid JSON: {exc.msg} at line {exc.lineno} "
                          f"column {exc.colno}") from None
    if not isinstance(page, dict) or not isinstance(page.get("thead"), list) \
            or not isinstance(page.get("tbody"), list):
        raise LayoutError("expected a JSON object with lists 'thead' and 'tbody'")
    return [str(h) for h in page["thead"]], page["tbody"]


def _value_columns(thead: list[str]) -> list[ValueColumn]:
    """The parameter columns of ``thead``; LayoutError naming what is missing or unknown."""
    plain = plain_headers(thead)
    missing = [name for name in SECTION_COLUMNS if name not in plain]
    columns, unknown = [], []
    for position, (header, name) in enumerate(zip(thead, plain, strict=True)):
        if name in SECTION_COLUMNS:
            continue
        native = canonical_name(header, default_period=PERIOD)
        if native is None:
            unknown.append(name)
            continue
        columns.append(ValueColumn(position, name, native.parameter, PERIOD,
                                   header_unit(header) or ""))
    if missing or unknown:
        raise LayoutError(f"header is not the surface-water layout: missing columns "
                          f"{missing or 'none'}, unknown columns {unknown or 'none'}")
    columns.append(ValueColumn(plain.index("水质类别"), "水质类别", "water_class", PERIOD, "1"))
    return columns


def _region_ids(config: AppConfig) -> dict[str, str]:
    return {region.name: region.id for region in config.regions.values()}


def read(path: Path, feed: Feed, ctx: IngestContext) -> FileResult:
    """Read one page of the surface-water release into canonical readings.

    Parameters
    ----------
    path : Path
        the JSON file.
    feed : Feed
        the feed; options ``year`` (fallback year, see module docstring) and
        ``sections`` (path of the water-sections reference, relative to the project).
    ctx : IngestContext
        configuration (regions).

    Returns
    -------
    FileResult
        one record per ``tbody`` row; a file that is not such a page is one
        quarantine record naming the problem.
    """
    try:
        thead, tbody = _load(path, feed.encoding)
        value_columns = _value_columns(thead)
    except LayoutError as exc:
        refusal = QuarantineBuilder(feed.id, str(path))
        refusal.add_rows(np.array([0]), None, f"{path}: {exc}", np.array(
            [path.read_bytes()[:500].decode("utf-8", "replace")], dtype=object))
        return FileResult(path=path, records=1, quarantine=refusal.frame())
    rows = pd.Series(tbody, dtype=object)
    raw_text = rows.map(lambda r: json.dumps(r, ensure_ascii=False)).to_numpy(dtype=object)
    width_ok = rows.map(lambda r: isinstance(r, list) and len(r) == len(thead)).to_numpy()
    table = pd.DataFrame([r if ok else [None] * len(thead) for r, ok in zip(rows, width_ok,
                                                                             strict=True)],
                         columns=range(len(thead)), dtype=object)
    plain = plain_headers(thead)
    role = {SECTION_COLUMNS[n]: table[i].astype("string").str.strip()
            for i, n in enumerate(plain) if n in SECTION_COLUMNS}
    year = feed.options.get("year")
    times = local_to_utc(local_times(role["time"], path, int(year) if year else None),
                         feed.timezone)
    station_ids = "cnw:" + role["province"] + ":" + role["section"]
    source_rows = np.arange(1, len(rows) + 1)
    quarantine = QuarantineBuilder(feed.id, str(path))
    keep = np.ones(len(rows), dtype=bool)
    no_section = (role["section"].isna() | (role["section"] == "")).to_numpy()
    keys = pd.DataFrame({"station_id": station_ids, "time": times, "raw": raw_text})
    for mask, field, reason in (
            (~width_ok, None, f"wrong field count (header has {len(thead)} columns)"),
            (no_section, "断面名称", "no section name"),
            (times.isna().to_numpy(), "监测时间",
             "bad timestamp (expected MM-DD HH:MM and a year from the file name or the "
             "feed option 'year')")):
        mask = mask & keep
        quarantine.add_rows(source_rows[mask], field, reason, raw_text[mask])
        keep &= ~mask
    conflict = _conflicting(keys, keep)
    quarantine.add_rows(source_rows[conflict], None, "conflicting duplicate: same section "
                        "and time as an earlier row, other values", raw_text[conflict])
    keep &= ~conflict
    duplicate = np.zeros(len(rows), dtype=bool)
    duplicate[keep] = keys[keep].duplicated().to_numpy()
    good = keep & ~duplicate
    readings = long_readings(
        table[good], value_columns, parse_cell=_parse_column,
        station_id=station_ids[good], time=times[good], source_rows=source_rows[good],
        source=feed.id, source_file=str(path))
    return FileResult(path=path, records=len(rows), readings=apply_qc(readings),
                      quarantine=quarantine.frame(), duplicates=int(duplicate.sum()),
                      stations=_sections(role, good, station_ids, feed, ctx))


def _conflicting(keys: pd.DataFrame, keep: np.ndarray) -> np.ndarray:
    """Rows repeating an earlier row's section and time with other content."""
    conflict = np.zeros(len(keys), dtype=bool)
    kept = keys[keep]
    conflict[keep] = (kept[["station_id", "time"]].duplicated().to_numpy()
                      & ~kept.duplicated().to_numpy())
    return conflict


def _parse_column(cells: pd.Series, column: ValueColumn) -> tuple[np.ndarray, pd.Series]:
    """Values and reason codes of one column's cells (see :func:`parse_cells`)."""
    text, remark = parse_cells(cells)
    if column.parameter == "water_class":
        stripped = text.str.strip()
        values = stripped.map(WATER_CLASSES).to_numpy(dtype="float64", na_value=np.nan)
        unassessed = stripped.isna() | stripped.isin(UNASSESSED_CLASSES)
        reasons = pd.Series(None, index=cells.index, dtype=object)
        reasons[unassessed.to_numpy()] = "missing"
        unknown = np.isnan(values) & ~unassessed.to_numpy()
        reasons[unknown] = ("unparseable:" + stripped[unknown]).to_numpy(dtype=object)
    else:
        values, reasons = parse_values(text, MISSING_MARKERS)
    has_remark = remark.notna().to_numpy()
    values = np.where(has_remark, np.nan, values)
    reasons = reasons.where(~has_remark, "source_qc_failed:" + remark.astype("string"))
    return values, reasons


def _sections(role: dict[str, pd.Series], good: np.ndarray, station_ids: pd.Series,
              feed: Feed, ctx: IngestContext) -> pd.DataFrame:
    """Station rows of the sections read, joined with the water-sections reference."""
    if not good.any():
        return empty_stations()
    province = role["province"][good]
    frame = pd.DataFrame({
        "station_id": station_ids[good],
        "name": role["section"][good],
        "region": province.map(_region_ids(ctx.config)).fillna(province),
        "medium": Medium.WATER.value,
        "basin": role["basin"][good],
        "source": feed.id,
        "_province": province,
    }).drop_duplicates("station_id")
    sections_file = feed.options.get("sections")
    if sections_file:
        reference = load_water_sections(ctx.config.base_dir / sections_file, ctx.config)
        frame = frame.merge(reference, how="left", left_on=["_province", "name"],
                            right_on=["province", "section"])
    return frame.reindex(columns=STATION_COLUMNS)

