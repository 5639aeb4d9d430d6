"""Which discovered station rows update the station table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingest.stations import station_updates
from monitor.schema import STATION_COLUMNS


def _stations(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows).reindex(columns=STATION_COLUMNS)


KNOWN = _stations([
    {"station_id": "cn:A", "name": "甲", "lon": 116.3, "lat": 39.9, "medium": "air"},
    {"station_id": "cn:B", "name": "乙", "lon": 117.2, "lat": 39.1, "medium": "air",
     "region": "tianjin"},
])


def test_same_values_and_missing_values_are_no_change() -> None:
    same = KNOWN.copy()
    gaps = KNOWN.assign(lon=np.nan, region=None, name=pd.NA)
    assert station_updates(KNOWN, same).empty
    assert station_updates(KNOWN, gaps).empty


def test_new_stations_and_changed_values_are_updates_last_row_winning() -> None:
    discovered = _stations([
        {"station_id": "cn:A", "name": "甲", "lon": 116.31, "medium": "air"},   # moved
        {"station_id": "cn:B", "name": "乙", "medium": "air"},                  # unchanged
        {"station_id": "cn:C", "name": "丙 (old)", "medium": "air"},            # new ...
        {"station_id": "cn:C", "name": "丙", "medium": "air"},                  # ... last wins
    ])
    updates = station_updates(KNOWN, discovered)
    assert updates["station_id"].tolist() == ["cn:A", "cn:C"]
    assert updates.set_index("station_id").loc["cn:C", "name"] == "丙"
    assert list(updates.columns) == STATION_COLUMNS


def test_a_region_given_for_the_first_time_is_an_update() -> None:
    discovered = KNOWN.iloc[[0]].assign(region="beijing")
    assert station_updates(KNOWN, discovered)["region"].tolist() == ["beijing"]
    assert station_updates(KNOWN.iloc[:0], KNOWN)["station_id"].tolist() == ["cn:A", "cn:B"]
