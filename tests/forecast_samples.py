"""Daily series of the bundled UCI Beijing sample (3 stations, 2016-03 .. 2017-02) for the
forecast, verification and decision tests, read with the real adapter."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from ingest.base import IngestContext
from ingest.uci_beijing_multisite import read
from monitor.config import AppConfig, load_config
from monitor.forecast_inputs import daily_pollutants, daily_weather

PROJECT = Path(__file__).resolve().parent.parent
UCI_SAMPLE = PROJECT / "samples" / "uci_beijing_multisite"
TZ = "Asia/Shanghai"


def uci_readings(files: list[Path], config: AppConfig) -> pd.DataFrame:
    """Canonical readings of UCI station files, read by the feed's adapter."""
    feed = config.feeds["uci_beijing_multisite"]
    return pd.concat([read(path, feed, IngestContext(config)).readings for path in files],
                     ignore_index=True)


@cache
def sample_daily() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pollutants, weather) daily city means of the bundled sample stations."""
    config = load_config(PROJECT / "config")
    readings = uci_readings(sorted(UCI_SAMPLE.glob("*.csv")), config)
    return daily_pollutants(readings, TZ), daily_weather(readings, TZ)


@cache
def full_daily(shared_data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pollutants, weather) daily city means of all 8 UCI stations, 2013-03 .. 2017-02."""
    config = load_config(PROJECT / "config")
    files = sorted((shared_data / "uci_beijing_multisite").glob("*.csv"))
    readings = uci_readings(files, config)
    return daily_pollutants(readings, TZ), daily_weather(readings, TZ)
