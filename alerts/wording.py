"""Words shared by the e-mail and the CAP document: level and kind names, evidence lines.

The names live in ``templates/labels.toml`` (data, not code).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

#: Folder of the notice templates and labels.
TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def labels() -> dict[str, dict[str, dict[str, Any]]]:
    """``{"level": {level: {zh, en, cap_severity}}, "kind": {kind: {zh, en, cap_msg_type}}}``."""
    with (TEMPLATES / "labels.toml").open("rb") as fh:
        return tomllib.load(fh)


def evidence_lines(evidence: Mapping[str, Any]) -> list[str]:
    """One readable line per evidence entry; ``summary`` (if any) first, values as JSON."""
    lines = [str(evidence["summary"])] if "summary" in evidence else []
    for key, value in evidence.items():
        if key == "summary":
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}: {text}")
    return lines or ["(none given)"]


def local_time(moment: datetime, timezone: str) -> str:
    """``moment`` in ``timezone`` as ``YYYY-MM-DD HH:MM`` (how notices show times)."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
