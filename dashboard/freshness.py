"""Data freshness: the latest reading per feed and region; stale feeds flagged.

The same table as ``jointwatch status`` (:func:`ingest.pipeline.feed_status`): a feed and
region is stale when its latest reading is older than the feed's ``expected_interval``.
"""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output, dash_table, html

from alerts.wording import local_time
from dashboard.context import REFRESH, DashboardContext
from dashboard.queries import freshness

STALE_STYLE = {"backgroundColor": "#FFE0E0", "color": "#900000"}


def layout() -> html.Section:
    """The freshness section."""
    return html.Section([
        html.H2("Data freshness"),
        dash_table.DataTable(
            id="freshness-table",
            columns=[{"name": n, "id": i} for n, i in (
                ("Feed", "feed"), ("Region", "region"), ("Latest reading", "latest"),
                ("Stations", "stations"), ("Age (h)", "age_hours"), ("State", "state"))],
            style_data_conditional=[{"if": {"filter_query": '{state} = "STALE"'},
                                     **STALE_STYLE}],
            style_cell={"fontFamily": "sans-serif", "padding": "4px"},
        ),
    ], id="freshness")


def table_rows(ctx: DashboardContext, now: pd.Timestamp) -> list[dict[str, Any]]:
    """One row per feed and region, latest time in the alert time zone."""
    tz = ctx.alerts.schedule.timezone
    frame = freshness(ctx, now)
    return [{"feed": row.feed, "region": row.region or "-",
             "latest": local_time(row.latest, tz) if pd.notna(row.latest) else "never",
             "stations": None if pd.isna(row.stations) else int(row.stations),
             "age_hours": None if pd.isna(row.age_hours) else float(row.age_hours),
             "state": "STALE" if row.stale else "ok"}
            for row in frame.itertuples(index=False)]


def register(app: dash.Dash, ctx: DashboardContext) -> None:
    """Refresh the table on every tick."""

    @app.callback(Output("freshness-table", "data"), Input(REFRESH, "n_intervals"))
    def refresh(_ticks: int) -> list[dict[str, Any]]:
        return table_rows(ctx, pd.Timestamp.now(tz="UTC"))
