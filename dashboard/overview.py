"""Regional overview: the unified warning level in force and each member city's state.

The banner shows the level of the issuance in force (:func:`alerts.issuance.in_force`) in
its grade colour (:data:`monitor.warning_grades.GRADE_COLOURS`), with issuance id,
effective and expiry time, and a pending issuance if one awaits confirmation.  The city
table shows each member city's current AQI (:func:`dashboard.queries.city_status`), its
HJ 633 category colour, primary pollutant and the forecast level the latest issuance
recorded for the city.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
from dash import Input, Output, dash_table, html

from alerts.issuance import in_force, pending
from alerts.state import IssuanceRecord, utcnow
from alerts.wording import labels, local_time
from dashboard.context import ALERT_CHANGED, REFRESH, DashboardContext
from dashboard.queries import city_status
from monitor.warning_grades import Grade


def banner_layout() -> html.Div:
    """The level banner (filled by the refresh callback)."""
    return html.Div(id="level-banner", className="banner")


def layout() -> html.Section:
    """The member-city table (filled by the refresh callback)."""
    return html.Section([
        html.H2("Member cities"),
        dash_table.DataTable(
            id="city-table",
            columns=[{"name": n, "id": i} for n, i in (
                ("Region", "region"), ("City", "city"), ("Hour (local)", "time"),
                ("AQI", "aqi"), ("Category", "category_name"),
                ("Primary pollutant", "primary_pollutants"), ("Forecast level", "forecast"))],
            style_cell={"fontFamily": "sans-serif", "padding": "2px 6px", "textAlign": "left"},
        ),
    ], id="overview")


def _level_text(level: Grade) -> str:
    names = labels()["level"][level.label]
    return f"{names['zh']} {names['en']}"


def _latest_issuance(ctx: DashboardContext, now: datetime
                     ) -> tuple[IssuanceRecord | None, IssuanceRecord | None]:
    with ctx.engine.connect() as conn:
        return in_force(conn, now), pending(conn)


def banner(ctx: DashboardContext, now: datetime) -> tuple[list[Any], dict[str, str]]:
    """Children and style of the level banner at ``now``."""
    tz = ctx.alerts.schedule.timezone
    current, waiting = _latest_issuance(ctx, now)
    level = current.level if current else Grade.NONE
    lines: list[Any] = [html.Strong(f"Regional warning level: {_level_text(level)}",
                                    id="level-in-force", **{"data-level": level.label})]
    if current is not None:
        lines.append(html.Div(
            f"issuance {current.id} ({current.kind}) · effective "
            f"{local_time(current.effective_at, tz)} · expires "
            f"{local_time(current.expires_at, tz)} ({tz}) · regions "
            f"{', '.join(current.regions)}", id="level-issuance"))
    if waiting is not None:
        lines.append(html.Div(f"awaiting confirmation: {waiting.id} "
                              f"({_level_text(waiting.level)}, {waiting.kind})",
                              id="level-pending"))
    text_colour = "#000000" if level in (Grade.NONE, Grade.YELLOW) else "#FFFFFF"
    return lines, {"backgroundColor": level.colour, "color": text_colour, "padding": "12px",
                   "borderRadius": "4px"}


def _forecast_levels(ctx: DashboardContext, now: datetime) -> dict[str, str]:
    """City -> level recorded by the pending issuance, else by the one in force."""
    current, waiting = _latest_issuance(ctx, now)
    chosen = waiting or current
    if chosen is None:
        return {}
    return {city: level for cities in chosen.city_levels.values() for city, level in cities.items()}


def city_rows(ctx: DashboardContext, now: datetime) -> tuple[list[dict[str, Any]],
                                                             list[dict[str, Any]]]:
    """Rows of the city table and the conditional styles colouring each AQI cell."""
    cities = ctx.cached("cities", (), lambda: city_status(ctx))
    forecast = _forecast_levels(ctx, now)
    tz = ctx.alerts.schedule.timezone
    rows, styles = [], []
    for i, row in enumerate(cities.itertuples(index=False)):
        has_aqi = row.aqi == row.aqi  # not NaN
        rows.append({
            "region": ctx.config.regions[row.region].name, "city": row.city,
            "time": local_time(row.time, tz) if has_aqi else "-",
            "aqi": int(row.aqi) if has_aqi else "-",
            "category_name": row.category_name if has_aqi else "no data",
            "primary_pollutants": (row.primary_pollutants
                                   if isinstance(row.primary_pollutants, str) else "-"),
            "forecast": forecast.get(row.city, "-"),
        })
        styles.append({"if": {"row_index": i, "column_id": ["aqi", "category_name"]},
                       "backgroundColor": row.colour})
    return rows, styles


def register(app: dash.Dash, ctx: DashboardContext) -> None:
    """Refresh the banner and the city table on every tick of the page's interval."""

    @app.callback(Output("level-banner", "children"), Output("level-banner", "style"),
                  Output("city-table", "data"), Output("city-table", "style_data_conditional"),
                  Input(REFRESH, "n_intervals"), Input(ALERT_CHANGED, "data"))
    def refresh(_ticks: int, _changed: Any) -> tuple[Any, ...]:
        now = utcnow()
        children, style = banner(ctx, now)
        rows, styles = city_rows(ctx, now)
        return children, style, rows, styles
