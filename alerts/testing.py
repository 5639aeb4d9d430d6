"""Test support for the alert code: a recording SMTP server and throw-away config directories.

Used by ``tests/test_alerts*.py`` (and handy for trying the notices by hand).  The
server is a real aiosmtpd SMTP server on 127.0.0.1 (aiosmtpd is a test dependency).
"""

from __future__ import annotations

import asyncio
import email
import re
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from email.policy import default
from pathlib import Path
from typing import Any

#: The project's config directory (regions.toml and alerts.toml are copied from it).
PROJECT_CONFIG = Path(__file__).resolve().parent.parent / "config"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Gate:
    """Holds the server's reply to the ``number``-th message (1-based) until released.

    ``stage`` is ``"rcpt"`` (before the message data is received) or ``"data"``
    (after the data is received, before the 250 reply): the two sides of the window
    in which a killed client cannot know whether its message was accepted.
    """

    number: int
    stage: str = "rcpt"
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class RecordingHandler:
    """aiosmtpd handler keeping every accepted message (with envelope recipients)."""

    def __init__(self, gate: Gate | None = None) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.gate = gate
        self._started = 0
        self._lock = threading.Lock()

    async def _hold(self, stage: str, number: int) -> None:
        gate = self.gate
        if gate is not None and gate.stage == stage and gate.number == number:
            gate.reached.set()
            while not gate.release.is_set():
                await asyncio.sleep(0.01)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if not envelope.rcpt_tos:
            with self._lock:
                self._started += 1
                number = self._started
            envelope.jw_number = number
            await self._hold("rcpt", number)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            received = email.message_from_bytes(envelope.original_content, policy=default)
            self.messages.append(received)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            number = len(self.messages)
        await self._hold("data", envelope.jw_number)
        return f"250 OK queued as jw{number}"

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


@contextmanager
def smtp_server(port: int, gate: Gate | None = None, **server_options: Any
                ) -> Iterator[RecordingHandler]:
    """A real SMTP server on 127.0.0.1:``port`` for the duration of the block.

    ``server_options`` go to aiosmtpd (``tls_context``, ``require_starttls``,
    ``ssl_context``, ``authenticator``, ``auth_require_tls`` ...).
    """
    from aiosmtpd.controller import Controller

    handler = RecordingHandler(gate)
    controller = Controller(handler, hostname="127.0.0.1", port=port, **server_options)
    controller.start()
    try:
        yield handler
    finally:
        if gate is not None:
            gate.release.set()
        controller.stop()


def _set_key(text: str, section: str, key: str, value: str) -> str:
    """Set ``key = value`` (TOML literal) inside ``[section]`` of ``text``; add it if absent."""
    start = text.find(f"\n[{section}]\n")
    if start < 0:
        return f"{text}\n[{section}]\n{key} = {value}\n"
    body_start = start + len(section) + 4
    nxt = text.find("\n[", body_start)
    end = len(text) if nxt < 0 else nxt
    body = text[body_start:end]
    pattern = re.compile(rf"^{re.escape(key)}\s*=.*$", re.MULTILINE)
    if value == "":
        new_body = pattern.sub("", body)
    elif pattern.search(body):
        new_body = pattern.sub(lambda _m: f"{key} = {value}", body)
    else:
        new_body = f"{key} = {value}\n{body}"
    return text[:body_start] + new_body + text[end:]


def make_config_dir(target: Path, settings: Mapping[str, str] | None = None,
                    alerts_text: str | None = None) -> Path:
    """A config directory with the project's regions.toml and alerts.toml, adapted.

    ``settings`` maps ``"section.key"`` to a TOML literal (``'"none"'``, ``"2525"``);
    an empty string removes the key.  ``feeds.toml`` is empty (alerts need no feeds).
    """
    target.mkdir(parents=True, exist_ok=True)
    (target / "regions.toml").write_bytes((PROJECT_CONFIG / "regions.toml").read_bytes())
    (target / "feeds.toml").write_text("# no feeds: alert tests\n", encoding="utf-8")
    text = alerts_text or (PROJECT_CONFIG / "alerts.toml").read_text(encoding="utf-8")
    for dotted, value in (settings or {}).items():
        section, _, key = dotted.rpartition(".")
        text = _set_key(text, section, key, value)
    (target / "alerts.toml").write_text(text, encoding="utf-8")
    return target


def local_smtp_settings(port: int) -> dict[str, str]:
    """Settings for a plain, login-less SMTP server on 127.0.0.1:``port`` and quick retries."""
    return {
        "smtp.host": '"127.0.0.1"',
        "smtp.port": str(port),
        "smtp.security": '"none"',
        "smtp.user_env": "",
        "smtp.password_env": "",
        "smtp.timeout": '"PT10S"',
        "retry.first_delay": '"PT0.05S"',
        "retry.max_delay": '"PT0.2S"',
        "cap.status": '"Test"',
    }
