"""The shared dashboard: one Dash app for every bureau (``jointwatch dashboard``).

:func:`create_app` builds the app from the validated configuration and a data directory;
every panel reads through the functions the CLI uses (see :mod:`dashboard.queries`).
Dash serves its JavaScript itself (``serve_locally``) and the map has no tiles, so the
page works without internet access.  A ``dcc.Interval`` refreshes the panels' data
without reloading the page.

Production: run the Flask server behind gunicorn, e.g.
``gunicorn -w 2 -b 127.0.0.1:8050 'dashboard.app:server_from_environment()'`` with
``JOINTWATCH_HOME`` (data directory) and the session secret set (see README).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import dash
import flask
from dash import dcc, html

from dashboard import (
    auth,
    export_panel,
    freshness,
    map_panel,
    notices,
    overview,
    series,
    water_panel,
)
from dashboard.config import load_dashboard_config, session_secret
from dashboard.context import ALERT_CHANGED, REFRESH, DashboardContext, open_context
from monitor.config import AppConfig, ConfigError, data_dir, load_config

log = logging.getLogger(__name__)

#: Panels in page order (each has ``register(app, ctx)``).
PANELS = (overview, map_panel, series, water_panel, notices, freshness, export_panel)


def page(ctx: DashboardContext) -> html.Div:
    """The page for the logged-in user (built per request: controls depend on the role)."""
    refresh_ms = int(ctx.dashboard.server.refresh_interval.total_seconds() * 1000)
    return html.Div([
        html.Header([
            html.H1("jointwatch — regional joint control"),
            html.Span(f"signed in as {auth.current_user()} ({auth.current_role()}) · "),
            html.A("sign out", href="/logout"),
        ]),
        dcc.Interval(id=REFRESH, interval=refresh_ms),
        dcc.Store(id=ALERT_CHANGED),
        overview.banner_layout(),
        html.Div([overview.layout(), map_panel.layout()],
                 style={"display": "grid", "gridTemplateColumns": "minmax(0, 1fr) minmax(0, 1fr)",
                        "gap": "16px"}),
        series.layout(ctx),
        water_panel.layout(),
        notices.layout(),
        freshness.layout(),
        export_panel.layout(ctx),
    ], style={"fontFamily": "sans-serif", "margin": "0 16px"})


def create_app(config: AppConfig, data_dir: Path | str) -> dash.Dash:
    """The dashboard app reading the store and alert state under ``data_dir``.

    Raises
    ------
    monitor.config.ConfigError
        for an invalid configuration or a missing session secret (environment variable
        named by ``[server] secret_env`` of ``dashboard.toml``).
    """
    ctx = open_context(config, data_dir)
    server = flask.Flask(__name__)
    auth.install(server, ctx.dashboard, session_secret(ctx.dashboard))
    app = dash.Dash(__name__, server=server, serve_locally=True, title="jointwatch",
                    update_title=None)
    app.layout = lambda: page(ctx)
    for panel in PANELS:
        panel.register(app, ctx)
    return app


def server_from_environment() -> flask.Flask:
    """The Flask server for a WSGI host (gunicorn): config from ``$JOINTWATCH_CONFIG``
    (default: the project's ``config/``), data from ``$JOINTWATCH_HOME``."""
    return create_app(load_config(os.environ.get("JOINTWATCH_CONFIG")), data_dir()).server


def cli_dashboard(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch dashboard [--host H] [--port P]``: serve the dashboard (Ctrl-C stops)."""
    try:
        app = create_app(config, data_dir(args.data_dir))
    except ConfigError as exc:
        print(f"jointwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    server_cfg = load_dashboard_config(config).server
    host = args.host or server_cfg.host
    port = args.port or server_cfg.port
    log.info("dashboard on http://%s:%d/", host, port)
    app.run(host=host, port=port, debug=False)
    return 0
