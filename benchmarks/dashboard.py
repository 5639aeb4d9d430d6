"""Benchmark: the dashboard's main callbacks over one year of hourly data for 100 stations.

Builds a store with synthetic 1-h values of the six AQI pollutants for 100 air stations in
the Beijing-Tianjin-Hebei member cities (one year, 5.3 million readings) and one confirmed
issuance, then drives the callbacks through the real app (``create_app``, Flask test
client posting to ``/_dash-update-component`` as a logged-in operator, exactly what the
browser sends): the overview refresh, the map, the series (a city and a station, 7 days),
the water sections, the notice log and the freshness table.  Prints p50 / p95 per callback
and over all calls.  As a baseline in the same run it times reading the whole store once
(what a dashboard reading everything per refresh would pay on every callback).

The first series call of a city also fits its forecast models (cached afterwards); it is
timed and printed separately, outside the percentiles.

Run: ``.venv/bin/python benchmarks/dashboard.py [--stations N] [--days N] [--repeats N]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from werkzeug.security import generate_password_hash

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts.config import load_alerts_config
from alerts.decision import IssuanceRequest
from alerts.issuance import consult
from alerts.state import open_state, utcnow
from dashboard.app import create_app
from dashboard.testing import callback_request
from monitor.config import AppConfig, load_config
from monitor.ledger import LedgerEntry
from monitor.schema import READING_COLUMNS, STATION_COLUMNS, reading_table
from monitor.store import IngestedFile, Store
from monitor.warning_grades import Grade

PROJECT = Path(__file__).resolve().parent.parent
#: Typical 1-h levels (µg/m³, CO mg/m³) the log-normal synthetic values scatter around.
LEVELS = {"so2": 10.0, "no2": 30.0, "pm10": 70.0, "co": 0.8, "o3": 60.0, "pm25": 45.0}
UNITS = {p: "mg/m3" if p == "co" else "ug/m3" for p in LEVELS}
SECRET = "benchmark-secret-" + "x" * 32
P95_LIMIT_MS = 300.0


def synthetic_stations(config: AppConfig, count: int, seed: int) -> pd.DataFrame:
    """``count`` air stations spread over the Beijing-Tianjin-Hebei member cities."""
    rng = np.random.default_rng(seed)
    cities = [(r, c) for r in ("beijing", "tianjin", "hebei") for c in config.regions[r].cities]
    rows = []
    for i in range(count):
        region, city = cities[i % len(cities)]
        rows.append({"station_id": f"bench:{i:04d}", "name": f"站点{i:04d}", "region": region,
                     "city": city, "lon": 114.0 + 5 * rng.random(),
                     "lat": 36.5 + 5 * rng.random(), "medium": "air", "source": "bench"})
    return pd.DataFrame(rows).reindex(columns=STATION_COLUMNS)


def month_readings(stations: list[str], times: pd.DatetimeIndex, rng: np.random.Generator
                   ) -> pd.DataFrame:
    """Canonical readings of the six pollutants for ``stations`` at ``times``."""
    frames = []
    for pollutant, level in LEVELS.items():
        values = rng.lognormal(0.0, 0.7, (len(stations), len(times))) * level
        n = values.size
        frames.append(pd.DataFrame({
            "station_id": np.repeat(stations, len(times)), "time": np.tile(times, len(stations)),
            "period": "1h", "parameter": pollutant, "value": values.ravel(),
            "unit": UNITS[pollutant], "flag": "valid", "flag_reason": None, "source": "bench",
            "source_file": "synthetic", "source_row": np.arange(n),
        }))
    return pd.concat(frames, ignore_index=True)[READING_COLUMNS]


def commit_hours(store: Store, stations: pd.DataFrame, hours: pd.DatetimeIndex,
                 rng: np.random.Generator, label: str) -> int:
    """Commit the readings of ``hours`` as one ingested file; returns the readings written."""
    readings = month_readings(stations["station_id"].tolist(), hours, rng)
    entry = LedgerEntry(feed="bench", path=f"synthetic/{label}", sha256=label, size=0,
                        records=len(readings), stored=len(readings), quarantined=0,
                        duplicates=0, readings=len(readings))
    empty = pd.DataFrame(columns=["source", "source_file", "source_row", "field", "reason",
                                  "raw"])
    return store.commit_batch([IngestedFile(entry, reading_table(readings), empty)], stations)


def build_store(store: Store, stations: pd.DataFrame, hours: pd.DatetimeIndex) -> int:
    """Write the synthetic history month by month; returns the number of readings."""
    rng = np.random.default_rng(2)
    total = 0
    for month, times in pd.Series(hours, index=hours).groupby(hours.strftime("%Y-%m")):
        total += commit_hours(store, stations, pd.DatetimeIndex(times), rng, str(month))
    return total


def config_dir(root: Path) -> AppConfig:
    """The project's configuration with one operator login (``dashboard.toml`` replaced)."""
    target = root / "config"
    target.mkdir()
    for path in (PROJECT / "config").iterdir():
        if path.is_file():
            (target / path.name).write_bytes(path.read_bytes())
    (target / "feeds.toml").write_text("# benchmark: no feeds\n", encoding="utf-8")
    (target / "dashboard.toml").write_text(
        f'[users.op]\nrole = "operator"\npassword_hash = "{generate_password_hash("pw")}"\n',
        encoding="utf-8")
    return load_config(target)


def issue(config: AppConfig, data_dir: Path) -> None:
    """One confirmed orange issuance for the three regions (notices queued)."""
    cfg = load_alerts_config(config)
    engine = open_state(cfg.state_url(data_dir))
    consult(engine, IssuanceRequest(level=Grade.ORANGE, regions=("beijing", "tianjin", "hebei"),
                                     decided_at=utcnow()), config, cfg, utcnow(),
            confirmed_by="benchmark")
    engine.dispose()


def percentiles(label: str, values: list[float]) -> str:
    return (f"{label:<18} {np.percentile(values, 50):8.0f} {np.percentile(values, 95):8.0f}"
            f" {max(values):8.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=3,
                        help="hourly ingests during the run (each makes the next calls cold)")
    parser.add_argument("--refreshes", type=int, default=59,
                        help="warm calls of each callback after each ingest (a page "
                             "refreshing every minute between hourly ingests: 59)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jointwatch-bench-") as tmp:
        root = Path(tmp)
        config = config_dir(root)
        data_dir = root / "var"
        store = Store(data_dir)
        stations = synthetic_stations(config, args.stations, seed=1)
        hours = pd.date_range("2025-01-01T01:00Z", periods=args.days * 24, freq="h")
        t0 = time.perf_counter()
        readings = build_store(store, stations, hours)
        print(f"store: {readings:,} readings of {args.stations} stations x {args.days} days "
              f"written in {time.perf_counter() - t0:.1f} s")
        issue(config, data_dir)
        os.environ["JOINTWATCH_DASHBOARD_SECRET"] = SECRET
        client = create_app(config, data_dir).server.test_client()
        client.post("/login", data={"username": "op", "password": "pw"})
        dependencies = client.get("/_dash-dependencies").get_json()
        base = {"refresh.n_intervals": 1, "alert-changed.data": None,
                "series-parameter.value": "pm25", "series-days.value": 7}
        calls = {name: callback_request(dependencies, output, base) for name, output in (
            ("overview", "level-banner.children"), ("map", "station-map.figure"),
            ("water", "water-graph.figure"), ("notices", "notice-table.data"),
            ("freshness", "freshness-table.data"))}
        for label, target in (("series (city)", "city:北京市"),
                              ("series (station)", "station:bench:0001")):
            calls[label] = callback_request(dependencies, "series-graph.figure",
                                            {**base, "series-target.value": target})

        def post(body: dict[str, Any]) -> float:
            start = time.perf_counter()
            response = client.post("/_dash-update-component", data=json.dumps(body),
                                   content_type="application/json")
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise RuntimeError(f"{body['output']}: HTTP {response.status_code} "
                                   f"{response.text[:300]}")
            return elapsed * 1000

        for label in ("series (city)", "series (station)"):
            print(f"first call of {label}, forecast models fitted: "
                  f"{post(calls[label]):.0f} ms")
        cold: dict[str, list[float]] = {name: [] for name in calls}
        warm: dict[str, list[float]] = {name: [] for name in calls}
        rng = np.random.default_rng(3)
        for hour in range(args.rounds):
            commit_hours(store, stations, pd.DatetimeIndex([hours[-1] + pd.Timedelta(
                hours=hour + 1)]), rng, f"extra-{hour}")
            for name, body in calls.items():
                cold[name].append(post(body))
            for _ in range(args.refreshes):
                for name, body in calls.items():
                    warm[name].append(post(body))
        print(f"{'callback':<18} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        print("-- first call after an hourly ingest (recomputed):")
        for name, values in cold.items():
            print(percentiles(name, values))
        print("-- refreshes until the next ingest (from memory when nothing changed):")
        for name, values in warm.items():
            print(percentiles(name, values))
        served = [v for name in calls for v in cold[name] + warm[name]]
        p95 = float(np.percentile(served, 95))
        print(percentiles("all, as served", served)
              + f"   (limit p95 < {P95_LIMIT_MS:.0f} ms: "
                f"{'met' if p95 < P95_LIMIT_MS else 'NOT met'})")
        every_cold = [v for values in cold.values() for v in values]
        print(percentiles("all, recomputed", every_cold)
              + f"   (limit p95 < {P95_LIMIT_MS:.0f} ms: "
                f"{'met' if np.percentile(every_cold, 95) < P95_LIMIT_MS else 'NOT met'})")
        start = time.perf_counter()
        everything = Store(data_dir).readings()
        naive = (time.perf_counter() - start) * 1000
        print(f"baseline: reading the whole store once ({len(everything):,} readings) "
              f"{naive:.0f} ms = {naive / np.percentile(every_cold, 50):.0f} x the median "
              "recomputed callback")


if __name__ == "__main__":
    main()
