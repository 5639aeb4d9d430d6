"""The notice e-mail: multipart plain text + HTML (Chinese and English) with the CAP attachment.

Templates are in ``alerts/templates`` (``subject.txt.j2``, ``notice.txt.j2``,
``notice.html.j2``).  The message is rendered once, when the issuance is created,
and stored in the outbox: every (re)send of a notice is byte for byte the same,
with the same deterministic Message-ID ``<issuance-id.region@sender-domain>``.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from alerts.cap import cap_filename
from alerts.config import AlertsConfig
from alerts.state import IssuanceRecord
from alerts.wording import TEMPLATES, evidence_lines, labels, local_time
from monitor.config import AppConfig

#: Header naming the issuance, for receivers that file or deduplicate by issuance.
ISSUANCE_HEADER = "X-Jointwatch-Issuance"


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html.j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def message_id(issuance_id: str, region: str, domain: str) -> str:
    """The notice's Message-ID, its idempotency key: ``<issuance-id.region@domain>``."""
    return f"<{issuance_id}.{region}@{domain}>"


def render_notice(
    issuance: IssuanceRecord,
    previous: IssuanceRecord | None,
    region_id: str,
    cap_xml: bytes,
    config: AppConfig,
    cfg: AlertsConfig,
) -> EmailMessage:
    """The e-mail to ``region_id`` for ``issuance``, with ``cap_xml`` attached."""
    words = labels()
    tz = cfg.schedule.timezone
    region = config.regions[region_id]
    context = {
        "issuance": issuance,
        "previous": previous,
        "previous_level": words["level"][previous.level.label] if previous else None,
        "level": words["level"][issuance.level.label],
        "kind": words["kind"][issuance.kind],
        "labels": words,
        "region": {"name": region.name, "name_en": region.name_en or region.name},
        "all_regions": [
            {"name": config.regions[r].name, "name_en": config.regions[r].name_en or r}
            for r in issuance.regions
        ],
        "measures": issuance.measures[region_id],
        "city_levels": issuance.city_levels.get(region_id, {}),
        "evidence": evidence_lines(issuance.evidence),
        "effective_local": local_time(issuance.effective_at, tz),
        "expires_local": local_time(issuance.expires_at, tz),
        "timezone": tz,
        "cap_filename": cap_filename(issuance.id),
        "sender_name": cfg.smtp.sender_name,
    }
    env = _environment()
    subject = env.get_template("subject.txt.j2").render(context).strip()
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = subject
    msg["From"] = formataddr((cfg.smtp.sender_name, cfg.smtp.sender))
    msg["To"] = ", ".join(cfg.regions[region_id].recipients)
    msg["Date"] = format_datetime(issuance.created_at)
    msg["Message-ID"] = message_id(issuance.id, region_id, cfg.message_id_domain)
    msg[ISSUANCE_HEADER] = issuance.id
    if previous is not None:
        ref = message_id(previous.id, region_id, cfg.message_id_domain)
        if region_id in previous.regions:
            msg["References"] = ref
    msg.set_content(env.get_template("notice.txt.j2").render(context))
    msg.add_alternative(
        env.get_template("notice.html.j2").render({**context, "subject": subject}),
        subtype="html",
    )
    msg.add_attachment(
        cap_xml, maintype="application", subtype="cap+xml", filename=cap_filename(issuance.id)
    )
    return msg
