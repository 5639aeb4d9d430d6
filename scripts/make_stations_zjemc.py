"""Build ``config/stations_zjemc.csv``, the Zhejiang provincial station list.

The early layout of the ZJEMC release names stations only by Chinese name and city;
the late layout adds the provincial ``sitecode`` and coordinates.  This script reads
every late-layout file of the archive (through the adapter's own layout detection),
keeps one row per sitecode with the metadata of the latest file, and writes
``sitecode,name,city,lon,lat`` sorted by sitecode, so a rerun on the same data
reproduces the file byte for byte.

Usage::

    .venv/bin/python scripts/make_stations_zjemc.py [ARCHIVE_DIR]

``ARCHIVE_DIR`` defaults to ``../shared/data/zjemc_hourly_air``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from ingest.tabular_load import LayoutError, load_delimited  # noqa: E402
from ingest.zjemc_hourly_air import LATE, MISSING_MARKERS, TEXT_COLUMNS, detect_layout  # noqa: E402
from ingest.zjemc_stations import PROVINCIAL_COLUMNS  # noqa: E402


def provincial_stations(archive: Path) -> pd.DataFrame:
    """One row per sitecode seen in the late-layout files under ``archive``."""
    frames = []
    for path in sorted(archive.glob("*/*.csv")):
        try:
            loaded = load_delimited(path.read_bytes(), "utf-8", ",", 1, MISSING_MARKERS,
                                    TEXT_COLUMNS)
            if detect_layout(loaded.header) is not LATE:
                continue
        except LayoutError:
            continue
        ids = LATE.id_columns
        frames.append(pd.DataFrame({
            "sitecode": loaded.frame[ids["sitecode"]], "name": loaded.frame[ids["name"]],
            "city": loaded.frame[ids["city"]], "lon": loaded.frame[ids["lon"]],
            "lat": loaded.frame[ids["lat"]]}))
    if not frames:
        raise SystemExit(f"{archive}: no late-layout files found")
    stations = pd.concat(frames, ignore_index=True).drop_duplicates("sitecode", keep="last")
    return stations.sort_values("sitecode")[list(PROVINCIAL_COLUMNS)]


def main() -> None:
    archive = Path(sys.argv[1]) if len(sys.argv) > 1 else (
        PROJECT.parent / "shared" / "data" / "zjemc_hourly_air")
    out = PROJECT / "config" / "stations_zjemc.csv"
    provincial_stations(archive).to_csv(out, index=False)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
