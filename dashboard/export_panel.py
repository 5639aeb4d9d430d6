"""Export panel: regions, stations, parameters and a time range → CSV / Parquet / NetCDF.

The file is written by :func:`monitor.export.export` (the function behind
``jointwatch export``) into a temporary folder and sent to the browser with
``dcc.Download``.  A bad or empty selection is reported in the panel, nothing is sent.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard.context import DashboardContext
from dashboard.queries import member_stations
from monitor.export import Selection, export
from monitor.schema import PARAMETERS

#: Formats offered for download and their file suffix.
DOWNLOAD_FORMATS: dict[str, str] = {"csv": ".csv", "parquet": ".parquet", "netcdf": ".nc"}


def layout(ctx: DashboardContext) -> html.Section:
    """The export section with its selectors."""
    stations = member_stations(ctx)
    row = {"display": "flex", "gap": "8px", "alignItems": "center", "flexWrap": "wrap"}
    return html.Section([
        html.H2("Export"),
        html.Div([
            dcc.Dropdown(id="export-regions", multi=True, placeholder="all regions",
                         options=[{"label": r.name, "value": r.id}
                                  for r in ctx.config.regions.values()],
                         style={"minWidth": "220px"}),
            dcc.Dropdown(id="export-stations", multi=True, placeholder="all stations",
                         options=[{"label": f"{s.name} {s.station_id}", "value": s.station_id}
                                  for s in stations.itertuples(index=False)],
                         style={"minWidth": "260px"}),
            dcc.Dropdown(id="export-parameters", multi=True, placeholder="all parameters",
                         options=list(PARAMETERS), style={"minWidth": "220px"}),
        ], style=row),
        html.Div([
            dcc.Input(id="export-start", placeholder="from (ISO 8601, UTC)", debounce=True),
            dcc.Input(id="export-end", placeholder="until (ISO 8601, UTC)", debounce=True),
            dcc.RadioItems(id="export-format", value="csv", inline=True,
                           options=[{"label": f, "value": f} for f in DOWNLOAD_FORMATS]),
            html.Button("Download", id="export-button", n_clicks=0),
        ], style={**row, "marginTop": "8px"}),
        html.Div(id="export-status", role="status"),
        dcc.Download(id="export-download"),
    ], id="export")


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values else None


def export_file(ctx: DashboardContext, selection: Selection, fmt: str
                ) -> tuple[dict[str, Any], str]:
    """Export ``selection`` as ``fmt``: the ``dcc.Download`` payload and a summary line."""
    with tempfile.TemporaryDirectory(prefix="jointwatch-export-") as folder:
        out = Path(folder) / f"jointwatch-export{DOWNLOAD_FORMATS[fmt]}"
        result = export(ctx.store, selection, fmt, out)
        payload = dcc.send_bytes(out.read_bytes(), out.name)
    summary = (f"{result.readings} readings of {result.stations} stations "
               f"({', '.join(result.parameters)}) as {fmt}")
    return payload, summary


def register(app: dash.Dash, ctx: DashboardContext) -> None:
    """Export on the Download click."""

    @app.callback(Output("export-download", "data"), Output("export-status", "children"),
                  Input("export-button", "n_clicks"), State("export-regions", "value"),
                  State("export-stations", "value"), State("export-parameters", "value"),
                  State("export-start", "value"), State("export-end", "value"),
                  State("export-format", "value"), prevent_initial_call=True)
    def download(_clicks: int, regions: list[str] | None, stations: list[str] | None,
                 parameters: list[str] | None, start: str | None, end: str | None,
                 fmt: str) -> tuple[Any, str]:
        try:
            selection = Selection(regions=_tuple(regions), stations=_tuple(stations),
                                  parameters=_tuple(parameters), start=start or None,
                                  end=end or None)
            payload, summary = export_file(ctx, selection, fmt)
        except (ValueError, OSError) as exc:
            return dash.no_update, f"export refused: {exc}"
        return payload, f"exported {summary}"
