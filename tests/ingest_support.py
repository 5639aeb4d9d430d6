"""Helpers shared by the ingest tests: a context with the national station list, readings lookup."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ingest.base import FileResult, IngestContext
from ingest.stations import load_reference_stations
from monitor.config import AppConfig, Feed

PROJECT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT / "samples"


def context(config: AppConfig) -> IngestContext:
    """An ingest context knowing the stations of ``config/stations_cn.csv``."""
    return IngestContext(config=config, stations=load_reference_stations(config))


def feed_with(feed: Feed, **options: object) -> Feed:
    """``feed`` with some options replaced (a copy; configs are frozen)."""
    return feed.model_copy(update={"options": {**feed.options, **options}})


def reading(result: FileResult, station_id: str, time: str, parameter: str,
            period: str = "1h") -> pd.Series:
    """The one reading of ``result`` with this key (fails the test if not exactly one)."""
    r = result.readings
    hit = r[(r["station_id"] == station_id) & (r["time"] == pd.Timestamp(time))
            & (r["parameter"] == parameter) & (r["period"] == period)]
    assert len(hit) == 1, f"{station_id} {time} {parameter} {period}: {len(hit)} readings"
    return hit.iloc[0]
