"""Every configuration file is validated at start-up, before any command runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config_check import LOADERS

PROJECT_CONFIG = Path(__file__).resolve().parent.parent / "config"


def _config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(PROJECT_CONFIG, target)
    return target


def test_shipped_configuration_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert set(files) == {"regions.toml", "feeds.toml", *LOADERS}
    assert set(files.values()) == {"ok"}


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("warning.toml", "[rule_sets.", "[rule_sets.x]\nbogus = 1\n[rule_sets.", "warning.toml"),
        ("water.toml", "[", "nonsense = [\n[", "water.toml: not valid TOML"),
        ("regions.toml", 'timezone = "Asia/Shanghai"', 'timezone = "Asia/Peking-ish"',
         "regions.beijing.timezone: Value error, unknown time zone"),
    ],
)
def test_a_mistake_in_any_file_stops_every_command_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], file: str, old: str, new: str,
    message: str,
) -> None:
    cdir = _config_copy(tmp_path)
    path = cdir / file
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    code = main(["--config", str(cdir), "--data-dir", str(tmp_path / "var"), "stations"])
    err = capsys.readouterr().err
    assert code == 2
    assert "configuration error" in err and file in err and message in err
    assert not (tmp_path / "var").exists(), "nothing may be written before the config is valid"
    assert main(["--config", str(cdir), "check-config"]) == 2


def test_a_directory_with_regions_and_feeds_only_is_enough_for_ingest_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    cdir = tmp_path / "config"
    cdir.mkdir()
    for name in ("regions.toml", "feeds.toml"):
        shutil.copy(PROJECT_CONFIG / name, cdir / name)
    assert main(["--config", str(cdir), "--data-dir", str(tmp_path / "var"), "stations"]) == 0
    assert main(["--config", str(cdir), "check-config"]) == 0
    assert "water.toml      absent" in capsys.readouterr().out
