"""The station side of ingest: reference list, regions, stations an input file brings.

The station table is filled from three places, in this order of trust: the
reference list ``config/stations_cn.csv`` (loaded at the start of every run), the
station metadata adapters discover in their files, and -- so that every reading's
station is listed -- a minimal row for any other station id a file's readings use.
A station's ``region`` comes from the adapter, else from its city
(``AppConfig.region_of_city``), else from the feed's own region.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from monitor.config import AppConfig, Feed
from monitor.schema import PARAMETERS, STATION_COLUMNS, Medium, distinct_values

#: Reference station list loaded into the station table at the start of every run.
REFERENCE_STATIONS_FILE = "stations_cn.csv"


def with_regions(stations: pd.DataFrame, config: AppConfig,
                 default_region: str | None = None) -> pd.DataFrame:
    """Fill each station's missing ``region`` from its city (``config.region_of_city``).

    Stations whose city is in no configured region get ``default_region`` (a
    provincial feed's own region), when given.
    """
    frame = stations.reindex(columns=STATION_COLUMNS)
    from_city = frame["city"].map(config.city_regions()).astype(object)
    region = frame["region"].astype(object)
    region = region.where(region.notna(), from_city)
    if default_region is not None:
        region = region.where(region.notna(), default_region)
    return frame.assign(region=region)


def unlisted_stations(readings: pa.Table, listed: pd.Series, feed: Feed) -> pd.DataFrame:
    """Minimal station rows for the stations of ``readings`` (Arrow, canonical columns)
    whose ids are not ``listed``.

    So that every reading's station is in the station table: ``medium`` is water if
    the station has a water parameter, else air; ``source`` is the feed.
    """
    ids = distinct_values(readings["station_id"])
    listed_ids = pa.array(pd.unique(listed.dropna().astype(object).to_numpy()), type=pa.string())
    if readings.num_rows == 0 or pc.all(pc.is_in(ids, value_set=listed_ids)).as_py():
        return pd.DataFrame(columns=STATION_COLUMNS)
    pairs = (readings.select(["station_id", "parameter"]).to_pandas()
             .astype(object).drop_duplicates())
    pairs = pairs[~pairs["station_id"].isin(listed)]
    water = pairs["parameter"].map(lambda p: PARAMETERS[p].medium == Medium.WATER)
    per_station = water.groupby(pairs["station_id"].astype(str)).any()
    return pd.DataFrame({
        "station_id": per_station.index,
        "medium": per_station.map({True: Medium.WATER.value, False: Medium.AIR.value}).to_numpy(),
        "source": feed.id,
    }).reindex(columns=STATION_COLUMNS)


def load_reference_stations(config: AppConfig) -> pd.DataFrame:
    """The reference station list ``config/stations_cn.csv`` (empty when absent).

    Raises
    ------
    ValueError
        naming the file and the offending column or row.
    """
    path = config.config_dir / REFERENCE_STATIONS_FILE
    if not path.is_file():
        return pd.DataFrame(columns=STATION_COLUMNS)
    frame = pd.read_csv(path, dtype={"station_id": str}, keep_default_na=False,
                        na_values=[""])
    unknown = sorted(set(frame.columns) - set(STATION_COLUMNS))
    if unknown or "station_id" not in frame.columns or "medium" not in frame.columns:
        raise ValueError(f"{path}: columns must be among {STATION_COLUMNS} and include "
                         f"station_id and medium; unexpected: {unknown}")
    for column in ("station_id", "medium"):
        empty = frame.index[frame[column].isna()]
        if len(empty):
            raise ValueError(f"{path}: row {empty[0] + 2}: field {column!r} is empty")
    return with_regions(frame, config)


def station_updates(known: pd.DataFrame, discovered: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``discovered`` that add to ``known``: new stations or changed values.

    A missing value in ``discovered`` never counts as a change (it keeps the known one).
    """
    new = discovered.reindex(columns=STATION_COLUMNS)
    if new.empty:
        return new
    if not new["station_id"].is_unique:
        new = new.drop_duplicates("station_id", keep="last")
    ids = new["station_id"].to_numpy(dtype=object)
    # compared as plain object arrays: pandas' aligned frame operations cost ~10x more
    known = known.reindex(columns=STATION_COLUMNS)
    if not known["station_id"].is_unique:
        known = known.drop_duplicates("station_id", keep="last")
    row = pd.Index(known["station_id"].to_numpy(dtype=object)).get_indexer(ids)
    old = np.append(_plain(known), np.full((1, len(STATION_COLUMNS)), None, dtype=object),
                    axis=0)[row]
    values = _plain(new)
    changed = ((values != None) & (values != old)).any(axis=1)  # noqa: E711 (elementwise)
    return new[changed | (row < 0)].reset_index(drop=True)


def _plain(frame: pd.DataFrame) -> np.ndarray:
    """The frame as an object array with every missing value (NaN, NA, NaT) as None."""
    values = frame.to_numpy(dtype=object)
    return np.where(pd.isna(values), None, values)
