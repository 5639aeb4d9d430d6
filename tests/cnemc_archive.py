"""Real national hourly files for the export and backfill tests.

:func:`hourly_files` returns files of the CNEMC real-time release: the bundled excerpt
``samples/cnemc_hourly_air`` when it is there, else ``../shared/data/cnemc_hourly_air``
(the caller passes the ``shared_data`` fixture's loader, which skips when it is absent).
:func:`archive_config` writes a configuration whose ``cnemc_hourly_air`` feed reads
exactly the files of one archive folder, so a normal ingest and a backfill of that
folder can be compared.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from monitor.config import AppConfig, load_config

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = PROJECT / "samples" / "cnemc_hourly_air"
FEED = "cnemc_hourly_air"


def hourly_files(shared_data: Callable[[], Path], count: int) -> list[Path]:
    """The first ``count`` hourly files of 2026-03-03 (sample excerpt, else shared data)."""
    sample = sorted(SAMPLE_DIR.glob("2026-03-03/*.csv"))
    if len(sample) >= count:
        return sample[:count]
    return sorted((shared_data() / FEED / "2026-03-03").glob("*.csv"))[:count]


def copy_archive(files: list[Path], folder: Path) -> Path:
    """Copy ``files`` into ``folder/<day>/`` (as the release lays them out); return ``folder``."""
    for path in files:
        target = folder / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return folder


def archive_config(root: Path, archive: Path) -> AppConfig:
    """The project's configuration with the national feed reading ``archive/**/*.csv``."""
    config_dir = root / "config"
    shutil.copytree(PROJECT / "config", config_dir)
    (config_dir / "feeds.toml").write_text(
        f'[feeds.{FEED}]\nadapter = "{FEED}"\npaths = ["{archive}/*/*.csv"]\n'
        'timezone = "Asia/Shanghai"\n', encoding="utf-8")
    return load_config(config_dir)
