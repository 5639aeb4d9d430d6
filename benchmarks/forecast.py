"""Benchmark: daily AQI forecasts (days 1-4) for 400 city series from cached models.

Real inputs: the bundled UCI Beijing sample (3 stations, 2016-03 .. 2017-02), read with
the feed's adapter.  The models of each station's series and of the city mean are fitted
once (the *first fit*, timed); the 400 cache entries are copies of those fits under 400
series ids (the cost of a forecast run does not depend on which city the numbers belong
to).  The timed run is the operational path for every series: load the cache file,
assimilate the days since its filter state, forecast six pollutants 4 days ahead with
the Monte Carlo AQI distribution (``monte_carlo_draws`` from ``config/forecast.toml``),
and write the cache file back.  As a baseline in the same run, a few series are
re-estimated from scratch (what refitting every run would cost) and extrapolated to 400.

Goal (issue 4): 400 series x 4 days from cached models in under 30 s on the 2-core machine.

Run: ``.venv/bin/python benchmarks/forecast.py [--series N] [--new-days N]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

# benchmarks/ingest.py would shadow the ``ingest`` package: drop this folder from sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import pandas as pd  # noqa: E402

from ingest.base import IngestContext  # noqa: E402
from ingest.uci_beijing_multisite import read  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.forecast import SeriesModels, fit_series, forecast_series  # noqa: E402
from monitor.forecast_cache import ModelCache  # noqa: E402
from monitor.forecast_config import ForecastSettings, load_forecast_config  # noqa: E402
from monitor.forecast_inputs import daily_pollutants  # noqa: E402

GOAL_SECONDS = 30.0
PROJECT = Path(__file__).resolve().parent.parent
TZ = "Asia/Shanghai"


def run_series(cache_dir: str, jobs: list[tuple[str, pd.DataFrame]], origin: pd.Timestamp,
               settings: ForecastSettings) -> tuple[int, float]:
    """The operational path for each (series id, daily data): load, forecast, save.

    Returns the forecast days made and the CPU seconds this process spent.
    """
    cpu0 = time.process_time()
    cache = ModelCache(cache_dir)
    days = 0
    for sid, daily in jobs:
        models = cache.load(sid, "history-only")
        if models is None:
            raise RuntimeError(f"{sid}: not in the cache")
        forecast, moved = forecast_series(models, daily, origin, settings, tz=TZ)
        cache.save(moved, "history-only")
        days += len(forecast.aqi)
    return days, time.process_time() - cpu0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=400)
    parser.add_argument("--new-days", type=int, default=1,
                        help="days of new data each series assimilates before forecasting")
    parser.add_argument("--baseline-series", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1,
                        help="processes sharing the series (the machine has 2 cores)")
    args = parser.parse_args()

    config = load_config(PROJECT / "config")
    fconfig = load_forecast_config(config)
    settings, spec = fconfig.forecast, fconfig.model(with_weather=False)
    feed = config.feeds["uci_beijing_multisite"]
    readings = pd.concat([read(path, feed, IngestContext(config)).readings
                          for path in config.feed_files(feed)], ignore_index=True)
    city = daily_pollutants(readings, TZ)
    stations = {sid: daily_pollutants(readings[readings["station_id"] == sid], TZ)
                for sid in readings["station_id"].unique()}
    sources = {"city": city, **stations}
    origin = pd.Timestamp("2017-02-20")
    fitted_until = origin - pd.Timedelta(days=args.new_days)

    t0 = time.perf_counter()
    first = fit_series("city", city, fitted_until, spec, settings)
    first_fit = time.perf_counter() - t0
    print(f"first fit (6 pollutant models, {first.models['pm25'].n_valid} days): "
          f"{first_fit:.2f} s")
    fits: dict[str, SeriesModels] = {"city": first}
    for sid, daily in stations.items():
        fits[sid] = fit_series(sid, daily, fitted_until, spec, settings)
    names = list(sources)

    with tempfile.TemporaryDirectory() as tmp:
        cache = ModelCache(tmp)
        ids = [f"series-{i:03d}" for i in range(args.series)]
        for i, sid in enumerate(ids):
            cache.save(replace(fits[names[i % len(names)]], series_id=sid), "history-only")
        jobs = [(sid, sources[names[i % len(names)]]) for i, sid in enumerate(ids)]
        chunks = [jobs[w::args.workers] for w in range(args.workers)]
        t0 = time.perf_counter()
        if args.workers == 1:
            results = [run_series(tmp, jobs, origin, settings)]
        else:
            with ProcessPoolExecutor(args.workers) as pool:
                results = list(pool.map(run_series, [tmp] * args.workers, chunks,
                                        [origin] * args.workers, [settings] * args.workers))
        elapsed = time.perf_counter() - t0
        days = sum(r[0] for r in results)
        cpu = sum(r[1] for r in results)

    t0 = time.perf_counter()
    for i in range(args.baseline_series):
        fit_series("baseline", sources[names[i % len(names)]], origin, spec, settings)
    refit = (time.perf_counter() - t0) / args.baseline_series
    verdict = "meets" if elapsed < GOAL_SECONDS else "MISSES"
    print(f"{args.series} series x 4 days from cached models, {args.workers} process(es): "
          f"{elapsed:.2f} s wall ({elapsed / args.series * 1000:.0f} ms per series, {days} "
          f"forecast days, {settings.monte_carlo_draws} draws) -> {verdict} the "
          f"{GOAL_SECONDS:.0f} s goal")
    print(f"  CPU time of the forecasting processes: {cpu:.2f} s; load average during the run "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work competes for them)")
    print(f"baseline, refitting every series each run: {refit:.2f} s per series -> "
          f"{refit * args.series:.0f} s for {args.series} "
          f"(cache speed-up x{refit * args.series / elapsed:.0f})")


if __name__ == "__main__":
    main()
