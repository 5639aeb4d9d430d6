"""Cross-border water sections: class over time against the target, upstream beside downstream.

A section is cross-border when the station table names different upstream and
downstream regions (``config/water_sections.csv``).  For each pair of regions touching a
member region, the sections are shown side by side, with the GB 3838-2002 class of each
reading time (:func:`dashboard.queries.water_classes`, i.e. :mod:`monitor.water`) against
the section's target class.
"""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, dcc, html
from plotly.subplots import make_subplots

from dashboard.context import REFRESH, DashboardContext
from dashboard.queries import member_stations, water_classes
from monitor.schema import Medium
from monitor.water import CLASS_NAMES

#: Days of history shown before each section's latest reading.
HISTORY_DAYS = 30


def layout() -> html.Section:
    """The water-section section."""
    return html.Section([
        html.H2("Cross-border water sections"),
        dcc.Graph(id="water-graph", config={"displaylogo": False}),
    ], id="water")


def cross_border(ctx: DashboardContext) -> pd.DataFrame:
    """Member-region water sections with readings whose upstream and downstream differ."""
    sections = member_stations(ctx, Medium.WATER)
    up, down = sections["upstream_region"], sections["downstream_region"]
    return sections[up.notna() & down.notna() & (up != down)].sort_values(
        ["upstream_region", "downstream_region", "name"]).reset_index(drop=True)


def _region_name(ctx: DashboardContext, region: str) -> str:
    known = ctx.config.regions.get(region)
    return known.name_en or known.name if known else region


def figure(ctx: DashboardContext) -> go.Figure:
    """One subplot per cross-border section: class over time and target class."""
    sections = cross_border(ctx)
    if sections.empty:
        return go.Figure().update_layout(title="no cross-border sections with readings")
    start = sections["latest"].min() - pd.Timedelta(days=HISTORY_DAYS)
    readings = ctx.store.readings(stations=sections["station_id"].tolist(), start=start)
    classes = water_classes(ctx, readings, sections)
    titles = [f"{row.name}: {_region_name(ctx, row.upstream_region)} → "
              f"{_region_name(ctx, row.downstream_region)}"
              for row in sections.itertuples(index=False)]
    columns = 2
    rows = -(-len(sections) // columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=titles, shared_yaxes=True,
                        vertical_spacing=min(0.3 / rows, 0.08))
    for i, row in enumerate(sections.itertuples(index=False)):
        at = {"row": i // columns + 1, "col": i % columns + 1}
        mine = classes[classes["station_id"] == row.station_id]
        fig.add_trace(go.Scatter(x=mine["time"], y=mine["water_class"], mode="markers+lines",
                                 line={"shape": "hv", "color": "#1F8BFF"}, name="class",
                                 showlegend=i == 0), **at)
        if pd.notna(row.target_class):
            fig.add_hline(y=int(row.target_class), line={"dash": "dash", "color": "#E00000"},
                          annotation_text=f"target {CLASS_NAMES[int(row.target_class)]}", **at)
    fig.update_yaxes(range=[6.5, 0.5], tickvals=list(CLASS_NAMES),
                     ticktext=list(CLASS_NAMES.values()))
    fig.update_xaxes(range=[start, sections["latest"].max() + pd.Timedelta(days=1)])
    return fig.update_layout(height=max(260, 220 * rows), margin={"l": 50, "r": 10, "t": 40,
                                                                    "b": 30})


def register(app: dash.Dash, ctx: DashboardContext) -> None:
    """Redraw the sections on every refresh tick."""

    @app.callback(Output("water-graph", "figure"), Input(REFRESH, "n_intervals"))
    def refresh(_ticks: int) -> Any:
        return ctx.cached("water", (), lambda: figure(ctx))
