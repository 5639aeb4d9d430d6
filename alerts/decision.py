"""The input of an issuance: the regional decision (levels are ``monitor.warning_grades.Grade``).

A consultation acts on an :class:`IssuanceRequest` (the level to put in force for which
regions, with its evidence): built by hand by
``jointwatch consult --level orange --regions beijing,tianjin``, or adapted with
:func:`from_forecast_decision` from the forecasting core's decision
(``monitor.decision.RegionalDecision``; ``monitor`` never imports ``alerts``, and this
module reads that object by its attributes without importing the forecasting stack).

References
----------
京津冀及周边地区重污染天气预警分级标准 (unified regional warning grading of
Beijing-Tianjin-Hebei and surrounding areas, 2016/2017): four grades blue <
yellow < orange < red; "none" here means no warning in force (a lift).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from monitor.warning_grades import Grade


def parse_grade(value: str) -> Grade:
    """The warning grade named ``value`` (``none blue yellow orange red``, any case)."""
    try:
        return Grade[value.strip().upper()]
    except KeyError:
        raise ValueError(
            f"unknown warning level {value!r}; allowed: {', '.join(g.label for g in Grade)}"
        ) from None


@dataclass(frozen=True)
class IssuanceRequest:
    """What a consultation acts on: a regional warning level for regions, with evidence.

    Kept apart from the forecasting core's richer ``monitor.decision.RegionalDecision``
    because a level can also be given by hand; :func:`from_forecast_decision` adapts one.

    Attributes
    ----------
    level
        The regional warning grade every covered region applies (``Grade.NONE`` = lift).
    regions
        Region ids (keys of ``AppConfig.regions``) the decision covers, in order.
    city_levels
        Per region, per member city (Chinese name as in the feeds), the city's own
        level; a city under a stricter local rule may be above ``level``.
    evidence
        JSON-serialisable facts behind the decision (per-city forecasts, which
        rule fired and why); stored with the issuance and shown in the notice.
    decided_at
        When the decision was made (timezone-aware).
    effective_at
        The common effective start the decision prescribes (timezone-aware), or None
        to let the issuance use issue time + ``[issuance] lead_time``.  Ignored for a
        lift, which takes effect after ``lift_lead_time``.
    """

    level: Grade
    regions: tuple[str, ...]
    city_levels: Mapping[str, Mapping[str, Grade]] = field(default_factory=dict)
    evidence: Mapping[str, Any] = field(default_factory=dict)
    decided_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    effective_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("decided_at", "effective_at"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"IssuanceRequest.{name} must be timezone-aware")
        if not self.regions:
            raise ValueError("IssuanceRequest.regions must name at least one region")
        unknown = set(self.city_levels) - set(self.regions)
        if unknown:
            raise ValueError(
                f"IssuanceRequest.city_levels names regions not in regions: {sorted(unknown)}"
            )


class ForecastDecision(Protocol):
    """What :func:`from_forecast_decision` reads from the forecast side's decision
    (``monitor.decision.RegionalDecision``), without importing the forecasting stack."""

    @property
    def level(self) -> Grade: ...
    @property
    def regions(self) -> tuple[str, ...]: ...
    @property
    def city_levels(self) -> Mapping[str, Mapping[str, Grade]]: ...
    @property
    def rule(self) -> str: ...
    @property
    def why(self) -> str: ...
    @property
    def issue_time(self) -> datetime: ...
    @property
    def effective_start(self) -> datetime: ...
    @property
    def evidence(self) -> Mapping[str, Any]: ...


def from_forecast_decision(decision: ForecastDecision) -> IssuanceRequest:
    """The issuance input for a regional decision made by the forecasting core.

    The rule that fired and why become the ``summary`` and ``rule`` of the evidence
    (shown first in the notices); the forecast's common effective start is kept.
    """
    return IssuanceRequest(
        level=decision.level,
        regions=tuple(decision.regions),
        city_levels=decision.city_levels,
        evidence={"summary": decision.why, "rule": decision.rule, **decision.evidence},
        decided_at=decision.issue_time,
        effective_at=decision.effective_start,
    )


#: A function that makes the decision for a scheduled consultation:
#: ``(app_config, data_dir, now) -> IssuanceRequest | ForecastDecision | None`` (None: no
#: forecast); ``data_dir`` is the data directory of the consultation (its store and models).
DecisionSource = Callable[[Any, Path, datetime], "IssuanceRequest | ForecastDecision | None"]


def load_decision_source(target: str) -> DecisionSource:
    """Import the decision function named ``"module:function"``.

    Raises
    ------
    ValueError
        if the module or the function does not exist.
    """
    module_name, _, func_name = target.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError, ValueError):
        raise ValueError(f"decision source {target!r} cannot be imported") from None
    return func  # type: ignore[no-any-return]
