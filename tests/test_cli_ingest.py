"""The ingest-side CLI: ``ingest``, ``stations``, ``quarantine``, ``status``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fixture_feed import CITIES, FEED, hour_rows, make_config, write_feed_file

from monitor.cli import main
from monitor.config import load_config
from monitor.store_config import open_store

HOURS = ["2026-03-03T00:00Z", "2026-03-03T01:00Z"]
#: Runs ``jointwatch --config ... --data-dir ... <argv>``; returns (exit code, stdout, stderr).
Cli = Callable[..., tuple[int, str, str]]
COUNT_KEYS = {"rows_read", "stored", "quarantined", "duplicates", "files", "files_skipped",
              "readings"}


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    make_config(tmp_path, expected_interval="PT2H")
    write_feed_file(tmp_path, "hours.csv",
                    [*hour_rows(HOURS), "A,北京市,2026-03-03T02:00Z,pm2.5,1"])

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--config", str(tmp_path / "config"), "--data-dir",
                     str(tmp_path / "var"), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_ingest_json_has_per_feed_and_total_counts(cli: Cli) -> None:
    code, out, _ = cli("ingest", "--json")
    assert code == 0
    report = json.loads(out)
    assert set(report) == {"feeds", "total"}
    assert set(report["feeds"]) == {FEED}
    assert set(report["feeds"][FEED]) == COUNT_KEYS == set(report["total"])
    stored = len(CITIES) * 3 * len(HOURS)
    assert {k: report["total"][k] for k in ("rows_read", "stored", "quarantined", "duplicates",
                                            "files")} == {
        "rows_read": stored + 1, "stored": stored, "quarantined": 1, "duplicates": 0, "files": 1}
    code, out, _ = cli("ingest", FEED, "--json")
    assert json.loads(out)["total"]["files_skipped"] == 1


def test_ingest_table_and_errors(cli: Cli) -> None:
    code, out, _ = cli("ingest")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:3] == ["feed", "rows_read", "stored"]
    assert [line.split()[0] for line in lines[1:]] == [FEED, "total"]
    code, _, err = cli("ingest", "nosuchfeed")
    assert code == 1 and "unknown feed(s) nosuchfeed" in err


def test_stations_and_quarantine(cli: Cli) -> None:
    assert cli("stations")[1].strip() == "no stations yet (run ingest)"
    cli("ingest")
    code, out, _ = cli("stations", "--json")
    stations = {s["station_id"]: s for s in json.loads(out)}
    assert code == 0 and set(stations) == {f"fx:{s}" for s in CITIES}
    assert stations["fx:A"]["region"] == "beijing" and stations["fx:D"]["region"] is None
    code, out, _ = cli("quarantine", "--json")
    (refused,) = json.loads(out)
    assert refused == {"source": FEED, "source_file": refused["source_file"],
                       "source_row": len(CITIES) * 3 * len(HOURS) + 2, "field": "parameter",
                       "reason": "unknown_parameter", "raw": "pm2.5"}
    assert refused["source_file"].endswith("hours.csv")
    header = cli("quarantine")[1].splitlines()[0].split()
    assert header == ["feed", "file", "row", "field", "reason", "raw"]


def test_status_marks_stale_feeds_against_now(cli: Cli) -> None:
    code, out, _ = cli("status", "--json")
    (silent,) = json.loads(out)
    assert code == 0 and silent["feed"] == FEED and silent["stale"] is True
    cli("ingest")
    # latest reading 01:00 UTC; expected interval 2 h
    fresh = json.loads(cli("status", "--json", "--now", "2026-03-03T02:30")[1])
    assert {r["region"] for r in fresh} == {"", "beijing", "tianjin", "hebei"}
    assert not any(r["stale"] for r in fresh)
    assert {r["age_seconds"] for r in fresh} == {5400.0}
    stale = json.loads(cli("status", "--json", "--now", "2026-03-03T11:01+08:00")[1])
    assert all(r["stale"] for r in stale)
    table = cli("status", "--now", "2026-03-03T04:00Z")[1]
    assert table.count("STALE") == 4


def test_store_toml_places_the_readings(cli: Cli, tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    (config_dir / "store.toml").write_text('[store]\nreadings_root = "elsewhere/readings"\n')
    assert cli("ingest")[0] == 0
    moved = tmp_path / "var" / "elsewhere" / "readings" / f"feed={FEED}"
    assert len(list(moved.rglob("part-*.parquet"))) == 1
    assert not (tmp_path / "var" / "readings").exists()
    store = open_store(load_config(config_dir), tmp_path / "var")
    assert len(store.readings()) == len(CITIES) * 3 * len(HOURS)
    assert cli("stations", "--json")[0] == 0

    (config_dir / "store.toml").write_text('[store]\nreadings_url = "s3://x"\n')
    code, _, err = cli("status")
    assert code == 2 and "store.toml: store.readings_url: Extra inputs" in err


def test_status_groups_unconfigured_regions_as_other(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "config" / "stations_cn.csv").write_text(
        "station_id,region,medium\nfx:D,上海市,air\n", encoding="utf-8")
    cli("ingest")
    rows = json.loads(cli("status", "--json", "--now", "2026-03-03T02:00Z")[1])
    assert {r["region"]: r["stations"] for r in rows} == {
        "beijing": 1, "tianjin": 1, "hebei": 1, "other": 1}
