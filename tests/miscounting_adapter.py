"""A broken adapter for tests: for files named ``*miscount*``, claims one record too many."""

from __future__ import annotations

from pathlib import Path

from ingest.base import FileResult, IngestContext
from monitor.config import Feed
from tests.csv_fixture_adapter import read as read_fixture


def read(path: Path, feed: Feed, ctx: IngestContext) -> FileResult:
    """The fixture adapter's result, with ``records`` off by one for ``*miscount*`` files."""
    result = read_fixture(path, feed, ctx)
    if "miscount" not in path.name:
        return result
    result.records += 1
    return result
