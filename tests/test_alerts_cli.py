"""The alert commands end to end (`jointwatch consult/confirm/send/notices`) and bad config."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from alerts.testing import free_port, local_smtp_settings, make_config_dir, smtp_server
from monitor.cli import main

BTH = "beijing,tianjin,hebei"


def run(capsys: pytest.CaptureFixture[str], cdir: Path, ddir: Path, *args: str
        ) -> tuple[int, str, str]:
    code = main(["--config", str(cdir), "--data-dir", str(ddir), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def port() -> int:
    return free_port()


def test_consult_by_hand_sends_once_and_notices_shows_the_table(
    tmp_path: Path, port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    cdir = make_config_dir(tmp_path / "config", local_smtp_settings(port))
    ddir = tmp_path / "var"
    with smtp_server(port) as server:
        code, out, err = run(capsys, cdir, ddir, "consult", "--now", "--level", "orange",
                             "--regions", BTH)
        assert code == 0, err
        assert out.startswith("issued: new none -> orange, 3 region(s)")
        assert "sent 3, to retry 0, failed 0" in out
        issuance_id = re.search(r"issuance (JW-\S+)", out).group(1)
        code, out, _ = run(capsys, cdir, ddir, "consult", "--level", "orange",
                           "--regions", BTH)
        assert code == 0 and out.startswith("unchanged: level orange unchanged")
    assert len(server.messages) == 3
    code, table, _ = run(capsys, cdir, ddir, "notices")
    assert code == 0
    lines = table.splitlines()
    assert lines[0].split() == ["issuance", "level", "kind", "region", "status", "attempts",
                                "delivered", "at"]
    body = [line.split() for line in lines[1:4]]
    assert [row[:6] for row in body] == [
        [issuance_id, "orange", "new", region, "sent", "1"] for region in BTH.split(",")]
    assert re.search(r"sync spread: \d+\.\d{3} s \(3 regions delivered\)", lines[4])
    code, out, _ = run(capsys, cdir, ddir, "notices", "--json")
    data = json.loads(out)
    assert [n["region"] for n in data["notices"]] == BTH.split(",")
    assert data["sync"][issuance_id]["delivered"] == 3
    assert data["sync"][issuance_id]["spread_seconds"] >= 0


def test_confirmation_step_and_override_from_the_command_line(
    tmp_path: Path, port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    cdir = make_config_dir(tmp_path / "config", {
        **local_smtp_settings(port), "issuance.confirmation_required": "true"})
    ddir = tmp_path / "var"
    with smtp_server(port) as server:
        code, out, _ = run(capsys, cdir, ddir, "consult", "--level", "yellow", "--regions", BTH)
        assert code == 0 and "pending" in out and "sent 0" in out
        pending_id = re.search(r"issuance (JW-\S+)", out).group(1)
        assert len(server.messages) == 0
        code, out, err = run(capsys, cdir, ddir, "confirm", pending_id, "--level", "orange")
        assert code == 2 and "--reason" in err
        code, out, _ = run(capsys, cdir, ddir, "confirm", pending_id, "--level", "orange",
                           "--reason", "regional centre judgement", "--by", "director")
        assert code == 0 and out.startswith("override: issued: new none -> orange")
        code, out, _ = run(capsys, cdir, ddir, "send")
        assert code == 0 and out.startswith("sent 3,")
        code, out, _ = run(capsys, cdir, ddir, "consult", "--level", "red", "--regions", BTH)
        red_id = re.search(r"issuance (JW-\S+)", out).group(1)
        code, out, _ = run(capsys, cdir, ddir, "confirm", red_id, "--by", "duty officer")
        assert code == 0 and out.startswith(f"confirmed {red_id} (escalate, red)")
        code, out, _ = run(capsys, cdir, ddir, "send")
        assert out.startswith("sent 3,")
        code, _out, err = run(capsys, cdir, ddir, "confirm", "JW-nonexistent")
        assert code == 2 and "no issuance 'JW-nonexistent'" in err
    assert len(server.messages) == 6
    subjects = [m["Subject"] for m in server.messages]
    assert sum("orange warning issued" in s for s in subjects) == 3
    assert sum("red warning escalated" in s for s in subjects) == 3


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"regions.shanghai.recipients": '["x@example.org"]'},
         r"alerts\.toml: regions\.shanghai: unknown region 'shanghai'"),
        ({"regions.tianjin.recipients": ""},
         r"alerts\.toml: regions\.tianjin\.recipients: Field required"),
        ({"regions.tianjin.recipients": "[]"},
         r"alerts\.toml: regions\.tianjin\.recipients: List should have at least 1 item"),
        ({"regions.hebei.recipients": '["not-an-address"]'},
         r"alerts\.toml: regions\.hebei\.recipients\.0: .*not a mail address"),
        ({"schedule.consultations": '["0 10 * *"]'},
         r"alerts\.toml: schedule\.consultations\[0\]: invalid cron expression '0 10 \* \*'"),
        ({"schedule.consultations": '["0 25 * * *"]'},
         r"alerts\.toml: schedule\.consultations\[0\]: invalid cron expression"),
        ({"smtp.user_env": '"JW_TEST_SMTP_USER"', "smtp.password_env": '"JW_TEST_SMTP_PASS"'},
         r"alerts\.toml: smtp\.password_env: environment variable JW_TEST_SMTP_PASS is not set"),
        ({"smtp.security": '"tls"'}, r"alerts\.toml: smtp\.security: Input should be"),
    ],
)
def test_bad_config_is_refused_at_start_up_naming_file_and_key(
    tmp_path: Path, port: int, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], expected: str,
) -> None:
    monkeypatch.setenv("JW_TEST_SMTP_USER", "jointwatch")
    monkeypatch.delenv("JW_TEST_SMTP_PASS", raising=False)
    cdir = make_config_dir(tmp_path / "config", {**local_smtp_settings(port), **settings})
    ddir = tmp_path / "var"
    with smtp_server(port) as server:
        for command in (["consult", "--level", "red", "--regions", BTH], ["send"],
                        ["scheduler"]):
            code, _out, err = run(capsys, cdir, ddir, *command)
            assert code == 2, command
            assert re.search(expected, err), err
            assert str(cdir / "alerts.toml") in err
    assert server.messages == []
    assert not (ddir / "alerts.sqlite").exists()  # nothing written either


def test_unknown_or_unconfigured_region_on_the_command_line(
    tmp_path: Path, port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    cdir = make_config_dir(tmp_path / "config", local_smtp_settings(port))
    ddir = tmp_path / "var"
    code, _out, err = run(capsys, cdir, ddir, "consult", "--level", "red",
                          "--regions", "beijing,atlantis")
    assert code == 2 and "--regions: unknown region(s) atlantis" in err
    # zhejiang is a region (regions.toml) but has no recipients in alerts.toml
    code, _out, err = run(capsys, cdir, ddir, "consult", "--level", "red",
                          "--regions", "beijing,zhejiang")
    assert code == 2 and "alerts.toml: regions.zhejiang: no recipients configured" in err
    code, _out, err = run(capsys, cdir, ddir, "consult", "--level", "purple")
    assert code == 2 and "unknown warning level 'purple'" in err


def test_consult_without_forecast_source_records_no_decision(
    tmp_path: Path, port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    cdir = make_config_dir(tmp_path / "config", {
        **local_smtp_settings(port), "schedule.decision_source": '"jw_no_such_module:decide"'})
    code, _out, err = run(capsys, cdir, tmp_path / "var", "consult", "--now")
    assert code == 1
    assert "no decision: decision source 'jw_no_such_module:decide' cannot be imported" in err


def test_consult_as_of_a_given_time_without_sending(
    tmp_path: Path, port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    cdir = make_config_dir(tmp_path / "config", local_smtp_settings(port))
    ddir = tmp_path / "var"
    code, out, _ = run(capsys, cdir, ddir, "consult", "--now", "2026-03-02T10:20+08:00",
                       "--level", "blue", "--regions", "beijing", "--no-send")
    assert code == 0
    assert "effective 2026-03-03T03:00:00+00:00" in out  # +24 h, rounded up to the hour
    assert "sent" not in out
    code, out, _ = run(capsys, cdir, ddir, "notices", "--json")
    (row,) = json.loads(out)["notices"]
    assert (row["region"], row["status"], row["attempts"]) == ("beijing", "queued", 0)
    code, _out, err = run(capsys, cdir, ddir, "consult", "--now", "2026-03-02T10:20",
                          "--level", "blue")
    assert code == 2 and "give a time zone offset" in err


FORECAST_SOURCE = '''
from datetime import timedelta
from types import SimpleNamespace
from monitor.warning_grades import Grade

def decide(config, data_dir, now):
    return SimpleNamespace(
        level=Grade.RED, regions=("beijing", "tianjin"), city_levels={}, rule="k_of_n(k=2)",
        why="2 of 2 member cities reach red", issue_time=now,
        effective_start=now + timedelta(hours=30), evidence={"cities": {}})
'''


def test_consult_now_uses_the_forecast_decision_source(
    tmp_path: Path, port: int, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "jw_forecast_source.py").write_text(FORECAST_SOURCE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    cdir = make_config_dir(tmp_path / "config", {
        **local_smtp_settings(port), "schedule.decision_source": '"jw_forecast_source:decide"'})
    with smtp_server(port) as server:
        code, out, err = run(capsys, cdir, tmp_path / "var", "consult", "--now",
                             "2026-03-02T10:00+08:00")
    assert code == 0, err
    assert out.startswith("issued: new none -> red, 2 region(s), "
                          "effective 2026-03-03T08:00:00+00:00")
    assert len(server.messages) == 2
    assert "2 of 2 member cities reach red" in server.messages[0].get_body(
        ("plain",)).get_content()
