"""Shared fixtures: the project's config, a fresh data directory, the real shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import AppConfig, load_config

PROJECT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT / "samples"
SHARED_DATA = (PROJECT.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def config() -> AppConfig:
    return load_config(PROJECT / "config")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "var"
    d.mkdir()
    return d


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it skip with a clear message when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"full real data not found at {SHARED_DATA} (present in CI); "
                    "this test needs ../shared/data")
    return SHARED_DATA
