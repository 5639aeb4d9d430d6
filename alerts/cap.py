"""CAP 1.2 rendering of an issuance (OASIS Common Alerting Protocol, version 1.2).

One document per issuance, identical for every region's notice: ``alert`` with the
issuance id as ``identifier``, ``msgType`` Alert (new) / Update (escalate,
de-escalate) / Cancel (lift) and ``references`` to the issuance replaced; one
``info`` block per (language, region) with category ``Env``, the region's
measures as ``instruction`` and the region as ``area`` with its GB/T 2260 code.

References
----------
OASIS, *Common Alerting Protocol Version 1.2*, OASIS Standard, 1 July 2010,
section 3.2 (element structure) and 3.3.2 (date and time: offsets, "-00:00" for UTC).
The schema is kept in ``alerts/schema/CAP-v1.2.xsd``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

from alerts.config import AlertsConfig
from alerts.state import IssuanceKind, IssuanceRecord
from alerts.wording import evidence_lines, labels
from monitor.config import AppConfig

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
#: The official schema (see ``alerts/schema/README.md`` for its source).
CAP_XSD = Path(__file__).resolve().parent / "schema" / "CAP-v1.2.xsd"
#: geocode ``valueName`` of the Chinese administrative division codes.
GEOCODE_SCHEME = "GB/T 2260"
_LANGUAGES = (("zh", "zh-CN"), ("en", "en-US"))


def cap_time(moment: datetime, timezone: str) -> str:
    """CAP date-time: local offset, no fractional seconds, UTC as ``-00:00`` (CAP 1.2 §3.3.2)."""
    text = moment.astimezone(ZoneInfo(timezone)).replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def cap_filename(issuance_id: str) -> str:
    """File name of the CAP attachment."""
    return f"{issuance_id}.cap.xml"


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        node.text = text
    return node


def _pair(parent: etree._Element, tag: str, name: str, value: str) -> None:
    node = _sub(parent, tag)
    _sub(node, "valueName", name)
    _sub(node, "value", value)


def render_cap(
    issuance: IssuanceRecord,
    previous: IssuanceRecord | None,
    config: AppConfig,
    cfg: AlertsConfig,
) -> bytes:
    """The CAP 1.2 XML document (UTF-8 bytes) of ``issuance``.

    Parameters
    ----------
    issuance
        The issuance to render.
    previous
        The issuance it replaces (required for escalate, de-escalate and lift).
    config, cfg
        Region names (``regions.toml``) and alert settings (sender, geocodes, CAP status).
    """
    tz = cfg.schedule.timezone
    words = labels()
    level, kind = words["level"][issuance.level.label], words["kind"][issuance.kind]
    sender = cfg.smtp.sender
    alert = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _sub(alert, "identifier", issuance.id)
    _sub(alert, "sender", sender)
    _sub(alert, "sent", cap_time(issuance.created_at, tz))
    _sub(alert, "status", cfg.cap.status)
    _sub(alert, "msgType", kind["cap_msg_type"])
    _sub(alert, "scope", cfg.cap.scope)
    if previous is not None:
        _sub(alert, "references",
             f"{sender},{previous.id},{cap_time(previous.created_at, tz)}")
    lifted = issuance.kind == IssuanceKind.LIFT
    shown = words["level"][previous.level.label] if lifted and previous else level
    description = "\n".join(evidence_lines(issuance.evidence))
    for lang, tag in _LANGUAGES:
        event = (f"重污染天气{shown['zh']}预警" if lang == "zh"
                 else f"Heavy air pollution {shown['en']} warning")
        for region_id in issuance.regions:
            region = config.regions[region_id]
            info = _sub(alert, "info")
            _sub(info, "language", tag)
            _sub(info, "category", "Env")
            _sub(info, "event", event)
            _sub(info, "responseType", "AllClear" if lifted else "Execute")
            _sub(info, "urgency", "Past" if lifted else "Expected")
            _sub(info, "severity", level["cap_severity"])
            _sub(info, "certainty", "Likely")
            _sub(info, "effective", cap_time(issuance.effective_at, tz))
            _sub(info, "expires", cap_time(issuance.expires_at, tz))
            _sub(info, "senderName",
                 cfg.cap.sender_name_zh if lang == "zh" else cfg.cap.sender_name_en)
            name = region.name if lang == "zh" else (region.name_en or region.name)
            _sub(info, "headline", f"{event}{kind['zh']}：{name}" if lang == "zh"
                 else f"{event} {kind['en']}: {name}")
            _sub(info, "description", description)
            _sub(info, "instruction", issuance.measures[region_id][lang])
            _pair(info, "parameter", "level", issuance.level.label)
            _pair(info, "parameter", "issuanceKind", issuance.kind.value)
            for city, city_level in issuance.city_levels.get(region_id, {}).items():
                _pair(info, "parameter", "cityLevel", f"{city}={city_level}")
            area = _sub(info, "area")
            _sub(area, "areaDesc", name)
            _pair(area, "geocode", GEOCODE_SCHEME, cfg.regions[region_id].geocode)
    return etree.tostring(alert, xml_declaration=True, encoding="UTF-8", pretty_print=True)
