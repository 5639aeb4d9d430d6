"""Map of the stations, coloured by current AQI category (air) or water class (water).

Plotly ``Scattermap`` on the blank ``white-bg`` style with no layers: no tile server, no
token and no CDN, so the map works offline.  Region outlines are not drawn (the project
has no honestly sourced outline file); the stations themselves show the regions' shape.
"""

from __future__ import annotations

from typing import Any

import dash
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from dashboard.context import REFRESH, DashboardContext
from dashboard.queries import NO_VALUE_COLOUR, station_status
from monitor.aqi import category
from monitor.water import CLASS_COLOURS, CLASS_NAMES

#: Marker size per medium.
MARKER_SIZE = {"air": 9, "water": 12}
#: Height of the map in pixels, and the width it gets on a 1,400-pixel page (for the zoom).
MAP_PIXELS = (560, 700)


def layout() -> html.Section:
    """The map section."""
    return html.Section([
        html.H2("Stations"),
        dcc.Graph(id="station-map", style={"height": f"{MAP_PIXELS[1]}px"},
                  config={"displaylogo": False}),
        html.Div(id="map-note", className="note"),
        key(),
    ], id="map")


def _chip(colour: str, text: str) -> html.Span:
    return html.Span([html.Span(style={"display": "inline-block", "width": "12px",
                                       "height": "12px", "backgroundColor": colour,
                                       "marginRight": "4px"}), text],
                     style={"marginRight": "10px", "whiteSpace": "nowrap"})


def key() -> html.Div:
    """Colour key: AQI categories (HJ 633 Table 2) and water classes (:mod:`monitor.water`)."""
    air = [_chip(c.hex_colour, f"{c.name_zh} {c.index_lo}-{c.index_hi}")
           for c in (category(level) for level in range(1, 7))]
    water = [_chip(CLASS_COLOURS[code], name) for code, name in CLASS_NAMES.items()]
    return html.Div([html.Div(["AQI: ", *air]), html.Div(["Water class: ", *water]),
                     html.Div([_chip(NO_VALUE_COLOUR, "no current value")])],
                    style={"fontSize": "smaller", "lineHeight": "1.8"})


def view(placed: pd.DataFrame) -> dict[str, Any]:
    """Centre and zoom fitting every placed station into the graph (web Mercator: the world
    is 512 * 2**zoom pixels wide; latitude degrees stretched ~1.3x at these latitudes)."""
    if placed.empty:
        return {"center": {"lon": 116.4, "lat": 39.9}, "zoom": 5}
    lon, lat = placed["lon"], placed["lat"]
    lon_span = max(float(lon.max() - lon.min()), 0.05)
    lat_span = max(1.3 * float(lat.max() - lat.min()), 0.05)
    width, height = MAP_PIXELS
    zoom = min(np.log2(360 * width / (512 * lon_span)), np.log2(360 * height / (512 * lat_span)))
    zoom = float(np.clip(zoom - 0.3, 1.0, 12.0))
    return {"center": {"lon": float(lon.min() + lon.max()) / 2,
                       "lat": float(lat.min() + lat.max()) / 2}, "zoom": zoom}


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
    fig.update_layout(map={"style": "white-bg", **view(placed), "layers": []},
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
                  Input(REFRESH, "n_intervals"))
    def refresh(_ticks: int) -> tuple[Any, ...]:
        return ctx.cached("map", (), lambda: figure(ctx))
