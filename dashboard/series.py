"""Series: a city or station and a parameter → observed values, hourly and daily AQI.

Observed hourly values are drawn per station (a city shows each of its stations).  The
AQI row shows the real-time AQI (:func:`monitor.aqi.realtime_aqi`, or
:func:`monitor.aqi.city_aqi` for a city), the daily AQI of the local days
(:func:`monitor.statistics.daily_statistics` → :func:`monitor.aqi.daily_aqi` /
:func:`monitor.aqi.group_aqi`) and the thresholds of the warning rule set in force for
the region (:func:`monitor.warning_grades.rule_set_for`).  For a water section the lower
row is its GB 3838-2002 class over time against the target class.  The window ends at
the selection's latest reading and spans the chosen number of days.
"""

from __future__ import annotations

from typing import Any

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, dcc, html

from dashboard.context import REFRESH, DashboardContext
from dashboard.queries import member_stations, water_classes
from monitor.aqi import AIR_POLLUTANTS, city_aqi, daily_aqi, group_aqi, realtime_aqi
from monitor.forecast import INTERVALS
from monitor.forecast_cache import ModelCache
from monitor.forecast_run import forecast_series_id, origin_of
from monitor.rules_config import RuleSet
from monitor.schema import PARAMETERS, Medium
from monitor.statistics import daily_statistics
from monitor.warning_grades import Grade, rule_set_for

#: Window lengths offered, in days.
RANGE_DAYS: tuple[int, ...] = (1, 3, 7, 30, 365)
DEFAULT_DAYS = 7
_CITY, _STATION = "city:", "station:"


def options(ctx: DashboardContext) -> list[dict[str, str]]:
    """Dropdown options: every member city, then every station with readings."""
    stations = member_stations(ctx)
    cities = [{"label": f"{city} (city)", "value": f"{_CITY}{city}"}
              for region in ctx.config.regions.values() for city in region.cities
              if city in set(stations["city"].dropna())]
    return cities + [{"label": f"{row.name} {row.station_id} ({row.medium})",
                      "value": f"{_STATION}{row.station_id}"}
                     for row in stations.itertuples(index=False)]


def layout(ctx: DashboardContext) -> html.Section:
    """The series section with its selectors."""
    choices = options(ctx)
    return html.Section([
        html.H2("Series"),
        html.Div([
            dcc.Dropdown(id="series-target", options=choices,  # type: ignore[arg-type]
                         value=choices[0]["value"] if choices else None, clearable=False,
                         style={"minWidth": "320px"}),
            dcc.Dropdown(id="series-parameter", value="pm25", clearable=False,
                         options=[{"label": f"{p} ({PARAMETERS[p].unit})", "value": p}
                                  for p in PARAMETERS if PARAMETERS[p].medium != Medium.WEATHER],
                         style={"minWidth": "180px"}),
            dcc.RadioItems(id="series-days", value=DEFAULT_DAYS, inline=True,
                           options=[{"label": f"{d} d", "value": d} for d in RANGE_DAYS]),
        ], style={"display": "flex", "gap": "12px", "alignItems": "center"}),
        dcc.Graph(id="series-graph", style={"height": "560px"}, config={"displaylogo": False}),
    ], id="series")


def _selection(ctx: DashboardContext, target: str) -> pd.DataFrame:
    stations = member_stations(ctx)
    if target.startswith(_CITY):
        return stations[stations["city"] == target.removeprefix(_CITY)]
    return stations[stations["station_id"] == target.removeprefix(_STATION)]


def thresholds(rule_set: RuleSet) -> dict[float, list[str]]:
    """Distinct AQI thresholds of a warning rule set and the grades using each."""
    found: dict[float, list[str]] = {}
    for rule in rule_set.grades:
        for clause in rule.any_of:
            for condition in clause.all_of:
                value = condition.above if condition.above is not None else condition.reaches
                if value is not None and rule.grade not in found.setdefault(value, []):
                    found[value].append(rule.grade)
    return dict(sorted(found.items()))


Figure = dict[str, Any]
#: Axes of the two rows: observed values above, AQI (or water class) below.
_TOP, _BOTTOM = {"xaxis": "x", "yaxis": "y"}, {"xaxis": "x2", "yaxis": "y2"}


def _times(values: pd.Series | pd.DatetimeIndex) -> list[str]:
    """UTC times as ISO strings for plotly (the axis is labelled UTC)."""
    return list(pd.DatetimeIndex(values).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S"))


def _line(x: pd.Series | pd.DatetimeIndex, y: Any, name: str, **style: Any) -> dict[str, Any]:
    return {"type": "scatter", "x": _times(x), "y": np.asarray(y, dtype=float), "name": name,
            "mode": "lines", **_BOTTOM, **style}


def _empty_figure(title: str) -> Figure:
    return {"data": [], "layout": {
        "title": {"text": title}, "legend": {"orientation": "h"},
        "margin": {"l": 60, "r": 10, "t": 30, "b": 30},
        "xaxis": {"anchor": "y", "domain": [0, 1], "matches": "x2", "showticklabels": False},
        "xaxis2": {"anchor": "y2", "domain": [0, 1]},
        "yaxis": {"anchor": "x", "domain": [0.54, 1]},
        "yaxis2": {"anchor": "x2", "domain": [0, 0.46]},
        "shapes": [], "annotations": []}}


def _aqi_traces(fig: Figure, readings: pd.DataFrame, selected: pd.DataFrame, city: str | None,
                tz: str) -> None:
    air = readings[readings["parameter"].isin(AIR_POLLUTANTS)]
    if air.empty:
        return
    if city is not None:
        hourly = city_aqi(air, selected)
        daily = group_aqi(daily_statistics(air, tz), dict.fromkeys(selected["station_id"], city),
                          report="daily")
    else:
        hourly, daily = realtime_aqi(air), daily_aqi(daily_statistics(air, tz))
    fig["data"] += [
        _line(hourly["time"], hourly["aqi"], "hourly AQI", line={"color": "#555555"}),
        _line(daily["time"], daily["aqi"], "daily AQI (day end)", mode="markers+lines",
              line={"shape": "hv", "color": "#7E0023"}),
    ]


def _water_traces(fig: Figure, ctx: DashboardContext, readings: pd.DataFrame,
                  selected: pd.DataFrame) -> None:
    classes = water_classes(ctx, readings, selected)
    fig["data"] += [
        _line(classes["time"], classes["water_class"], "water class", mode="markers+lines",
              line={"shape": "hv"}),
        _line(classes["time"], classes["target_class"], "target class",
              line={"dash": "dash", "color": "#E00000"}),
    ]
    fig["layout"]["yaxis2"].update(title={"text": "class (6 = worse than V)"},
                                   autorange="reversed")


def _threshold_lines(fig: Figure, rule_set: RuleSet) -> None:
    """Horizontal lines at the rule set's AQI thresholds, in the colour of the lowest grade."""
    for value, grades in thresholds(rule_set).items():
        colour = Grade[grades[0].upper()].colour
        fig["layout"]["shapes"].append({
            "type": "line", "xref": "x2 domain", "x0": 0, "x1": 1, "yref": "y2", "y0": value,
            "y1": value, "line": {"dash": "dot", "color": colour}})
        fig["layout"]["annotations"].append({
            "xref": "x2 domain", "x": 0, "yref": "y2", "y": value, "showarrow": False,
            "xanchor": "left", "yanchor": "bottom",
            "text": f"{'/'.join(grades)} > {value:g} ({rule_set.id})"})


def _forecast_traces(fig: Figure, ctx: DashboardContext, series_id: str,
                     station_ids: list[str], issue_time: pd.Timestamp, tz: str) -> None:
    """Daily AQI forecast of a city or station issued at ``issue_time`` with its central
    intervals (:func:`monitor.forecast_run.forecast_series_id`, the run behind
    ``jointwatch forecast``)."""
    origin = origin_of(issue_time, tz)
    # The run reads only days before the origin, so readings of the origin day arriving
    # hour by hour do not change it: one run per series and origin.
    forecast = ctx.cached("forecast", (series_id, origin), lambda: forecast_series_id(
        ctx.store, ModelCache(ctx.store.data_dir), series_id, station_ids, tz, origin,
        ctx.forecast), per_store_version=False)
    if not forecast.ok:
        fig["layout"]["annotations"].append({
            "text": f"forecast: {forecast.reason}", "xref": "x2 domain", "yref": "y2 domain",
            "x": 0.01, "y": 0.02, "showarrow": False, "xanchor": "left",
            "font": {"color": "#666666"}})
        return
    days = forecast.aqi
    day_end = (pd.DatetimeIndex(days["day"]) + pd.Timedelta(days=1)).tz_localize(tz)
    for level in sorted(INTERVALS, reverse=True):
        fig["data"].append(_line(
            day_end.append(day_end[::-1]),
            np.concatenate([days[f"aqi_hi{level}"], days[f"aqi_lo{level}"][::-1]]),
            f"forecast {level} % interval", fill="toself", line={"width": 0},
            fillcolor="rgba(30,111,217,0.15)" if level == 95 else "rgba(30,111,217,0.3)"))
    fig["data"].append(_line(day_end, days["aqi"], f"forecast daily AQI ({forecast.mode})",
                             mode="markers+lines", line={"color": "#1E6FD9", "dash": "dash"}))


def figure(ctx: DashboardContext, target: str, parameter: str, days: int) -> Figure:
    """The two-row series figure (a plotly figure dict) of ``target`` (``city:NAME`` or
    ``station:ID``)."""
    selected = _selection(ctx, target)
    if selected.empty:
        return _empty_figure(f"no readings for {target}")
    end = selected["latest"].max()
    fig = _empty_figure(f"{target.split(':', 1)[1]}: {days} d to {end:%Y-%m-%d %H:%M} UTC")
    readings = ctx.store.readings(stations=selected["station_id"].tolist(),
                                  start=end - pd.Timedelta(days=days), end=end)
    names = selected.set_index("station_id")["name"]
    observed = readings[(readings["parameter"] == parameter) & (readings["period"] == "1h")]
    for station_id, rows in observed.groupby("station_id"):
        fig["data"].append({**_line(rows["time"], rows["value"],
                                    f"{names.get(station_id, station_id)} {parameter}"), **_TOP})
    fig["layout"]["yaxis"]["title"] = {"text": f"{parameter} ({PARAMETERS[parameter].unit})"}
    region = str(selected["region"].iloc[0])
    if (selected["medium"] == Medium.WATER).all():
        _water_traces(fig, ctx, readings, selected)
        return fig
    tz = ctx.config.regions[region].timezone
    city = target.removeprefix(_CITY) if target.startswith(_CITY) else None
    _aqi_traces(fig, readings, selected, city, tz)
    # a city's series is the mean of its stations (those with readings are all that count)
    series_id = f"{region}/{city}" if city is not None else str(selected["station_id"].iloc[0])
    _forecast_traces(fig, ctx, series_id, selected["station_id"].tolist(), end, tz)
    _threshold_lines(fig, rule_set_for(region, end.tz_convert(tz).date(), ctx.warning_rules))
    fig["layout"]["yaxis2"]["title"] = {"text": "AQI"}
    return fig


def register(app: dash.Dash, ctx: DashboardContext) -> None:
    """Redraw the series when the selection changes or the page refreshes."""

    @app.callback(Output("series-graph", "figure"), Input("series-target", "value"),
                  Input("series-parameter", "value"), Input("series-days", "value"),
                  Input(REFRESH, "n_intervals"))
    def redraw(target: str | None, parameter: str, days: int, _ticks: int) -> Any:
        if not target:
            return _empty_figure("choose a city or station")
        return ctx.cached("series", (target, parameter, int(days)),
                          lambda: figure(ctx, target, parameter, int(days)))
