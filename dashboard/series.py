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
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, dcc, html
from plotly.subplots import make_subplots

from dashboard.context import DashboardContext
from dashboard.queries import member_stations, water_classes
from monitor.aqi import AIR_POLLUTANTS, city_aqi, daily_aqi, group_aqi, realtime_aqi
from monitor.forecast import INTERVALS
from monitor.forecast_cache import ModelCache
from monitor.forecast_run import forecast_city, origin_of
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


def _aqi_traces(fig: go.Figure, readings: pd.DataFrame, selected: pd.DataFrame, city: str | None,
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
    fig.add_trace(go.Scatter(x=hourly["time"], y=hourly["aqi"], name="hourly AQI",
                             mode="lines", line={"color": "#555555"}), row=2, col=1)
    fig.add_trace(go.Scatter(x=daily["time"], y=daily["aqi"], name="daily AQI (day end)",
                             mode="markers+lines", line={"shape": "hv", "color": "#7E0023"}),
                  row=2, col=1)


def _water_traces(fig: go.Figure, ctx: DashboardContext, readings: pd.DataFrame,
                  selected: pd.DataFrame) -> None:
    classes = water_classes(ctx, readings, selected)
    fig.add_trace(go.Scatter(x=classes["time"], y=classes["water_class"], name="water class",
                             mode="markers+lines", line={"shape": "hv"}), row=2, col=1)
    fig.add_trace(go.Scatter(x=classes["time"], y=classes["target_class"], name="target class",
                             mode="lines", line={"dash": "dash", "color": "#E00000"}),
                  row=2, col=1)
    fig.update_yaxes(title_text="class (6 = worse than V)", autorange="reversed",
                     row=2, col=1)


def _forecast_traces(fig: go.Figure, ctx: DashboardContext, region: str, city: str,
                     issue_time: pd.Timestamp, tz: str) -> None:
    """Daily AQI forecast of ``city`` issued at ``issue_time`` with its central intervals
    (:func:`monitor.forecast_run.forecast_city`, the run behind ``jointwatch forecast``)."""
    forecast = forecast_city(ctx.store, ModelCache(ctx.store.data_dir), ctx.store.stations(),
                             region, city, tz, origin_of(issue_time, tz), ctx.forecast)
    if not forecast.ok:
        fig.add_annotation(text=f"forecast: {forecast.reason}", xref="x2 domain",
                           yref="y2 domain", x=0.01, y=0.02, showarrow=False,
                           font={"color": "#666666"})
        return
    days = forecast.aqi
    day_end = (pd.DatetimeIndex(days["day"]) + pd.Timedelta(days=1)).tz_localize(tz)
    for level in sorted(INTERVALS, reverse=True):
        fig.add_trace(go.Scatter(
            x=[*day_end, *day_end[::-1]],
            y=[*days[f"aqi_hi{level}"], *days[f"aqi_lo{level}"][::-1]],
            fill="toself", mode="lines", line={"width": 0}, name=f"forecast {level} % interval",
            fillcolor="rgba(30,111,217,0.15)" if level == 95 else "rgba(30,111,217,0.3)"),
            row=2, col=1)
    fig.add_trace(go.Scatter(x=day_end, y=days["aqi"], mode="markers+lines",
                             name=f"forecast daily AQI ({forecast.mode})",
                             line={"color": "#1E6FD9", "dash": "dash"}), row=2, col=1)


def figure(ctx: DashboardContext, target: str, parameter: str, days: int) -> go.Figure:
    """The two-row series figure of ``target`` (``city:NAME`` or ``station:ID``)."""
    selected = _selection(ctx, target)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    if selected.empty:
        return fig.update_layout(title=f"no readings for {target}")
    end = selected["latest"].max()
    start = end - pd.Timedelta(days=days)
    readings = ctx.store.readings(stations=selected["station_id"].tolist(), start=start, end=end)
    unit = PARAMETERS[parameter].unit
    names = selected.set_index("station_id")["name"]
    observed = readings[(readings["parameter"] == parameter) & (readings["period"] == "1h")]
    for station_id, rows in observed.groupby("station_id"):
        fig.add_trace(go.Scatter(x=rows["time"], y=rows["value"], mode="lines",
                                 name=f"{names.get(station_id, station_id)} {parameter}"),
                      row=1, col=1)
    fig.update_yaxes(title_text=f"{parameter} ({unit})", row=1, col=1)
    region = str(selected["region"].iloc[0])
    city = target.removeprefix(_CITY) if target.startswith(_CITY) else None
    if (selected["medium"] == Medium.WATER).all():
        _water_traces(fig, ctx, readings, selected)
    else:
        tz = ctx.config.regions[region].timezone
        _aqi_traces(fig, readings, selected, city, tz)
        if city is not None:
            _forecast_traces(fig, ctx, region, city, end, tz)
        rule_set = rule_set_for(region, end.tz_convert(tz).date(), ctx.warning_rules)
        for value, grades in thresholds(rule_set).items():
            colour = Grade[grades[0].upper()].colour
            fig.add_hline(y=value, line={"dash": "dot", "color": colour}, row=2, col=1,
                          annotation_text=f"{'/'.join(grades)} > {value:g} ({rule_set.id})",
                          annotation_position="top left")
        fig.update_yaxes(title_text="AQI", row=2, col=1)
    title = f"{target.split(':', 1)[1]}: {days} d to {end:%Y-%m-%d %H:%M} UTC"
    return fig.update_layout(margin={"l": 60, "r": 10, "t": 30, "b": 30}, title=title,
                             legend={"orientation": "h"})


def register(app: dash.Dash, ctx: DashboardContext) -> None:
    """Redraw the series when the selection changes or the page refreshes."""

    @app.callback(Output("series-graph", "figure"), Input("series-target", "value"),
                  Input("series-parameter", "value"), Input("series-days", "value"),
                  Input("refresh", "n_intervals"))
    def redraw(target: str | None, parameter: str, days: int, _ticks: int) -> Any:
        if not target:
            return go.Figure()
        return figure(ctx, target, parameter, int(days))
