"""The water-sections reference: what the surface-water feed does not publish.

``config/water_sections.csv`` (one row per section, keyed by province and section
name as the feed writes them) gives the water body (``river``, ``lake`` or
``reservoir``), the target class under GB 3838-2002 (1..5 for classes I..V) and, for
sections on a border between regions, the ``upstream_region`` and
``downstream_region`` (a configured region id, or a province name as published for
provinces that are not configured regions).  The target classes are configuration
to be confirmed by the bureaus; see ``config/water_sections.SOURCE.md``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from monitor.config import AppConfig

#: Columns of the reference file; ``river`` and ``note`` document the row.
COLUMNS: tuple[str, ...] = ("province", "section", "river", "water_body", "target_class",
                            "upstream_region", "downstream_region", "note")
#: Allowed water-body types.
WATER_BODIES: frozenset[str] = frozenset({"river", "lake", "reservoir"})
#: Target classes a section may have (GB 3838-2002 classes I..V; 劣V is never a target).
TARGET_CLASSES: frozenset[int] = frozenset(range(1, 6))
#: Columns handed on to the station table.
STATION_FIELDS: list[str] = ["province", "section", "water_body", "target_class",
                             "upstream_region", "downstream_region"]


class WaterSectionsError(ValueError):
    """The reference file is wrong; the message names file, row and field."""


def load_water_sections(path: Path, config: AppConfig) -> pd.DataFrame:
    """Read and validate the water-sections reference.

    Parameters
    ----------
    path : Path
        the CSV file (UTF-8, header ``province,section,river,water_body,target_class,
        upstream_region,downstream_region,note``).
    config : AppConfig
        for the configured region ids.

    Returns
    -------
    pandas.DataFrame
        columns :data:`STATION_FIELDS`, ``target_class`` as nullable Int8.

    Raises
    ------
    WaterSectionsError
        naming the file, the row (line number) and the field of the first problem.
    """
    return _load(path, path.stat().st_mtime_ns, frozenset(config.regions)).copy()


@lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int, region_ids: frozenset[str]) -> pd.DataFrame:
    del mtime_ns  # part of the cache key only: an edited file is read again
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise WaterSectionsError(f"{path}: missing columns {missing}")

    def fail(index: int, field: str, problem: str) -> WaterSectionsError:
        return WaterSectionsError(f"{path}: line {index + 2}: field {field!r}: {problem}")

    for field in ("province", "section", "water_body"):
        empty = frame.index[frame[field].isna()]
        if len(empty):
            raise fail(empty[0], field, "is empty")
    bad_body = frame.index[~frame["water_body"].isin(WATER_BODIES)]
    if len(bad_body):
        raise fail(bad_body[0], "water_body",
                   f"{frame.at[bad_body[0], 'water_body']!r} is not one of "
                   f"{sorted(WATER_BODIES)}")
    target = pd.to_numeric(frame["target_class"], errors="coerce")
    bad_target = frame.index[frame["target_class"].notna()
                             & ~target.isin(list(TARGET_CLASSES))]
    if len(bad_target):
        raise fail(bad_target[0], "target_class",
                   f"{frame.at[bad_target[0], 'target_class']!r} is not a class 1..5")
    for field in ("upstream_region", "downstream_region"):
        value = frame[field]
        unknown = frame.index[value.notna() & ~value.isin(list(region_ids))
                              & ~value.str.endswith(("省", "市", "自治区"), na=False)]
        if len(unknown):
            raise fail(unknown[0], field,
                       f"{value[unknown[0]]!r} is neither a configured region "
                       f"({', '.join(sorted(region_ids))}) nor a province name")
    repeated = frame.index[frame.duplicated(["province", "section"])]
    if len(repeated):
        raise fail(repeated[0], "section", "repeats an earlier (province, section)")
    frame["target_class"] = target.astype("Int8")
    return frame[STATION_FIELDS]
