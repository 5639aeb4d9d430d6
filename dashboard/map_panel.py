"""Map of the stations, coloured by current AQI category (air) or water class (water).

Plotly ``Scattermap`` on the blank ``white-bg`` style with no layers: no tile server, no
token and no CDN, so the map works offline.  Region outlines are not drawn (the project
has no honestly sourced outline file); the stations themselves show the regions' shape.
"""

from __future__ import annotations

from typing import Any

import dash
import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from dashboard.context import DashboardContext
from dashboard.queries import station_status

#: Marker size per medium.
MARKER_SIZE = {"air": 9, "water": 12}


def layout() -> html.Section:
    """The map section."""
    return html.Section([
        html.H2("Stations"),
        dcc.Graph(id="station-map", style={"height": "520px"},
                  config={"displaylogo": False}),
        html.Div(id="map-note", className="note"),
    ], id="map")


def figure(ctx: DashboardContext) -> tuple[go.Figure, str]:
    """The station map and a note on stations without coordinates."""
    status = station_status(ctx)
    placed = status.dropna(subset=["lon", "lat"])
    fig = go.Figure()
    for medium, rows in placed.groupby("medium"):
        fig.add_trace(go.Scattermap(
            lon=rows["lon"], lat=rows["lat"], mode="markers", name=str(medium),
            marker={"size": MARKER_SIZE.get(str(medium), 9), "color": rows["colour"].tolist()},
            customdata=rows[["station_id", "name", "city", "label", "detail"]].to_numpy(),
            hovertemplate="<b>%{customdata[1]}</b> (%{customdata[0]})<br>%{customdata[2]}"
                          "<br>%{customdata[3]}<br>%{customdata[4]}<extra></extra>",
        ))
    centre = ({"lon": float(placed["lon"].mean()), "lat": float(placed["lat"].mean())}
              if not placed.empty else {"lon": 116.4, "lat": 39.9})
    fig.update_layout(map={"style": "white-bg", "center": centre, "zoom": 4, "layers": []},
                      margin={"l": 0, "r": 0, "t": 0, "b": 0}, legend={"x": 0, "y": 1},
                      uirevision="station-map")
    unplaced = status[status["lon"].isna() | status["lat"].isna()]
    note = (f"{len(placed)} stations on the map; {len(unplaced)} without coordinates in the "
            f"station table ({', '.join(sorted(unplaced['medium'].unique()))}) are listed in "
            "the other panels only." if len(unplaced) else f"{len(placed)} stations on the map.")
    return fig, note


def register(app: dash.Dash, ctx: DashboardContext) -> None:
    """Redraw the map on every refresh tick."""

    @app.callback(Output("station-map", "figure"), Output("map-note", "children"),
                  Input("refresh", "n_intervals"))
    def refresh(_ticks: int) -> tuple[Any, ...]:
        return figure(ctx)
