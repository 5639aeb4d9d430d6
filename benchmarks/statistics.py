"""Benchmark: valid daily statistics for one year x 1,600 stations (synthetic values).

Computes, per pollutant, the 24-h means per local day (PM2.5, PM10, SO2, NO2, CO) and the
O3 daily maximum 8-h mean, plus the rolling 24-h mean of PM2.5, with the validity rules of
GB 3095-2012 / HJ 663-2013 (``monitor.statistics``), and prints throughput in hourly values
per second.  As a baseline in the same run it times a straightforward per-station loop
(one pandas groupby per station) on a subset of stations and extrapolates.

Run: ``.venv/bin/python benchmarks/statistics.py [--stations N] [--days N]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from monitor.schema import READING_COLUMNS
from monitor.statistics import (
    DAILY_MEAN_POLLUTANTS,
    MIN_HOURS_24H,
    daily_max_8h_mean,
    daily_mean,
    daily_statistics,
    rolling_24h_mean,
)

TZ = "Asia/Shanghai"


def synthetic_hourly(stations: int, days: int, seed: int) -> pd.DataFrame:
    """Log-normal hourly values with 5 % missing, UTC hour-end index, one column per station."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2025-12-31T17:00Z", periods=days * 24, freq="h", name="time")
    values = rng.lognormal(mean=3.5, sigma=0.6, size=(len(index), stations))
    values[rng.random(values.shape) < 0.05] = np.nan
    columns = pd.Index([f"cn:{i:04d}A" for i in range(stations)], name="station")
    return pd.DataFrame(values, index=index, columns=columns)


def long_readings(hourly: pd.DataFrame, parameter: str) -> pd.DataFrame:
    """Canonical long readings (READING_COLUMNS) of a wide frame, as the store returns them."""
    stacked = hourly.stack(future_stack=True)
    n = len(stacked)
    return pd.DataFrame({
        "station_id": stacked.index.get_level_values("station"),
        "time": stacked.index.get_level_values("time"), "period": "1h",
        "parameter": parameter, "value": stacked.to_numpy(), "unit": "ug/m3",
        "flag": np.where(stacked.isna().to_numpy(), "invalid", "valid"), "flag_reason": None,
        "source": "synthetic", "source_file": "synthetic", "source_row": np.arange(n),
    })[READING_COLUMNS]


def per_station_loop(hourly: pd.DataFrame) -> pd.DataFrame:
    """Baseline: one groupby per station column (what a naive implementation does)."""
    day = (hourly.index - pd.Timedelta(hours=1)).tz_convert(TZ).normalize()
    out = {}
    for station in hourly.columns:
        g = hourly[station].groupby(day)
        out[station] = g.mean().where(g.count() >= MIN_HOURS_24H)
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1600)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--baseline-stations", type=int, default=100)
    parser.add_argument("--long-days", type=int, default=31,
                        help="days of long (canonical) readings for the end-to-end figure")
    args = parser.parse_args()

    total_values = 0
    elapsed = 0.0
    for seed, parameter in enumerate((*DAILY_MEAN_POLLUTANTS, "o3")):
        hourly = synthetic_hourly(args.stations, args.days, seed)
        t0 = time.perf_counter()
        statistic = daily_max_8h_mean if parameter == "o3" else daily_mean
        stat = statistic(hourly, TZ)
        dt = time.perf_counter() - t0
        elapsed += dt
        total_values += hourly.size
        valid = (stat.reason == "valid").to_numpy().mean()
        print(f"{parameter:5s} {hourly.size:>11,d} hourly values -> {stat.value.shape[0]} days x "
              f"{stat.value.shape[1]} stations in {dt:6.2f} s ({hourly.size / dt / 1e6:6.1f} M/s), "
              f"{valid:.1%} valid days")

    hourly = synthetic_hourly(args.stations, args.days, 99)
    t0 = time.perf_counter()
    rolling_24h_mean(hourly)
    dt_rolling = time.perf_counter() - t0
    print(f"rolling 24-h mean pm25: {hourly.size / dt_rolling / 1e6:6.1f} M values/s")

    print(f"TOTAL daily statistics: {total_values:,d} hourly values in {elapsed:.2f} s = "
          f"{total_values / elapsed / 1e6:.1f} M values/s")

    readings = long_readings(synthetic_hourly(args.stations, args.long_days, 7), "pm25")
    t0 = time.perf_counter()
    daily_statistics(readings, TZ)
    dt_long = time.perf_counter() - t0
    print(f"end to end from {len(readings):,d} long readings (pivot + daily statistics): "
          f"{dt_long:.2f} s = {len(readings) / dt_long / 1e6:.1f} M readings/s")

    subset = hourly.iloc[:, : args.baseline_stations]
    t0 = time.perf_counter()
    per_station_loop(subset)
    dt_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    daily_mean(subset, TZ)
    dt_vec = time.perf_counter() - t0
    print(f"baseline per-station loop on {subset.shape[1]} stations: {dt_loop:.2f} s "
          f"({subset.size / dt_loop / 1e6:.1f} M values/s); vectorized on the same: "
          f"{dt_vec:.2f} s; speed-up x{dt_loop / dt_vec:.1f}")


if __name__ == "__main__":
    main()
