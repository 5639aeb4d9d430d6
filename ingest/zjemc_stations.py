"""Station ids of the Zhejiang feed: one id per station in both layouts.

Rule (applied identically to both layouts):

1. a station that is in the national station table (``cn:*`` rows of the station
   table, seeded from ``config/stations_cn.csv``) **with the same name and city** is
   that national station, ``cn:<code>``.  Names are compared after Unicode
   compatibility folding and blank removal, nothing looser: a bracketed qualifier
   marks a different station (``衢州三中（市）``, the city-run station 220 m from the
   national ``衢州三中``, agrees with it on only 29 % of the hourly values of
   2026-05-01, no more than unrelated stations do).  The province's own ``sitecode``
   (e.g. 330522002) is never taken for a national code;
2. otherwise the station is ``zj:<sitecode>``, the provincial code, which is stable;
3. the early layout has no sitecode: it is looked up by name and city in the
   provincial station list (``config/stations_zjemc.csv``, built from the late-layout
   files by ``scripts/make_stations_zjemc.py``), so a station gets the same
   ``zj:<sitecode>`` before and after the format change.  A name and city known
   neither nationally nor provincially gives no id (the row is quarantined).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from monitor.config import AppConfig, Feed

#: Columns of the provincial station list.
PROVINCIAL_COLUMNS: tuple[str, ...] = ("sitecode", "name", "city", "lon", "lat")
#: Namespace of national and provincial station ids.
NATIONAL_PREFIX, PROVINCIAL_PREFIX = "cn:", "zj:"

_BLANKS = re.compile(r"\s+")


def name_key(names: pd.Series) -> pd.Series:
    """Names folded for comparison: NFKC (full-width brackets to ASCII), no blanks."""
    return names.astype("string").str.normalize("NFKC").str.replace(_BLANKS, "", regex=True)


def _pair(names: pd.Series, cities: pd.Series) -> pd.Series:
    return name_key(names) + "|" + name_key(cities)


def resolve_station_ids(names: pd.Series, cities: pd.Series, sitecodes: pd.Series,
                        stations: pd.DataFrame) -> pd.Series:
    """Station id of each (name, city, sitecode) under the rule of this module.

    Parameters
    ----------
    names, cities, sitecodes : pandas.Series
        per row; ``sitecodes`` may be NA (early layout, unknown station).
    stations : pandas.DataFrame
        the station table; its ``cn:*`` rows are the national stations.

    Returns
    -------
    pandas.Series of string
        ``cn:<code>``, ``zj:<sitecode>`` or NA when neither applies.
    """
    in_cities = stations["city"].astype("string").str.strip().isin(
        cities.astype("string").str.strip().dropna().unique())
    national = stations[in_cities.fillna(False) & stations["station_id"].astype("string")
                        .str.startswith(NATIONAL_PREFIX).fillna(False)]
    exact = dict(zip(_pair(national["name"], national["city"]), national["station_id"],
                     strict=True))
    matched = _pair(names, cities).map(exact)
    provincial = PROVINCIAL_PREFIX + sitecodes.astype("string")
    return matched.astype("string").fillna(provincial)


@dataclass(frozen=True)
class ProvincialStations:
    """The provincial station list: sitecode, name, city, lon, lat."""

    frame: pd.DataFrame

    @classmethod
    def for_feed(cls, feed: Feed, config: AppConfig) -> ProvincialStations:
        """The list named by the feed option ``station_list`` (empty if not configured).

        Raises
        ------
        ValueError
            naming the file, line and field of the first problem in the list.
        """
        option = feed.options.get("station_list")
        if not option:
            return cls(pd.DataFrame(columns=list(PROVINCIAL_COLUMNS)))
        path = (config.base_dir / option).resolve()
        return cls(_load(path, path.stat().st_mtime_ns))

    def sitecode_of(self, names: pd.Series, cities: pd.Series) -> pd.Series:
        """Sitecode of each (name, city), NA where the list does not have it."""
        lookup = dict(zip(_pair(self.frame["name"], self.frame["city"]),
                          self.frame["sitecode"], strict=True))
        return _pair(names, cities).map(lookup).astype("string")

    def coordinates_of(self, sitecodes: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Longitude and latitude of each sitecode (NaN where unknown)."""
        by_code = self.frame.set_index("sitecode")
        lon = sitecodes.map(by_code["lon"]).to_numpy(dtype="float64", na_value=np.nan)
        lat = sitecodes.map(by_code["lat"]).to_numpy(dtype="float64", na_value=np.nan)
        return lon, lat


@lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int) -> pd.DataFrame:
    del mtime_ns  # part of the cache key only: an edited file is read again
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise ValueError(f"{path}: provincial station list not found") from None
    missing = [c for c in PROVINCIAL_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    for field in ("sitecode", "name", "city"):
        empty = frame.index[frame[field].isna()]
        if len(empty):
            raise ValueError(f"{path}: line {empty[0] + 2}: field {field!r} is empty")
    for field in ("sitecode",):
        repeated = frame.index[frame.duplicated(field)]
        if len(repeated):
            raise ValueError(f"{path}: line {repeated[0] + 2}: field {field!r} repeats "
                             f"{frame.at[repeated[0], field]!r}")
    repeated = frame.index[_pair(frame["name"], frame["city"]).duplicated()]
    if len(repeated):
        raise ValueError(f"{path}: line {repeated[0] + 2}: fields 'name', 'city' repeat "
                         "an earlier station")
    for field in ("lon", "lat"):
        number = pd.to_numeric(frame[field], errors="coerce")
        bad = frame.index[frame[field].notna() & number.isna()]
        if len(bad):
            raise ValueError(f"{path}: line {bad[0] + 2}: field {field!r} is not a number")
        frame[field] = number
    return frame[list(PROVINCIAL_COLUMNS)]
