"""A broken adapter for tests: claims one record more than it accounts for."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ingest.base import FileResult, IngestContext
from monitor.config import Feed
from tests.csv_fixture_adapter import read as read_fixture


def read(path: Path, feed: Feed, ctx: IngestContext) -> FileResult:
    """The fixture adapter's result with ``records`` off by one."""
    result = read_fixture(path, feed, ctx)
    return replace(result, records=result.records + 1)
