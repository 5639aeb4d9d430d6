"""Test support for the dashboard: a config directory, a sample store, a pending issuance.

The config directory is the project's own with the confirmation step switched on and
test users (known passwords, stored as hashes); the store holds the bundled samples of
the national air feed and the surface-water feed, ingested by the real pipeline.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from werkzeug.security import generate_password_hash

from alerts.config import load_alerts_config
from alerts.decision import IssuanceRequest
from alerts.issuance import consult
from alerts.state import IssuanceRecord, open_state, utcnow
from alerts.testing import PROJECT_CONFIG, make_config_dir
from ingest.pipeline import run_ingest
from monitor.config import AppConfig, load_config
from monitor.store import Store
from monitor.warning_grades import Grade

#: Feeds ingested for the dashboard tests (air with coordinates, water sections).
FEEDS: tuple[str, ...] = ("cnemc_hourly_air", "cnemc_surface_water")
#: Test users: name -> (role, password).
USERS: dict[str, tuple[str, str]] = {"bureau": ("viewer", "viewer-pass"),
                                     "centre": ("operator", "operator-pass")}
#: Session secret used by the tests (>= 32 characters).
SECRET = "test-secret-" + "x" * 40


def dashboard_toml(users: dict[str, tuple[str, str]] = USERS, extra: str = "") -> str:
    """A ``dashboard.toml`` with ``users`` (passwords hashed here) and ``extra`` lines."""
    lines = ['[server]', 'refresh_interval = "PT5S"', extra]
    for name, (role, password) in users.items():
        lines += [f"[users.{name}]", f'role = "{role}"',
                  f'password_hash = "{generate_password_hash(password)}"']
    return "\n".join(lines) + "\n"


def make_dashboard_config(root: Path) -> AppConfig:
    """``root/config`` (the project's, confirmation on, test users) and ``root/samples``."""
    target = make_config_dir(root / "config", {"issuance.confirmation_required": "true"})
    for path in PROJECT_CONFIG.iterdir():
        if path.is_file() and (path.name == "feeds.toml" or not (target / path.name).exists()):
            shutil.copyfile(path, target / path.name)
    (target / "dashboard.toml").write_text(dashboard_toml(), encoding="utf-8")
    samples = root / "samples"
    if not samples.exists():
        samples.symlink_to(PROJECT_CONFIG.parent / "samples", target_is_directory=True)
    return load_config(target)


def ingest_samples(config: AppConfig, data_dir: Path, feeds: tuple[str, ...] = FEEDS
                   ) -> Store:
    """The sample store: ``feeds`` (default :data:`FEEDS`) ingested into ``data_dir``."""
    store = Store(data_dir)
    run_ingest(config, store, feeds)
    return store


def pending_issuance(config: AppConfig, data_dir: Path, level: Grade = Grade.ORANGE
                     ) -> IssuanceRecord:
    """Issue ``level`` for Beijing, Tianjin and Hebei, awaiting confirmation."""
    cfg = load_alerts_config(config)
    engine = open_state(cfg.state_url(data_dir))
    regions = ("beijing", "tianjin", "hebei")
    decision = IssuanceRequest(
        level=level, regions=regions,
        city_levels={r: dict.fromkeys(config.regions[r].cities, level) for r in regions},
        evidence={"source": "dashboard test"}, decided_at=utcnow())
    result = consult(engine, decision, config, cfg, utcnow())
    engine.dispose()
    assert result.issuance is not None, result.detail
    return result.issuance


def sample_station_ids(store: Store, config: AppConfig) -> set[str]:
    """Stations of the member regions with readings and coordinates (what the map shows)."""
    stations = store.stations(regions=list(config.regions)).dropna(subset=["lon", "lat"])
    with_readings = set(store.readings(regions=list(config.regions))["station_id"])
    return set(stations["station_id"]) & with_readings


def expected_export_rows(store: Store, start: str, end: str) -> pd.DataFrame:
    """Valid readings between ``start`` and ``end`` (what an export of all exports)."""
    return store.readings(start=start, end=end, flags=["valid"])
