"""Helpers for store / pipeline / CLI tests: a configuration with a fixture feed.

The feed ``fixture`` is read by :mod:`tests.csv_fixture_adapter` from ``<root>/feed/*.csv``;
the configuration directory is ``<root>/config`` (the project's regions plus that feed).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

from monitor.config import AppConfig, load_config

PROJECT = Path(__file__).resolve().parent.parent
FEED = "fixture"
#: Stations of the fixture feed and their cities (the last city is in no configured region).
CITIES = {"A": "北京市", "B": "天津市", "C": "石家庄市", "D": "上海市"}
PARAMETER_VALUES = {"pm25": 10.0, "pm10": 20.0, "co": 1.5}


def make_config(root: Path, expected_interval: str = "PT1H",
                adapter: str = "tests.csv_fixture_adapter", region: str | None = None
                ) -> AppConfig:
    """Write ``<root>/config`` (project regions + the fixture feed) and load it."""
    if str(PROJECT) not in sys.path:  # so that "tests.csv_fixture_adapter" imports
        sys.path.insert(0, str(PROJECT))
    config_dir = root / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT / "config" / "regions.toml", config_dir / "regions.toml")
    (config_dir / "feeds.toml").write_text(
        f'[feeds.{FEED}]\nadapter = "{adapter}"\npaths = ["feed/*.csv"]\n'
        f'expected_interval = "{expected_interval}"\n'
        + (f'region = "{region}"\n' if region else ""), encoding="utf-8")
    (root / "feed").mkdir(exist_ok=True)
    return load_config(config_dir)


def hour_rows(hours: Iterable[str], stations: Iterable[str] = tuple(CITIES),
              offset: float = 0.0) -> list[str]:
    """CSV lines: every station x parameter at each UTC hour; values shifted by ``offset``."""
    return [f"{s},{CITIES[s]},{h},{p},{v + offset + i}"
            for i, h in enumerate(hours) for s in stations for p, v in PARAMETER_VALUES.items()]


def write_feed_file(root: Path, name: str, lines: Iterable[str]) -> Path:
    """Write ``<root>/feed/<name>`` with the fixture header and ``lines``."""
    path = root / "feed" / name
    path.write_text("\n".join(["station,city,time,parameter,value", *lines]) + "\n",
                    encoding="utf-8")
    return path
