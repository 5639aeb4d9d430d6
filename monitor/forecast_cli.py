"""``jointwatch forecast``, ``decide`` and ``backtest`` (wired in :mod:`monitor.cli`)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import pandas as pd

from monitor.backtest import rolling_origin
from monitor.config import AppConfig, ConfigError, data_dir
from monitor.forecast import PERFECT_PROGNOSIS, RECENT_DAYS, SeriesForecast
from monitor.forecast_config import ForecastConfig, load_forecast_config
from monitor.forecast_inputs import daily_pollutants, daily_weather
from monitor.forecast_models import AQI_POLLUTANTS
from monitor.forecast_run import AreaForecast, area_members, city_stations, forecast_area
from monitor.rules_config import RuleSet, load_warning_rules
from monitor.store import Store
from monitor.store_config import open_store
from monitor.verification import METHODS, grade_scores, verification_table
from monitor.warning_grades import rule_set_for


def _issue_time(text: str | None, tz: str) -> pd.Timestamp:
    if text is None:
        return pd.Timestamp.now(tz="UTC").floor("s")
    stamp = pd.Timestamp(text)
    return (stamp.tz_localize(tz) if stamp.tzinfo is None else stamp).tz_convert("UTC")


def _clean(value: Any) -> Any:
    """JSON-safe: NaN -> None, recursively."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _forecast_dict(forecast: SeriesForecast) -> dict[str, Any]:
    if not forecast.ok:
        return {"status": forecast.status, "reason": forecast.reason}
    conc = forecast.concentrations.assign(day=forecast.concentrations["day"].dt.strftime("%F"))
    days = forecast.aqi.assign(day=forecast.aqi["day"].dt.strftime("%F"))
    return {"status": forecast.status, "mode": forecast.mode,
            f"missing_days_in_last_{RECENT_DAYS}": forecast.recent_missing,
            "days": days.round(4).to_dict(orient="records"),
            "concentrations": conc.round(4).to_dict(orient="records")}


def _day_table(forecast: SeriesForecast) -> str:
    """Text table of a forecast: AQI with intervals and probabilities, PM2.5, primary."""
    table = forecast.aqi.assign(day=forecast.aqi["day"].dt.strftime("%F"))
    table["aqi 80%"] = [f"{lo:.0f}-{hi:.0f}" for lo, hi in
                        zip(table["aqi_lo80"], table["aqi_hi80"], strict=True)]
    table["aqi 95%"] = [f"{lo:.0f}-{hi:.0f}" for lo, hi in
                        zip(table["aqi_lo95"], table["aqi_hi95"], strict=True)]
    pm25 = forecast.concentrations.query("pollutant == 'pm25'")
    table["pm25 [80%]"] = [f"{p:.0f} [{lo:.0f}-{hi:.0f}]" for p, lo, hi in
                           zip(pm25["point"], pm25["lo80"], pm25["hi80"], strict=True)]
    columns = ["day", "horizon", "aqi", "aqi 80%", "aqi 95%", "primary", "pm25 [80%]",
               "p_gt_150", "p_gt_200", "p_gt_300"]
    return table[columns].to_string(index=False, float_format=lambda v: f"{v:.2f}")


def _print_area(result: AreaForecast) -> None:
    print(f"issue time {result.issue_time.isoformat()}  first forecast day "
          f"{result.origin.date()}  area {result.area}")
    for (region, city), forecast in result.forecasts.items():
        if not forecast.ok:
            print(f"\n{region}/{city}: {forecast.status} ({forecast.reason})")
            continue
        own = result.decision.own_levels[region][city].label
        print(f"\n{region}/{city} ({forecast.mode}) own grade: {own}")
        print(_day_table(forecast))
    for station, forecast in result.stations.items():
        if forecast.ok:
            print(f"\nstation {station} ({forecast.mode})")
            print(_day_table(forecast))
    without = [sid for sid, forecast in result.stations.items() if not forecast.ok]
    if without:
        print(f"\nstations without a forecast (insufficient data): {', '.join(without)}")
    d = result.decision
    print(f"\nREGIONAL DECISION: {d.level.label.upper()} for {', '.join(d.regions)} "
          f"from {d.effective_start.isoformat()} (rule {d.rule})")
    print(f"  why: {d.why}")
    for region, cities in d.city_levels.items():
        levels = ", ".join(f"{c} {g.label}" for c, g in cities.items())
        print(f"  {region}: {levels}")


def _run_area(args: argparse.Namespace, config: AppConfig) -> AreaForecast | int:
    try:
        fconfig = load_forecast_config(config)
        target = args.region or fconfig.decision.default_area
        if target is None:
            raise ValueError("no --region given and no [decision] default_area in forecast.toml")
        _, tz = area_members(config, fconfig, target)
        return forecast_area(config, open_store(config, data_dir(args.data_dir)), target,
                             _issue_time(args.issue_time, tz), fconfig,
                             with_stations=args.stations)
    except (ConfigError, ValueError) as exc:
        print(f"jointwatch {args.command}: {exc}", file=sys.stderr)
        return 1


def cli_forecast(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch forecast --region R [--issue-time T] [--json]``."""
    result = _run_area(args, config)
    if isinstance(result, int):
        return result
    if args.json:
        cities: dict[str, dict[str, Any]] = {}
        for (region, city), forecast in result.forecasts.items():
            cities.setdefault(region, {})[city] = _forecast_dict(forecast)
        stations = {sid: _forecast_dict(f) for sid, f in result.stations.items()}
        print(json.dumps(_clean({"issue_time": result.issue_time.isoformat(),
                                 "first_day": result.origin.date().isoformat(),
                                 "cities": cities, "stations": stations,
                                 "decision": result.decision.to_dict()}),
                         ensure_ascii=False))
    else:
        _print_area(result)
    return 0


def cli_decide(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch decide --region R [--issue-time T] [--json]``: the decision only."""
    result = _run_area(args, config)
    if isinstance(result, int):
        return result
    d = result.decision
    if args.json:
        print(json.dumps(_clean(d.to_dict()), ensure_ascii=False))
    else:
        print(f"{d.level.label} for {', '.join(d.regions)} from {d.effective_start.isoformat()}"
              f" ({d.rule}): {d.why}")
    return 0


def _city_daily(store: Store, config: AppConfig, region: str, city: str, start: pd.Timestamp,
                end: pd.Timestamp, fconfig: ForecastConfig
                ) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    tz = config.regions[region].timezone
    ids = city_stations(store.stations(), region, city)
    if not ids:
        raise ValueError(f"no stations of {city} ({region}) in the store; run ingest first")
    first = start - pd.Timedelta(days=fconfig.forecast.history_days)
    last = end + pd.Timedelta(days=fconfig.forecast.horizon_days + 1)
    readings = store.readings(stations=ids, periods="1h",
                              start=first.tz_localize(tz).tz_convert("UTC"),
                              end=last.tz_localize(tz).tz_convert("UTC"))
    return daily_pollutants(readings, tz), daily_weather(readings, tz), tz


def backtest_report(cases: pd.DataFrame, mode: str, series: str, rule_set_of: Any,
                    grading: dict[str, Any]) -> dict[str, Any]:
    """The ``--json`` document of a backtest."""
    return _clean({"mode": mode, "series": series, "grading": grading,
                   "origins": [str(cases["origin"].min().date()),
                               str(cases["origin"].max().date())],
                   "origins_without_forecast": cases.loc[cases["status"] != "ok"]
                   .groupby("status")["origin"].nunique().to_dict(),
                   "horizons": verification_table(cases),
                   "grades": grade_scores(cases, rule_set_of)})


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _print_backtest(report: dict[str, Any]) -> None:
    print(f"backtest {report['series']}  mode {report['mode']}  origins "
          f"{report['origins'][0]} .. {report['origins'][1]}"
          + ("  (perfect prognosis: observed weather, an upper bound, not operational skill)"
             if report["mode"] == PERFECT_PROGNOSIS else ""))
    rows = []
    for horizon, methods in report["horizons"].items():
        for method in METHODS:
            s = methods[method]
            rows.append({"day": horizon, "method": method, "n": s["n"],
                         "pm25 MAE": s["pm25_mae"], "pm25 RMSE": s["pm25_rmse"],
                         "pm25 bias": s["pm25_bias"], "AQI RMSE": s["aqi_rmse"],
                         "cat acc": s["category_accuracy"],
                         **{f"CSI>{t}": s[f"aqi_gt_{t}"]["csi"] for t in (150, 200, 300)},
                         "POD>200": s["aqi_gt_200"]["pod"], "FAR>200": s["aqi_gt_200"]["far"],
                         "RMSE/pers": s.get("pm25_rmse_ratio_persistence"),
                         "RMSE/clim": s.get("pm25_rmse_ratio_climatology"),
                         "cov80": s.get("pm25_coverage_80"), "cov95": s.get("pm25_coverage_95")})
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}",
                                       na_rep=""))
    print("\nwarning grades (forecast days 1-4 vs the grade the observations justified):")
    for method, s in report["grades"].items():
        if not s["n"]:
            print(f"  {method:12s} n=0")
            continue
        w = s["warning"]
        scores = ", ".join(f"{k} {_fmt(w[k])}" for k in ("pod", "far", "csi"))
        print(f"  {method:12s} n={s['n']} accuracy {_fmt(s['accuracy'])} too high "
              f"{s['too_high']} too low {s['too_low']}; warning at all: {scores}")


def cli_backtest(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch backtest --region R [--city C] --start D --end D [--mode M] [--json]``."""
    try:
        fconfig = load_forecast_config(config)
        if args.region not in config.regions:
            raise ValueError(f"unknown region {args.region!r}; regions: "
                             f"{', '.join(sorted(config.regions))}")
        city = args.city or config.regions[args.region].cities[0]
        if args.model:
            if args.model not in fconfig.models:
                raise ValueError(f"no [models.{args.model}] in forecast.toml")
            key = "with_weather_model" if args.mode == PERFECT_PROGNOSIS else \
                "history_only_model"
            fconfig = fconfig.model_copy(update={"forecast": fconfig.forecast.model_copy(
                update={key: args.model})})
        if args.grading:
            fconfig = fconfig.model_copy(update={"grading": fconfig.grading.model_copy(
                update={"basis": args.grading})})
        start, end = pd.Timestamp(args.start), pd.Timestamp(args.end)
        store = open_store(config, data_dir(args.data_dir))
        daily, weather, tz = _city_daily(store, config, args.region, city, start, end, fconfig)
        rules = load_warning_rules(config.config_dir)
        if args.rule_set and args.rule_set not in rules.rule_sets:
            raise ValueError(f"no rule set {args.rule_set!r} in warning.toml; configured: "
                             f"{', '.join(sorted(rules.rule_sets))}")
        if args.mode == PERFECT_PROGNOSIS and weather.empty:
            raise ValueError(f"perfect-prognosis needs observed weather readings of {city}; "
                             "the store has none")
    except (ConfigError, ValueError) as exc:
        print(f"jointwatch backtest: {exc}", file=sys.stderr)
        return 1

    def rule_set_of(origin: pd.Timestamp) -> RuleSet | None:
        if args.rule_set:
            return rules.rule_sets[args.rule_set]
        try:
            return rule_set_for(args.region, origin.date(), rules)
        except ValueError:
            return None

    try:
        cases = rolling_origin(f"{args.region}/{city}", daily[list(AQI_POLLUTANTS)],
                               pd.date_range(start, end, freq="D"), fconfig, tz=tz,
                               mode=args.mode, weather=weather)
    except ValueError as exc:
        print(f"jointwatch backtest: {exc}", file=sys.stderr)
        return 1
    report = backtest_report(cases, args.mode, f"{args.region}/{city}", rule_set_of,
                             fconfig.grading.model_dump())
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        _print_backtest(report)
    return 0
