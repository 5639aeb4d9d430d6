"""Build ``config/stations_cn.csv``, the national air station list, from the CNEMC release.

Reads every hourly file of the national real-time release (``cnemc_hourly_air``), keeps
one row per station code with the metadata of the latest file that lists it, and
assigns each station's region: the configured region id (``config/regions.toml``) of
its city, else the province of its city from ``config/cn_city_region.csv``.

Usage::

    .venv/bin/python scripts/make_stations_cn.py [DATA_DIR]

``DATA_DIR`` defaults to ``../shared/data``.  The output is sorted by station id, so a
rerun on the same data reproduces the file byte for byte.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from monitor.config import AppConfig, load_config  # noqa: E402

#: Columns of ``config/stations_cn.csv`` (a subset of monitor.schema.STATION_COLUMNS).
COLUMNS = ["station_id", "name", "city", "region", "lon", "lat", "medium", "source"]
SOURCE = "cnemc_hourly_air"


def national_stations(release_dir: Path, config: AppConfig) -> pd.DataFrame:
    """One row per station code of the release in ``release_dir`` (latest metadata wins)."""
    files = sorted(release_dir.glob("*/*.csv"))
    if not files:
        raise SystemExit(f"{release_dir}: no hourly files found")
    frames = [
        pd.read_csv(f, dtype=str, keep_default_na=False,
                    usecols=["timepoint", "stationcode", "longitude", "latitude", "area",
                             "positionname"])
        for f in files
    ]
    raw = pd.concat(frames, ignore_index=True).sort_values("timepoint", kind="stable")
    latest = raw.drop_duplicates("stationcode", keep="last")
    provinces = pd.read_csv(config.config_dir / "cn_city_region.csv", dtype=str)
    province_of = dict(zip(provinces["city"], provinces["province"], strict=True))
    unknown = sorted(set(latest["area"]) - set(province_of))
    if unknown:
        raise SystemExit(f"cities missing from cn_city_region.csv: {', '.join(unknown)}")
    region = [config.region_of_city(c) or province_of[c] for c in latest["area"]]
    out = pd.DataFrame({
        "station_id": "cn:" + latest["stationcode"],
        "name": latest["positionname"],
        "city": latest["area"],
        "region": region,
        "lon": pd.to_numeric(latest["longitude"]),
        "lat": pd.to_numeric(latest["latitude"]),
        "medium": "air",
        "source": SOURCE,
    })
    return out.sort_values("station_id").reset_index(drop=True)[COLUMNS]


def main(argv: list[str]) -> int:
    data = Path(argv[1]) if len(argv) > 1 else PROJECT.parent / "shared" / "data"
    config = load_config(PROJECT / "config")
    table = national_stations(data / SOURCE, config)
    target = config.config_dir / "stations_cn.csv"
    table.to_csv(target, index=False, lineterminator="\n")
    print(f"{target}: {len(table)} stations")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
