"""Dashboard without a browser: configuration, login, role checks, panel data on the samples.

The app is the real one (``create_app``) over a store ingested from the bundled samples
and a real SQLite alert state; requests go through Flask's test client.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dashboard_fixture import (
    SECRET,
    USERS,
    dashboard_toml,
    ingest_samples,
    make_dashboard_config,
    pending_issuance,
    sample_station_ids,
)
from flask.testing import FlaskClient

from alerts.issuance import in_force
from alerts.state import IssuanceStatus, load_issuance
from dashboard import freshness, notices, overview, series, water_panel
from dashboard.app import create_app, server_from_environment
from dashboard.auth import authenticate
from dashboard.config import load_dashboard_config, session_secret
from dashboard.context import DashboardContext, open_context
from dashboard.export_panel import export_file
from dashboard.queries import city_status, station_status
from dashboard.testing import callback_request
from monitor.aqi import categories, realtime_aqi
from monitor.config import ConfigError
from monitor.export import Selection
from monitor.store import Store
from monitor.warning_grades import GRADE_COLOURS, Grade
from monitor.water import CLASS_COLOURS


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardContext]:
    root = tmp_path_factory.mktemp("dashboard")
    config = make_dashboard_config(root)
    ingest_samples(config, root / "var")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JOINTWATCH_DASHBOARD_SECRET", SECRET)
        yield open_context(config, root / "var")


def _client(ctx: DashboardContext) -> FlaskClient:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JOINTWATCH_DASHBOARD_SECRET", SECRET)
        app = create_app(ctx.config, ctx.store.data_dir)
    return app.server.test_client()


def _login(client: FlaskClient, user: str) -> None:
    response = client.post("/login", data={"username": user, "password": USERS[user][1]})
    assert response.status_code == 302, response.text


def _action_payload(client: FlaskClient, issuance_id: str, button: str = "confirm-button",
                    level: str | None = None, reason: str | None = None) -> dict[str, object]:
    """The request the browser sends when Confirm (or Override) is clicked."""
    return callback_request(
        client.get("/_dash-dependencies").get_json(), "action-status.children",
        {"confirm-button.n_clicks": 1, "override-button.n_clicks": 1,
         "pending-issuance.data": issuance_id, "override-level.value": level,
         "override-reason.value": reason}, changed=f"{button}.n_clicks")


# -- configuration and login --------------------------------------------------------------------

def test_plain_password_refused_naming_file_and_key(site: DashboardContext,
                                                     tmp_path: Path) -> None:
    text = dashboard_toml().replace('password_hash = "scrypt', 'password_hash = "xx', 1)
    (site.config.config_dir / "dashboard.toml").write_text(text, encoding="utf-8")
    try:
        with pytest.raises(ConfigError, match=r"dashboard\.toml: users\.bureau\.password_hash"):
            load_dashboard_config(site.config)
    finally:
        (site.config.config_dir / "dashboard.toml").write_text(dashboard_toml(),
                                                              encoding="utf-8")


def test_missing_secret_refused_naming_the_variable(site: DashboardContext) -> None:
    with pytest.raises(ConfigError, match="JOINTWATCH_DASHBOARD_SECRET"):
        session_secret(site.dashboard, environ={})
    with pytest.raises(ConfigError, match="at least 32"):
        session_secret(site.dashboard, environ={"JOINTWATCH_DASHBOARD_SECRET": "short"})


def test_authenticate_checks_the_hash(site: DashboardContext) -> None:
    users = site.dashboard.users
    assert authenticate(users, "centre", "operator-pass") is not None
    assert authenticate(users, "centre", "viewer-pass") is None
    assert authenticate(users, "nobody", "operator-pass") is None
    assert all(u.password_hash.startswith("scrypt:") for u in users.values())


def test_requests_need_a_login(site: DashboardContext) -> None:
    client = _client(site)
    assert client.get("/").status_code == 302
    assert client.get("/").headers["Location"].endswith("/login")
    assert client.post("/_dash-update-component", json={}).status_code == 401
    bad = client.post("/login", data={"username": "centre", "password": "wrong"})
    assert bad.status_code == 401 and "wrong password" in bad.text
    _login(client, "bureau")
    assert client.get("/").status_code == 200


def test_viewer_confirm_refused_by_server_operator_confirm_accepted(
        site: DashboardContext) -> None:
    record = pending_issuance(site.config, site.store.data_dir)
    viewer, operator = _client(site), _client(site)
    _login(viewer, "bureau")
    refused = viewer.post("/_dash-update-component", json=_action_payload(viewer, record.id))
    assert refused.status_code == 403
    assert "only a coordinating-centre operator may confirm" in refused.text
    with site.engine.connect() as conn:
        assert load_issuance(conn, record.id).status == IssuanceStatus.PENDING

    _login(operator, "centre")
    accepted = operator.post("/_dash-update-component",
                             json=_action_payload(operator, record.id))
    assert accepted.status_code == 200, accepted.text
    assert f"confirmed {record.id}" in accepted.text
    with site.engine.connect() as conn:
        stored = load_issuance(conn, record.id)
    assert stored.status == IssuanceStatus.CONFIRMED and stored.confirmed_by == "centre"

    children, style = overview.banner(site, pd.Timestamp.now(tz="UTC").to_pydatetime())
    assert style["backgroundColor"] == GRADE_COLOURS[Grade.ORANGE]
    assert record.id in json.dumps([c.to_plotly_json() for c in children], default=str)
    logged = {r["issuance_id"]: r for r in notices.table_rows(site)}
    assert logged[record.id]["issuance_status"] == "confirmed"
    assert logged[record.id]["status"] == "queued"


# -- panel data ----------------------------------------------------------------------------------

def test_station_status_one_row_per_sample_station_coloured_by_monitor(
        site: DashboardContext) -> None:
    status = station_status(site)
    placed = status.dropna(subset=["lon", "lat"])
    assert set(placed["station_id"]) == sample_station_ids(site.store, site.config)
    assert status["station_id"].is_unique
    # cn:1001A (万寿西宫) at its latest hour, 2026-03-03 15:00 UTC, computed independently
    at = pd.Timestamp("2026-03-03 15:00", tz="UTC")
    expected = realtime_aqi(site.store.readings(stations="cn:1001A", start=at, end=at))
    row = status.set_index("station_id").loc["cn:1001A"]
    assert row["value"] == expected["aqi"].iloc[0] == 134
    assert row["colour"] == categories([134])["colour"].iloc[0] == "#FF7E00"
    water = status[(status["medium"] == "water") & status["value"].notna()]
    assert len(water) > 100
    assert set(water["colour"]) <= set(CLASS_COLOURS.values())


def test_city_status_covers_every_member_city(site: DashboardContext) -> None:
    cities = city_status(site)
    members = [c for r in site.config.regions.values() for c in r.cities]
    assert list(cities["city"]) == members
    beijing = cities.set_index("city").loc["北京市"]
    assert beijing["aqi"] == 65 and beijing["primary_pollutants"] == "pm25"
    assert beijing["colour"] == categories([65])["colour"].iloc[0]


def test_cross_border_sections(site: DashboardContext) -> None:
    sections = water_panel.cross_border(site)
    pairs = set(zip(sections["name"], sections["upstream_region"],
                    sections["downstream_region"], strict=True))
    assert ("黎河桥", "hebei", "tianjin") in pairs and ("沧浪渠出境", "tianjin", "hebei") in pairs
    assert len(water_panel.figure(site).data) == len(sections)


def test_freshness_marks_stale_feeds(site: DashboardContext) -> None:
    stale = freshness.table_rows(site, pd.Timestamp("2026-11-27", tz="UTC"))
    assert {r["state"] for r in stale} == {"STALE"}
    fresh = freshness.table_rows(site, pd.Timestamp("2026-08-21 12:30", tz="UTC"))
    water = [r for r in fresh if r["feed"] == "cnemc_surface_water"]
    assert water and all(r["state"] == "ok" for r in water if r["age_hours"] <= 4)
    assert all(r["state"] == "STALE" for r in fresh if r["feed"] == "cnemc_hourly_air")


def test_export_payload_reads_back(site: DashboardContext) -> None:
    selection = Selection(regions=("beijing",), parameters=("pm25",),
                          start="2026-03-03T00:00", end="2026-03-03T05:00")
    payload, summary = export_file(site, selection, "csv")
    frame = pd.read_csv(io.BytesIO(base64.b64decode(payload["content"])))
    expected = site.store.readings(regions="beijing", parameters="pm25",
                                   start="2026-03-03T00:00", end="2026-03-03T05:00",
                                   flags=["valid"])
    assert len(frame) == len(expected) > 0
    assert f"{len(expected)} readings" in summary


def test_city_series_draws_daily_aqi_thresholds_and_forecast_interval(
        site: DashboardContext, tmp_path: Path) -> None:
    """On the UCI Beijing sample (four years of history) a city's series carries the daily
    AQI forecast of ``jointwatch forecast`` with its 80 % and 95 % intervals."""
    ingest_samples(site.config, tmp_path / "uci", feeds=("uci_beijing_multisite",))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JOINTWATCH_DASHBOARD_SECRET", SECRET)
        ctx = open_context(site.config, tmp_path / "uci")
    fig = series.figure(ctx, "city:北京市", "pm25", 30)
    traces = {t["name"]: t for t in fig["data"]}
    assert {"hourly AQI", "daily AQI (day end)", "forecast daily AQI (history-only)",
            "forecast 80 % interval", "forecast 95 % interval"} <= set(traces)
    point = np.asarray(traces["forecast daily AQI (history-only)"]["y"], dtype=float)
    band80 = np.asarray(traces["forecast 80 % interval"]["y"], dtype=float)
    band95 = np.asarray(traces["forecast 95 % interval"]["y"], dtype=float)
    n = len(point)
    assert n == ctx.forecast.forecast.horizon_days
    # polygons: upper bounds forward, lower bounds backward
    assert (band95[:n] >= band80[:n]).all() and (band80[:n] >= point).all()
    assert (point >= band80[n:][::-1]).all() and (band80[n:][::-1] >= band95[n:][::-1]).all()
    # 2017-02-28: the 2016 regional four-grade standard (jjj_2016) applies to Beijing
    assert {s["y0"] for s in fig["layout"]["shapes"]} == {200, 300, 500}


def test_override_records_level_and_reason_viewer_refused(site: DashboardContext) -> None:
    record = pending_issuance(site.config, site.store.data_dir, Grade.RED)
    viewer, operator = _client(site), _client(site)
    _login(viewer, "bureau")
    _login(operator, "centre")
    body = _action_payload(viewer, record.id, "override-button", "yellow", "wind forecast")
    assert viewer.post("/_dash-update-component", json=body).status_code == 403
    missing_reason = _action_payload(operator, record.id, "override-button", "yellow", " ")
    answer = operator.post("/_dash-update-component", json=missing_reason)
    assert answer.status_code == 200 and "needs a level and a reason" in answer.text
    with site.engine.connect() as conn:
        assert load_issuance(conn, record.id).status == IssuanceStatus.PENDING

    answer = operator.post("/_dash-update-component", json=body)
    assert answer.status_code == 200 and "override by centre: issued" in answer.text
    with site.engine.connect() as conn:
        assert load_issuance(conn, record.id).status == IssuanceStatus.OVERRIDDEN
        current = in_force(conn, pd.Timestamp.now(tz="UTC").to_pydatetime())
    assert current is not None and current.level == Grade.YELLOW
    assert current.confirmed_by == "centre"
    assert current.evidence["override"] == {"of": record.id, "from_level": "red",
                                            "to_level": "yellow", "by": "centre",
                                            "reason": "wind forecast"}


def test_export_with_a_bad_time_is_refused_in_the_panel(site: DashboardContext) -> None:
    client = _client(site)
    _login(client, "bureau")
    body = callback_request(client.get("/_dash-dependencies").get_json(),
                            "export-status.children",
                            {"export-button.n_clicks": 1, "export-start.value": "yesterday",
                             "export-format.value": "csv"})
    answer = client.post("/_dash-update-component", json=body)
    assert answer.status_code == 200
    assert "export refused: start: 'yesterday' is not an ISO 8601 time" in answer.text


def test_wsgi_factory_for_gunicorn(site: DashboardContext,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOINTWATCH_CONFIG", str(site.config.config_dir))
    monkeypatch.setenv("JOINTWATCH_HOME", str(site.store.data_dir))
    monkeypatch.setenv("JOINTWATCH_DASHBOARD_SECRET", SECRET)
    client = server_from_environment().test_client()
    assert client.get("/login").status_code == 200
    _login(client, "centre")
    assert "jointwatch" in client.get("/").text


def test_results_follow_new_readings_files(site: DashboardContext, tmp_path: Path) -> None:
    """Kept results and the store's kept maxima are refreshed when a feed writes files."""
    store = ingest_samples(site.config, tmp_path / "var", feeds=("cnemc_surface_water",))
    ctx = open_context(site.config, tmp_path / "var")
    first = ctx.cached("status", (), lambda: station_status(ctx))
    assert ctx.cached("status", (), lambda: station_status(ctx)) is first
    assert set(first["medium"]) == {"water"}
    ingest_samples(site.config, tmp_path / "var", feeds=("cnemc_hourly_air",))
    second = ctx.cached("status", (), lambda: station_status(ctx))
    assert second is not first
    air = second[second["medium"] == "air"]
    assert set(air.dropna(subset=["lon"])["station_id"]) == (
        sample_station_ids(store, site.config) - set(first["station_id"]))
    kept, fresh = (s.latest_by_station().sort_values(["source", "station_id"],
                                                     ignore_index=True)
                   for s in (ctx.store, Store(tmp_path / "var")))
    pd.testing.assert_frame_equal(kept, fresh)


def test_every_panel_answers_on_an_empty_data_directory(site: DashboardContext,
                                                        tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JOINTWATCH_DASHBOARD_SECRET", SECRET)
        client = create_app(site.config, tmp_path / "empty").server.test_client()
    _login(client, "centre")
    assert client.get("/").status_code == 200
    dependencies = client.get("/_dash-dependencies").get_json()
    values = {"refresh.n_intervals": 1, "series-target.value": "city:北京市",
              "series-parameter.value": "pm25", "series-days.value": 7}
    for output in ("level-banner.children", "station-map.figure", "series-graph.figure",
                   "water-graph.figure", "notice-table.data", "freshness-table.data"):
        answer = client.post("/_dash-update-component",
                             json=callback_request(dependencies, output, values))
        assert answer.status_code == 200, (output, answer.text[:500])
    assert "NaN" not in answer.text
    cities = client.post("/_dash-update-component", json=callback_request(
        dependencies, "city-table.data", values)).get_json()["response"]["city-table"]["data"]
    assert {row["category_name"] for row in cities} == {"no data"}
