"""Make the bundled sample excerpts under ``samples/`` from the real feeds.

Every excerpt keeps the header line and takes whole data lines byte for byte (line
ends included), so the samples show the feeds' real quirks; only the quotsoft
excerpt drops columns (stations outside Beijing-Tianjin-Hebei), which changes its
lines.  Rerunning on the same data reproduces the same bytes.

Usage::

    .venv/bin/python scripts/make_samples.py [DATA_DIR]

``DATA_DIR`` defaults to ``../shared/data``.  Each sample folder has a hand-written
``SOURCE.md`` (dataset, excerpt, licence) that this script does not touch.
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from monitor.config import AppConfig, load_config  # noqa: E402

SAMPLES = PROJECT / "samples"
#: Regions whose national rows go into the 2026-03-03 excerpt.
EPISODE_REGIONS = ("beijing", "tianjin", "hebei", "zhejiang")
#: UCI stations and period kept (a year: enough for the forecast demo).
UCI_STATIONS = ("Aotizhongxin", "Dingling", "Wanshouxigong")
UCI_FIRST, UCI_LAST = (2016, 3, 1), (2017, 2, 28)
#: 2017 national codes 1001A-1080A are the Beijing-Tianjin-Hebei block of that year's
#: numbering (several were renumbered later and are absent from stations_cn.csv).
QUOTSOFT_BTH_BLOCK = range(1001, 1081)
#: Zhejiang files around the layout changes (early layout until 2026-04-30T12, the raw
#: API layout from T13; 2026-05-04T09 is a reduced API variant without the 8-h/24-h
#: columns, in neither layout) and the
#: hours used to cross-check with the national release of 2026-05-01.
ZJEMC_FILES = (
    "2026-04-28/2026-04-28T17.csv",
    "2026-04-30/2026-04-30T11.csv", "2026-04-30/2026-04-30T12.csv",
    "2026-04-30/2026-04-30T13.csv", "2026-04-30/2026-04-30T14.csv",
    "2026-05-01/2026-05-01T07.csv", "2026-05-01/2026-05-01T08.csv",
    "2026-05-01/2026-05-01T09.csv",
    "2026-05-04/2026-05-04T08.csv", "2026-05-04/2026-05-04T09.csv",
    "2026-05-04/2026-05-04T10.csv",
)


def _filter_lines(source: Path, target: Path, keep: Callable[[list[str]], bool]) -> int:
    """Copy the header and the data lines whose parsed fields pass ``keep``, bytes unchanged."""
    lines = source.read_bytes().splitlines(keepends=True)
    kept = [lines[0]]
    for line in lines[1:]:
        fields = next(csv.reader([line.decode("utf-8")]), [])
        if fields and keep(fields):
            kept.append(line)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"".join(kept))
    return len(kept) - 1


def _cities(config: AppConfig, regions: Iterable[str]) -> set[str]:
    return {city for r in regions for city in config.regions[r].cities}


def cnemc(data: Path, config: AppConfig) -> None:
    """National hourly release: episode day (4 regions) and 2026-05-01 (Zhejiang)."""
    for day, regions in (("2026-03-03", EPISODE_REGIONS), ("2026-05-01", ("zhejiang",))):
        cities = _cities(config, regions)
        for source in sorted((data / "cnemc_hourly_air" / day).glob("*.csv")):
            target = SAMPLES / "cnemc_hourly_air" / day / source.name
            _filter_lines(source, target, lambda f, c=cities: f[4] in c)


def uci(data: Path) -> None:
    """UCI multi-site: a year of three stations (rows unchanged)."""
    for station in UCI_STATIONS:
        name = f"PRSA_Data_{station}_20130301-20170228.csv"

        def in_year(fields: list[str]) -> bool:
            ymd = (int(fields[1]), int(fields[2]), int(fields[3]))
            return UCI_FIRST <= ymd <= UCI_LAST

        _filter_lines(data / "uci_beijing_multisite" / name,
                      SAMPLES / "uci_beijing_multisite" / name, in_year)


def quotsoft(data: Path, config: AppConfig) -> None:
    """quotsoft 2017-01-01: only the columns of Beijing-Tianjin-Hebei stations."""
    stations = (config.config_dir / "stations_cn.csv").read_text(encoding="utf-8")
    bth = {row["station_id"].removeprefix("cn:") for row in csv.DictReader(io.StringIO(stations))
           if row["region"] in ("beijing", "tianjin", "hebei")}
    bth |= {f"{n}A" for n in QUOTSOFT_BTH_BLOCK}
    source = data / "quotsoft_china_sites" / "china_sites_20170101.csv"
    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8"))))
    keep = [i for i, name in enumerate(rows[0]) if i < 3 or name in bth]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([row[i] for i in keep])
    target = SAMPLES / "quotsoft_china_sites" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(out.getvalue(), encoding="utf-8")


def copy_files(data: Path) -> None:
    """Zhejiang files around the layout change; the whole surface-water snapshot."""
    for name in ZJEMC_FILES:
        target = SAMPLES / "zjemc_hourly_air" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data / "zjemc_hourly_air" / name, target)
    for source in (data / "cnemc_surface_water").glob("cnemc_realtime_snapshot_*.json"):
        target = SAMPLES / "cnemc_surface_water" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def main(argv: list[str]) -> int:
    data = Path(argv[1]) if len(argv) > 1 else PROJECT.parent / "shared" / "data"
    if not data.is_dir():
        raise SystemExit(f"{data}: real data directory not found")
    config = load_config(PROJECT / "config")
    cnemc(data, config)
    uci(data)
    quotsoft(data, config)
    copy_files(data)
    total = sum(f.stat().st_size for f in SAMPLES.rglob("*") if f.is_file())
    print(f"{SAMPLES}: {total / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
