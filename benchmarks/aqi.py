"""Benchmark: real-time (hourly) AQI for one year x 1,600 stations (synthetic values).

Scores the six pollutants' 1-h values of every station-hour with ``monitor.aqi.
realtime_aqi`` on a station x time xarray Dataset, month by month (bounded memory), and
prints throughput in station-hours per second.  The year straddles the HJ 633-2012 ->
HJ 633-2026 cutover (2026-03-01), so both tables are used.  Then the daily AQI of the
same stations from valid daily statistics (``monitor.statistics``: 24-h means and the O3
daily maximum 8-h mean, which its own benchmark times) for one month.

As a baseline in the same run it scores a sample of station-hours one value at a time
(one ``iaqi`` call per pollutant per station-hour, what a per-value loop costs) and
extrapolates.

Run: ``.venv/bin/python benchmarks/aqi.py [--stations N] [--days N]``
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import pandas as pd
import xarray as xr

from monitor.aqi import daily_aqi, iaqi, realtime_aqi
from monitor.statistics import daily_max_8h_mean, daily_mean

TZ = "Asia/Shanghai"
#: Typical 1-h levels (µg/m³, CO mg/m³) the log-normal synthetic values scatter around.
LEVELS = {"so2": 10.0, "no2": 30.0, "pm10": 70.0, "co": 0.8, "o3": 60.0, "pm25": 45.0}


def synthetic_hours(stations: int, start: pd.Timestamp, hours: int, seed: int) -> xr.Dataset:
    """Log-normal 1-h values with 3 % missing, UTC hour-end times, station x time."""
    rng = np.random.default_rng(seed)
    times = pd.date_range(start, periods=hours, freq="h")
    data = {}
    for pollutant, level in LEVELS.items():
        values = rng.lognormal(0.0, 0.7, (stations, hours)) * level
        values[rng.random(values.shape) < 0.03] = np.nan
        data[pollutant] = (("station", "time"), values)
    names = [f"cn:{i:04d}A" for i in range(stations)]
    return xr.Dataset(data, coords={"station": names, "time": times.tz_convert(None)})


def per_value_loop(ds: xr.Dataset) -> int:
    """Baseline: one ``iaqi`` call per pollutant per station-hour; returns values scored."""
    scored = 0
    times = pd.DatetimeIndex(ds["time"].values).tz_localize("UTC") - pd.Timedelta(hours=1)
    for s in range(ds.sizes["station"]):
        for t, start in enumerate(times):
            for pollutant in LEVELS:
                iaqi(pollutant, float(ds[pollutant].values[s, t]), period="1h", at=start)
                scored += 1
    return scored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1600)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--baseline-station-hours", type=int, default=200)
    args = parser.parse_args()

    # the hour ending 2025-09-01 01:00 Beijing ... one year: crosses 2026-03-01
    first = pd.Timestamp("2025-08-31T17:00Z")
    months = pd.date_range(first, first + pd.Timedelta(days=args.days), freq="MS", tz="UTC")
    bounds = [first, *months[months > first], first + pd.Timedelta(days=args.days)]
    total, elapsed, standards = 0, 0.0, {}
    for seed, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        hours = int((hi - lo) / pd.Timedelta(hours=1))
        ds = synthetic_hours(args.stations, lo, hours, seed)
        t0 = time.perf_counter()
        result = realtime_aqi(ds)
        dt = time.perf_counter() - t0
        elapsed += dt
        n = args.stations * hours
        total += n
        for name, count in zip(*np.unique(result["standard"].values, return_counts=True),
                               strict=True):
            standards[str(name)] = standards.get(str(name), 0) + int(count)
        print(f"{lo:%Y-%m}: {n:>10,d} station-hours in {dt:6.2f} s "
              f"({n / dt / 1e6:5.2f} M/s), mean AQI {float(result['aqi'].mean()):5.1f}")
    print(f"TOTAL real-time AQI: {total:,d} station-hours ({args.stations} stations x "
          f"{args.days} days, 6 pollutants) in {elapsed:.2f} s = {total / elapsed / 1e6:.2f} M "
          f"station-hours/s; standards used: {standards}")

    month = synthetic_hours(args.stations, pd.Timestamp("2026-03-31T16:00Z"), 30 * 24, 99)
    hourly = {p: month[p].to_pandas().T.set_axis(
        pd.DatetimeIndex(month["time"].values).tz_localize("UTC").rename("time"))
        for p in LEVELS}
    stats = {f"{p}_24h": daily_mean(hourly[p], TZ) for p in LEVELS if p != "o3"}
    stats["o3_8h_max_24h"] = daily_max_8h_mean(hourly["o3"], TZ)
    daily = xr.Dataset({name: stat.to_xarray()["value"] for name, stat in stats.items()})
    t0 = time.perf_counter()
    result = daily_aqi(daily)
    dt = time.perf_counter() - t0
    n = int(result["aqi"].size)
    print(f"daily AQI from valid daily statistics: {n:,d} station-days in {dt:.2f} s "
          f"({n / dt / 1e6:.2f} M/s), {float(result['aqi'].notnull().mean()):.1%} with an AQI")

    sample = synthetic_hours(1, first, args.baseline_station_hours, 7)
    t0 = time.perf_counter()
    values = per_value_loop(sample)
    dt_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    realtime_aqi(sample)
    dt_vec = time.perf_counter() - t0
    loop_rate = args.baseline_station_hours / dt_loop
    print(f"baseline per-value loop: {values} iaqi calls for {args.baseline_station_hours} "
          f"station-hours in {dt_loop:.2f} s = {loop_rate:,.0f} station-hours/s; the year "
          f"would take {total / loop_rate / 3600:.1f} h; vectorized on the same sample: "
          f"{dt_vec:.3f} s; vectorized year x{total / elapsed / loop_rate:,.0f} faster")


if __name__ == "__main__":
    main()
