"""Notice log: issuances and, per region, delivery status, attempts and delivery time.

Rows come from :func:`alerts.report.notice_rows` (as ``jointwatch notices``).  A pending
issuance can be confirmed (:func:`alerts.issuance.confirm`) or overridden with a level and
a reason (:func:`alerts.issuance.override`) by a coordinating-centre operator; the callback
checks the role on the server (:func:`dashboard.auth.require_operator`), so a viewer's
request is refused with 403 even though the controls are also hidden from viewers.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dash_table, dcc, html

from alerts.decision import parse_grade
from alerts.issuance import confirm, override, pending
from alerts.report import notice_rows, sync_figures
from alerts.state import utcnow
from alerts.wording import local_time
from dashboard.auth import current_role, require_operator
from dashboard.config import Role
from dashboard.context import ALERT_CHANGED, REFRESH, DashboardContext
from monitor.warning_grades import Grade

#: Issuances listed in the log.
LOG_LIMIT = 20

_COLUMNS = (("Issuance", "issuance_id"), ("Level", "level"), ("Kind", "kind"),
            ("Issuance status", "issuance_status"), ("Effective", "effective_at"),
            ("Region", "region"), ("Delivery", "status"), ("Attempts", "attempts"),
            ("Delivered at", "delivered_at"), ("Sync spread", "spread"))


def layout() -> html.Section:
    """The notice-log section; the operator controls are hidden from viewers."""
    controls = {"display": "flex", "gap": "8px", "alignItems": "center", "flexWrap": "wrap"}
    if current_role() != Role.OPERATOR:
        controls["display"] = "none"
    return html.Section([
        html.H2("Notice log"),
        dcc.Store(id="pending-issuance"),
        html.Div([
            html.Span(id="pending-text"),
            html.Button("Confirm", id="confirm-button", n_clicks=0),
            dcc.Dropdown(id="override-level", options=[g.label for g in Grade],
                         placeholder="override level", style={"width": "160px"}),
            dcc.Input(id="override-reason", placeholder="reason for the override",
                      style={"width": "300px"}),
            html.Button("Override", id="override-button", n_clicks=0),
        ], id="operator-controls", style=controls),
        html.Div(id="action-status", role="status"),
        dash_table.DataTable(id="notice-table",
                             columns=[{"name": n, "id": i} for n, i in _COLUMNS],
                             style_cell={"fontFamily": "sans-serif", "padding": "4px"}),
    ], id="notices")


def table_rows(ctx: DashboardContext) -> list[dict[str, Any]]:
    """The notice log as table rows (times in the alert time zone)."""
    tz = ctx.alerts.schedule.timezone
    rows = notice_rows(ctx.engine, limit=LOG_LIMIT)
    spreads = sync_figures(rows)
    out = []
    for row in rows:
        spread = spreads[row.issuance_id].spread
        out.append({
            "issuance_id": row.issuance_id, "level": row.level, "kind": row.kind,
            "issuance_status": row.issuance_status,
            "effective_at": local_time(row.effective_at, tz), "region": row.region,
            "status": row.status, "attempts": row.attempts,
            "delivered_at": local_time(row.delivered_at, tz) if row.delivered_at else "",
            "spread": "" if spread is None else f"{spread.total_seconds():.3f} s",
        })
    return out


def act(ctx: DashboardContext, action: str, issuance_id: str, level: str | None,
        reason: str | None) -> str:
    """Confirm or override ``issuance_id`` as the logged-in operator; the outcome in words.

    Aborts the request with 403 unless the session's user is an operator.
    """
    verb = "confirm an issuance" if action == "confirm-button" else "override an issuance"
    by = require_operator(verb)
    now = utcnow()
    try:
        if action == "confirm-button":
            record = confirm(ctx.engine, issuance_id, by, now)
            return (f"confirmed {record.id} ({record.level.label}) by {by}; its notices are "
                    "queued")
        if not level or not (reason or "").strip():
            return "an override needs a level and a reason"
        result = override(ctx.engine, issuance_id, parse_grade(level), str(reason), by,
                          ctx.config, ctx.alerts, now)
        return f"override by {by}: {result.outcome}: {result.detail}"
    except (LookupError, ValueError) as exc:
        return f"refused: {exc}"


def register(app: dash.Dash, ctx: DashboardContext) -> None:
    """Refresh the log; confirm / override on the operator's click."""

    @app.callback(Output("notice-table", "data"), Output("pending-issuance", "data"),
                  Output("pending-text", "children"),
                  Input(REFRESH, "n_intervals"), Input(ALERT_CHANGED, "data"))
    def refresh(_ticks: int, _changed: Any) -> tuple[Any, ...]:
        with ctx.engine.connect() as conn:
            waiting = pending(conn)
        text = (f"pending: {waiting.id} ({waiting.level.label}, {waiting.kind})"
                if waiting else "no issuance awaits confirmation")
        return table_rows(ctx), waiting.id if waiting else None, text

    @app.callback(Output("action-status", "children"), Output(ALERT_CHANGED, "data"),
                  Input("confirm-button", "n_clicks"), Input("override-button", "n_clicks"),
                  State("pending-issuance", "data"), State("override-level", "value"),
                  State("override-reason", "value"), prevent_initial_call=True)
    def on_action(_confirm: int, _override: int, issuance_id: str | None, level: str | None,
                  reason: str | None) -> tuple[str, str]:
        action = str(dash.ctx.triggered_id)
        if not issuance_id:
            require_operator("confirm or override an issuance")
            return "no issuance awaits confirmation", ""
        message = act(ctx, action, issuance_id, level, reason)
        return message, message
