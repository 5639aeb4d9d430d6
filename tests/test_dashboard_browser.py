"""The dashboard in a real headless Chromium (Playwright driving Debian's /usr/bin/chromium).

``jointwatch dashboard`` runs as a subprocess on a free 127.0.0.1 port over a data
directory holding the ingested samples and a pending orange issuance.  The browser and
the server start once per module.  Set ``JOINTWATCH_UPDATE_SCREENSHOT=1`` to write the
overview screenshot to ``docs/overview.png`` (the README's picture).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest
import xarray as xr
from dashboard_fixture import (
    SECRET,
    USERS,
    ingest_samples,
    make_dashboard_config,
    pending_issuance,
    sample_station_ids,
)
from playwright.sync_api import Browser, Page, sync_playwright

from alerts.config import load_alerts_config
from alerts.issuance import override
from alerts.state import IssuanceRecord, IssuanceStatus, load_issuance, open_state, utcnow
from alerts.testing import free_port
from dashboard.testing import callback_request
from monitor.config import AppConfig
from monitor.store import Store
from monitor.warning_grades import Grade

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--headless"]
PROJECT = Path(__file__).resolve().parent.parent
#: Generous: the first page load fills every panel on a shared 2-core machine.
LOAD_TIMEOUT_MS = 120_000


@dataclass
class Site:
    """The running dashboard and what the tests need to know about it."""

    url: str
    config: AppConfig
    data_dir: Path
    store: Store
    issuance: IssuanceRecord
    console_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)


def _wait_until_serving(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"dashboard exited: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"dashboard did not start: {log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium and chromium-driver "
                    "(.ci/run does so in CI) to run the browser tests")
    root = tmp_path_factory.mktemp("dashboard-browser")
    config = make_dashboard_config(root)
    data_dir = root / "var"
    store = ingest_samples(config, data_dir)
    issuance = pending_issuance(config, data_dir)
    port = free_port()
    log = root / "dashboard.log"
    env = {**os.environ, "JOINTWATCH_DASHBOARD_SECRET": SECRET}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "--config", str(config.config_dir),
             "--data-dir", str(data_dir), "dashboard", "--port", str(port)],
            cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, server, log)
        yield Site(url, config, data_dir, store, issuance)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _leaves_the_machine(url: str) -> bool:
    """True for a network request to any host but 127.0.0.1 (blob: and data: are local)."""
    parts = urlparse(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1"


def _signed_in_page(browser: Browser, site: Site, user: str) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 1100},
                                  accept_downloads=True)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and site.console_errors.append(m.text))
    page.on("pageerror", lambda e: site.console_errors.append(str(e)))
    page.on("request", lambda r: _leaves_the_machine(r.url)
            and site.foreign_requests.append(r.url))
    page.goto(f"{site.url}/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", USERS[user][1])
    page.click("button[type=submit]")
    page.wait_for_selector("#city-table td", timeout=LOAD_TIMEOUT_MS)
    return page


@pytest.fixture(scope="module")
def operator_page(browser: Browser, site: Site) -> Page:
    return _signed_in_page(browser, site, "centre")


def _map_markers(page: Page) -> list[str]:
    page.wait_for_function(
        "() => { const g = document.querySelector('#station-map .js-plotly-plot');"
        " return g && g._fullData && g._fullData.length > 0; }", timeout=LOAD_TIMEOUT_MS)
    return page.evaluate(
        "() => document.querySelector('#station-map .js-plotly-plot')._fullData"
        ".flatMap(t => Array.from(t.customdata).map(c => c[0]))")


def test_page_loads_without_console_errors_and_offline(operator_page: Page,
                                                       site: Site) -> None:
    page = operator_page
    page.wait_for_selector("#series-graph .js-plotly-plot", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_selector("#freshness-table td", timeout=LOAD_TIMEOUT_MS)
    banner = page.inner_text("#level-banner")
    assert "no warning" in banner and site.issuance.id in banner  # pending, not in force
    assert page.locator("#city-table tr").count() > 20
    assert site.console_errors == []
    assert site.foreign_requests == []  # nothing fetched from a CDN or tile server


def test_map_shows_one_marker_per_sample_station(operator_page: Page, site: Site) -> None:
    markers = _map_markers(operator_page)
    assert len(markers) == len(set(markers))
    assert set(markers) == sample_station_ids(site.store, site.config)


def test_choosing_a_city_updates_the_series(operator_page: Page) -> None:
    page = operator_page
    title = "#series-graph .gtitle"
    page.wait_for_selector(title, timeout=LOAD_TIMEOUT_MS)
    assert (page.text_content(title) or "").startswith("北京市")
    page.click("#series-target")
    page.get_by_role("option", name="天津市 (city)").click()
    page.wait_for_function(f"() => document.querySelector('{title}')"
                           ".textContent.startsWith('天津市')", timeout=LOAD_TIMEOUT_MS)
    traces = page.evaluate("() => document.querySelector('#series-graph .js-plotly-plot')"
                           "._fullData.map(t => t.name)")
    assert "hourly AQI" in traces and "daily AQI (day end)" in traces
    tianjin = _observed_trace_names(page)
    assert tianjin and all("pm25" in name for name in tianjin)


def _observed_trace_names(page: Page) -> list[str]:
    """Names of the observed-value traces of the series graph."""
    return page.evaluate(
        "() => document.querySelector('#series-graph .js-plotly-plot')._fullData"
        ".filter(t => t.yaxis === 'y').map(t => t.name)")


def test_viewer_confirm_request_is_refused_by_the_server(browser: Browser, site: Site) -> None:
    page = _signed_in_page(browser, site, "bureau")
    assert not page.locator("#confirm-button").is_visible()
    body = callback_request(page.request.get(f"{site.url}/_dash-dependencies").json(),
                            "action-status.children",
                            {"confirm-button.n_clicks": 1,
                             "pending-issuance.data": site.issuance.id})
    response = page.request.post(f"{site.url}/_dash-update-component", data=json.dumps(body),
                                 headers={"Content-Type": "application/json"})
    assert response.status == 403
    assert "only a coordinating-centre operator" in response.text()
    engine = open_state(f"sqlite:///{site.data_dir / 'alerts.sqlite'}")
    with engine.connect() as conn:
        assert load_issuance(conn, site.issuance.id).status == IssuanceStatus.PENDING
    engine.dispose()
    page.context.close()


def test_operator_confirms_pending_issuance_and_it_shows_in_force(
        operator_page: Page, site: Site) -> None:
    page = operator_page
    page.wait_for_function("() => document.querySelector('#pending-text')"
                           f".textContent.includes('{site.issuance.id}')",
                           timeout=LOAD_TIMEOUT_MS)
    page.click("#confirm-button")
    page.wait_for_selector("#level-in-force[data-level=orange]", timeout=LOAD_TIMEOUT_MS)
    assert site.issuance.id in page.inner_text("#level-issuance")
    assert "confirmed" in page.inner_text("#action-status")
    page.wait_for_function("() => document.querySelector('#city-table')"
                           ".textContent.includes('orange')", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_selector("#notice-table td", timeout=LOAD_TIMEOUT_MS)
    assert "queued" in page.inner_text("#notice-table")
    engine = open_state(f"sqlite:///{site.data_dir / 'alerts.sqlite'}")
    with engine.connect() as conn:
        stored = load_issuance(conn, site.issuance.id)
    engine.dispose()
    assert stored.status == IssuanceStatus.CONFIRMED and stored.confirmed_by == "centre"
    _map_markers(page)
    page.evaluate("window.scrollTo(0, 0)")
    shot = site.data_dir / "overview.png"
    page.screenshot(path=str(shot))
    if os.environ.get("JOINTWATCH_UPDATE_SCREENSHOT"):
        (PROJECT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, PROJECT / "docs" / "overview.png")
    assert site.console_errors == []


def test_interval_refresh_shows_a_change_without_reloading(operator_page: Page,
                                                           site: Site) -> None:
    """A change made elsewhere (the CLI's override) reaches the open page on its own."""
    page = operator_page
    page.evaluate("window.jointwatchMarker = 'same page'")
    cfg = load_alerts_config(site.config)
    engine = open_state(cfg.state_url(site.data_dir))
    result = override(engine, site.issuance.id, Grade.RED, "episode worse than forecast",
                      "cli-operator", site.config, cfg, utcnow())
    engine.dispose()
    assert result.issuance is not None and result.issuance.level == Grade.RED
    page.wait_for_selector("#level-in-force[data-level=red]", timeout=LOAD_TIMEOUT_MS)
    assert result.issuance.id in page.inner_text("#level-issuance")
    assert page.evaluate("window.jointwatchMarker") == "same page"


@pytest.mark.parametrize("fmt", ["csv", "netcdf"])
def test_export_download_reads_back(operator_page: Page, site: Site, fmt: str,
                                    tmp_path: Path) -> None:
    page = operator_page
    start, end = "2026-03-03T14:00", "2026-03-03T15:00"
    page.fill("#export-start", start)
    page.fill("#export-end", end)
    page.check(f"#export-format input[value={fmt}]")
    with page.expect_download(timeout=LOAD_TIMEOUT_MS) as info:
        page.click("#export-button")
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    expected = site.store.readings(start=start, end=end, flags=["valid"])
    if fmt == "csv":
        frame = pd.read_csv(target)
        assert len(frame) == len(expected) > 0
        assert set(frame["station_id"]) == set(expected["station_id"])
    else:
        with xr.open_dataset(target) as dataset:
            assert dataset.sizes["station"] == expected["station_id"].nunique()
            assert int(dataset["pm25_1h"].notnull().sum()) == int(
                ((expected["parameter"] == "pm25") & (expected["period"] == "1h")).sum())
    assert "exported" in page.inner_text("#export-status")
