"""Issuance lifecycle on a real SQLite file: kinds, references, no-change, confirmation, CAP."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from email.policy import default
from pathlib import Path

import pytest
import xmlschema
from lxml import etree
from sqlalchemy import func, select

from alerts.cap import CAP_NS, CAP_XSD
from alerts.config import AlertsConfig, load_alerts_config
from alerts.decision import IssuanceRequest, from_forecast_decision, parse_grade
from alerts.issuance import confirm, confirm_due, consult, in_force, override
from alerts.state import (
    IssuanceKind,
    IssuanceStatus,
    NoticeStatus,
    consultations,
    issuances,
    notices,
    open_state,
)
from alerts.testing import local_smtp_settings, make_config_dir
from monitor.config import AppConfig, ConfigError, load_config
from monitor.warning_grades import Grade

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 Beijing time, eve of the March 2026 episode
BTH = ("beijing", "tianjin", "hebei")
CAP_SCHEMA = xmlschema.XMLSchema(CAP_XSD)


def setup(tmp_path: Path, **settings: str) -> tuple[AppConfig, AlertsConfig, object]:
    cdir = make_config_dir(tmp_path / "config", {**local_smtp_settings(2525), **settings})
    config = load_config(cdir)
    cfg = load_alerts_config(config)
    return config, cfg, open_state(cfg.state_url(tmp_path))


def decision(level: Grade, at: datetime, regions: tuple[str, ...] = BTH) -> IssuanceRequest:
    return IssuanceRequest(
        level=level, regions=regions, decided_at=at,
        city_levels={"hebei": {"石家庄市": Grade.RED, "保定市": level}} if "hebei" in regions
        else {},
        evidence={"summary": "PM2.5 daily AQI > 200 forecast for 3 days", "rule": "test"},
    )


def stored_messages(engine: object, issuance_id: str) -> dict[str, Message]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(select(notices.c.region, notices.c.message)
                            .where(notices.c.issuance_id == issuance_id)).all()
    return {region: email.message_from_bytes(raw, policy=default) for region, raw in rows}


def cap_of(msg: Message) -> bytes:
    (part,) = [p for p in msg.walk() if p.get_content_type() == "application/cap+xml"]
    return part.get_payload(decode=True)


def count(engine: object, table: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_new_issuance_one_notice_per_region_same_id_and_effective_time(tmp_path: Path) -> None:
    config, cfg, engine = setup(tmp_path)
    result = consult(engine, decision(Grade.ORANGE, T0), config, cfg, T0)
    assert result.outcome == "issued"
    record = result.issuance
    assert record.kind == IssuanceKind.NEW and record.previous_id is None
    assert record.effective_at == T0 + timedelta(hours=24)
    assert record.expires_at == record.effective_at + timedelta(days=3)
    messages = stored_messages(engine, record.id)
    assert sorted(messages) == sorted(BTH)
    for region, msg in messages.items():
        assert msg["Message-ID"] == f"<{record.id}.{region}@jointwatch.example.org>"
        assert msg["X-Jointwatch-Issuance"] == record.id
        assert msg["To"] == cfg.regions[region].recipients[0]
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert "橙色" in text and "orange" in text and "2026-03-03 10:00" in text
        assert cfg.regions[region].measures["orange"].zh in text
        assert cfg.regions[region].measures["orange"].en in html
        assert "PM2.5 daily AQI > 200 forecast for 3 days" in text
    assert "石家庄市：红色" in messages["hebei"].get_body(("plain",)).get_content()
    # the same CAP document goes to every region, and it is valid CAP 1.2
    caps = {cap_of(m) for m in messages.values()}
    assert len(caps) == 1
    (cap,) = caps
    CAP_SCHEMA.validate(cap)
    doc = etree.fromstring(cap)
    ns = {"c": CAP_NS}
    assert doc.findtext("c:identifier", namespaces=ns) == record.id
    assert doc.findtext("c:msgType", namespaces=ns) == "Alert"
    assert doc.findtext("c:status", namespaces=ns) == "Test"
    assert doc.find("c:references", namespaces=ns) is None
    assert {e.text for e in doc.iterfind("c:info/c:effective", namespaces=ns)} == {
        "2026-03-03T10:00:00+08:00"}
    assert {e.text for e in doc.iterfind("c:info/c:category", namespaces=ns)} == {"Env"}
    assert {e.text for e in doc.iterfind("c:info/c:severity", namespaces=ns)} == {"Severe"}
    geocodes = {e.text for e in doc.iterfind("c:info/c:area/c:geocode/c:value", namespaces=ns)}
    assert geocodes == {"110000", "120000", "130000"}
    assert count(engine, consultations) == 1


def test_same_level_again_issues_nothing(tmp_path: Path) -> None:
    config, cfg, engine = setup(tmp_path)
    first = consult(engine, decision(Grade.ORANGE, T0), config, cfg, T0)
    later = T0 + timedelta(hours=6)
    again = consult(engine, decision(Grade.ORANGE, later), config, cfg, later)
    assert again.outcome == "unchanged" and again.issuance.id == first.issuance.id
    assert count(engine, issuances) == 1 and count(engine, notices) == 3
    assert count(engine, consultations) == 2
    # a lift when nothing is in force is "unchanged" as well
    _c2, _cfg2, fresh = setup(tmp_path / "other")
    assert consult(fresh, decision(Grade.NONE, T0), config, cfg, T0).outcome == "unchanged"
    assert count(fresh, notices) == 0


@pytest.mark.parametrize(
    ("second", "kind", "msg_type"),
    [(Grade.RED, IssuanceKind.ESCALATE, "Update"),
     (Grade.YELLOW, IssuanceKind.DEESCALATE, "Update"),
     (Grade.NONE, IssuanceKind.LIFT, "Cancel")],
)
def test_change_of_level_references_previous_issuance(
    tmp_path: Path, second: Grade, kind: IssuanceKind, msg_type: str
) -> None:
    config, cfg, engine = setup(tmp_path)
    first = consult(engine, decision(Grade.ORANGE, T0), config, cfg, T0).issuance
    later = T0 + timedelta(hours=6)
    # the new decision covers fewer regions: the dropped one is still told
    result = consult(engine, decision(second, later, ("beijing", "tianjin")), config, cfg, later)
    record = result.issuance
    assert result.outcome == "issued"
    assert record.kind == kind and record.previous_id == first.id
    assert record.regions == ["beijing", "tianjin", "hebei"]
    expected_lead = timedelta(0) if second == Grade.NONE else timedelta(hours=24)
    assert record.effective_at == later + expected_lead
    messages = stored_messages(engine, record.id)
    assert len(messages) == 3
    for region, msg in messages.items():
        assert msg["References"] == f"<{first.id}.{region}@jointwatch.example.org>"
        assert first.id in msg.get_body(("plain",)).get_content()
    cap = cap_of(messages["beijing"])
    CAP_SCHEMA.validate(cap)
    doc = etree.fromstring(cap)
    ns = {"c": CAP_NS}
    assert doc.findtext("c:msgType", namespaces=ns) == msg_type
    references = doc.findtext("c:references", namespaces=ns)
    assert references == f"{cfg.smtp.sender},{first.id},2026-03-02T10:00:00+08:00"
    with engine.connect() as conn:
        now_in_force = in_force(conn, later)
    assert (now_in_force is None) == (second == Grade.NONE)


def test_expired_warning_is_no_longer_in_force(tmp_path: Path) -> None:
    config, cfg, engine = setup(tmp_path)
    first = consult(engine, decision(Grade.ORANGE, T0), config, cfg, T0).issuance
    after_expiry = first.expires_at + timedelta(minutes=1)
    result = consult(engine, decision(Grade.ORANGE, after_expiry), config, cfg, after_expiry)
    assert result.outcome == "issued" and result.issuance.kind == IssuanceKind.NEW
    assert result.issuance.previous_id is None


def test_region_without_recipients_writes_nothing(tmp_path: Path) -> None:
    config, cfg, engine = setup(tmp_path)
    with pytest.raises(ConfigError, match=r"alerts\.toml: regions\.zhejiang"):
        consult(engine, decision(Grade.RED, T0, ("beijing", "zhejiang")), config, cfg, T0)
    assert count(engine, issuances) == count(engine, notices) == 0
    assert count(engine, consultations) == 0


def test_confirmation_step_holds_notices_until_confirmed(tmp_path: Path) -> None:
    config, cfg, engine = setup(tmp_path, **{"issuance.confirmation_required": "true"})
    record = consult(engine, decision(Grade.ORANGE, T0), config, cfg, T0).issuance
    assert record.status == IssuanceStatus.PENDING
    assert record.auto_confirm_at == T0 + timedelta(hours=1)
    with engine.connect() as conn:
        assert in_force(conn, T0) is None
        statuses = set(conn.execute(select(notices.c.status)).scalars())
    assert statuses == {NoticeStatus.HELD}
    # the same decision again waits for the same issuance
    again = consult(engine, decision(Grade.ORANGE, T0), config, cfg, T0)
    assert again.outcome == "awaiting-confirmation" and again.issuance.id == record.id
    confirmed = confirm(engine, record.id, "duty officer", T0 + timedelta(minutes=5))
    assert confirmed.status == IssuanceStatus.CONFIRMED
    with engine.connect() as conn:
        assert set(conn.execute(select(notices.c.status)).scalars()) == {NoticeStatus.QUEUED}
    with pytest.raises(ValueError, match="not pending"):
        confirm(engine, record.id, "duty officer", T0)


def test_auto_confirm_deadline_and_superseding(tmp_path: Path) -> None:
    config, cfg, engine = setup(tmp_path, **{"issuance.confirmation_required": "true"})
    first = consult(engine, decision(Grade.YELLOW, T0), config, cfg, T0).issuance
    # a different decision before confirmation supersedes the pending issuance
    second = consult(engine, decision(Grade.ORANGE, T0 + timedelta(minutes=10)), config, cfg,
                     T0 + timedelta(minutes=10)).issuance
    with engine.connect() as conn:
        status = dict(conn.execute(select(issuances.c.id, issuances.c.status)).all())
        cancelled = set(conn.execute(select(notices.c.status)
                                     .where(notices.c.issuance_id == first.id)).scalars())
    assert status[first.id] == IssuanceStatus.SUPERSEDED
    assert cancelled == {NoticeStatus.CANCELLED}
    assert confirm_due(engine, T0 + timedelta(minutes=30)) == []
    assert confirm_due(engine, T0 + timedelta(minutes=71)) == [second.id]


def test_override_replaces_pending_level_with_reason(tmp_path: Path) -> None:
    config, cfg, engine = setup(tmp_path, **{"issuance.confirmation_required": "true"})
    pending = consult(engine, decision(Grade.ORANGE, T0), config, cfg, T0).issuance
    later = T0 + timedelta(minutes=20)
    result = override(engine, pending.id, Grade.RED, "upwind plume seen on satellite",
                      "centre director", config, cfg, later)
    record = result.issuance
    assert result.outcome == "issued" and record.level == Grade.RED
    assert record.status == IssuanceStatus.CONFIRMED
    assert record.confirmed_by == "centre director"
    assert record.evidence["override"]["reason"] == "upwind plume seen on satellite"
    assert record.evidence["override"]["of"] == pending.id
    with engine.connect() as conn:
        old = conn.execute(select(issuances.c.status).where(issuances.c.id == pending.id)
                           ).scalar_one()
    assert old == IssuanceStatus.OVERRIDDEN
    with pytest.raises(ValueError, match="reason"):
        override(engine, record.id, Grade.NONE, " ", "x", config, cfg, later)


def test_regional_decision_input_is_checked() -> None:
    assert parse_grade(" Orange ") == Grade.ORANGE
    with pytest.raises(ValueError, match="unknown warning level 'purple'"):
        parse_grade("purple")
    with pytest.raises(ValueError, match="timezone-aware"):
        IssuanceRequest(Grade.RED, BTH, decided_at=datetime(2026, 3, 2, 10))
    with pytest.raises(ValueError, match="at least one region"):
        IssuanceRequest(Grade.RED, (), decided_at=T0)
    with pytest.raises(ValueError, match="not in regions"):
        IssuanceRequest(Grade.RED, ("beijing",), {"hebei": {"保定市": Grade.RED}},
                         decided_at=T0)


def test_effective_time_is_rounded_up_to_the_whole_hour(tmp_path: Path) -> None:
    config, cfg, engine = setup(tmp_path)
    at = T0 + timedelta(minutes=7, seconds=3, microseconds=5)
    record = consult(engine, decision(Grade.BLUE, at), config, cfg, at).issuance
    assert record.effective_at == T0 + timedelta(hours=25)


def test_evidence_text_is_escaped_in_the_html_part(tmp_path: Path) -> None:
    config, cfg, engine = setup(tmp_path)
    d = IssuanceRequest(Grade.YELLOW, ("beijing",), decided_at=T0,
                         evidence={"summary": "AQI <b>& 210</b>", "cities": ["北京市"]})
    record = consult(engine, d, config, cfg, T0).issuance
    msg = stored_messages(engine, record.id)["beijing"]
    html = msg.get_body(("html",)).get_content()
    assert "AQI &lt;b&gt;&amp; 210&lt;/b&gt;" in html and "<b>&" not in html
    assert "AQI <b>& 210</b>" in msg.get_body(("plain",)).get_content()
    assert 'cities: ["北京市"]' in msg.get_body(("plain",)).get_content()


def test_effective_time_prescribed_by_the_decision_is_used(tmp_path: Path) -> None:
    config, cfg, engine = setup(tmp_path)
    start = datetime(2026, 3, 3, 20, 0, tzinfo=UTC)  # 04:00 Beijing time
    d = IssuanceRequest(Grade.ORANGE, BTH, decided_at=T0, effective_at=start)
    record = consult(engine, d, config, cfg, T0).issuance
    assert record.effective_at == start and record.expires_at == start + timedelta(days=3)
    with pytest.raises(ValueError, match="effective_at must be timezone-aware"):
        IssuanceRequest(Grade.RED, BTH, decided_at=T0, effective_at=datetime(2026, 3, 4))


def test_forecast_evidence_with_numpy_and_times_is_stored_as_json(tmp_path: Path) -> None:
    import numpy as np

    config, cfg, engine = setup(tmp_path)
    evidence = {"aqi": np.array([212.0, 305.5]), "max": np.float64(305.5),
                "days": [date(2026, 3, 3), date(2026, 3, 4)], "k": np.int64(2)}
    d = IssuanceRequest(Grade.ORANGE, BTH, decided_at=T0, evidence=evidence)
    record = consult(engine, d, config, cfg, T0).issuance
    with engine.connect() as conn:
        stored = conn.execute(select(issuances.c.evidence)).scalar_one()
    assert stored == record.evidence == {
        "aqi": [212.0, 305.5], "max": 305.5, "days": ["2026-03-03", "2026-03-04"], "k": 2}


def test_decision_of_the_forecasting_core_drives_an_issuance(tmp_path: Path) -> None:
    forecast_side = pytest.importorskip("monitor.decision")
    config, cfg, engine = setup(tmp_path)
    start = datetime(2026, 3, 3, 16, 0, tzinfo=UTC)  # local midnight, >= 24 h after T0
    made = forecast_side.RegionalDecision(
        level=Grade.ORANGE, area="jjj", regions=BTH,
        city_levels={"hebei": {"石家庄市": Grade.RED, "保定市": Grade.ORANGE}},
        own_levels={"hebei": {"石家庄市": Grade.RED, "保定市": Grade.YELLOW}},
        rule="k_of_n(k=2)", why="2 of 15 member cities reach orange (2 needed)",
        issue_time=T0, effective_start=start, evidence={"cities": {"hebei": {}}},
    )
    record = consult(engine, from_forecast_decision(made), config, cfg, T0).issuance
    assert record.effective_at == start and record.level == Grade.ORANGE
    assert record.city_levels["hebei"] == {"石家庄市": "red", "保定市": "orange"}
    assert record.evidence["summary"] == "2 of 15 member cities reach orange (2 needed)"
    text = stored_messages(engine, record.id)["hebei"].get_body(("plain",)).get_content()
    assert "2 of 15 member cities reach orange" in text and "2026-03-04 00:00" in text
