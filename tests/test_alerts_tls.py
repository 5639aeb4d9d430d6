"""SMTP security and login against a real aiosmtpd server: STARTTLS, implicit TLS, AUTH."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from alerts.config import load_alerts_config, smtp_login
from alerts.decision import IssuanceRequest
from alerts.issuance import consult
from alerts.report import notice_rows
from alerts.sender import send_due
from alerts.state import open_state
from alerts.testing import free_port, local_smtp_settings, make_config_dir, smtp_server
from monitor.config import load_config
from monitor.warning_grades import Grade

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def deliver(tmp_path: Path, port: int, settings: dict[str, str],
            env: dict[str, str] | None = None) -> list[tuple[str, int, str | None]]:
    cdir = make_config_dir(tmp_path / "config", {**local_smtp_settings(port), **settings})
    config = load_config(cdir)
    cfg = load_alerts_config(config)
    engine = open_state(cfg.state_url(tmp_path / "var"))
    decision = IssuanceRequest(Grade.RED, ("beijing", "tianjin"), decided_at=T0)
    consult(engine, decision, config, cfg, T0)
    send_due(engine, cfg, smtp_login(cfg, env or {}))
    return [(r.status, r.attempts, r.last_error) for r in notice_rows(engine)]


class Passwords:
    """aiosmtpd authenticator accepting one user/password pair."""

    def __init__(self, user: str, password: str) -> None:
        self.expected = LoginPassword(user.encode(), password.encode())

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        return AuthResult(success=auth_data == self.expected)


def test_starttls_with_login(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    port = free_port()
    settings = {"smtp.security": '"starttls"', "smtp.ca_file": f'"{certificate[0]}"',
                "smtp.user_env": '"JW_USER"', "smtp.password_env": '"JW_PASS"'}
    with smtp_server(port, tls_context=server_context(certificate), require_starttls=True,
                     authenticator=Passwords("centre", "s3cret"), auth_required=True) as server:
        rows = deliver(tmp_path, port, settings, {"JW_USER": "centre", "JW_PASS": "s3cret"})
    assert [r[:2] for r in rows] == [("sent", 1), ("sent", 1)]
    assert len(server.messages) == 2


def test_implicit_tls(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    port = free_port()
    settings = {"smtp.security": '"ssl"', "smtp.ca_file": f'"{certificate[0]}"'}
    with smtp_server(port, ssl_context=server_context(certificate)) as server:
        rows = deliver(tmp_path, port, settings)
    assert [r[:2] for r in rows] == [("sent", 1), ("sent", 1)]
    assert len(server.messages) == 2


def test_untrusted_certificate_is_not_used(tmp_path: Path, certificate: tuple[Path, Path]
                                           ) -> None:
    port = free_port()
    with smtp_server(port, tls_context=server_context(certificate),
                     require_starttls=True) as server:
        rows = deliver(tmp_path, port, {"smtp.security": '"starttls"'})  # system CAs only
    assert [r[:2] for r in rows] == [("queued", 1), ("queued", 1)]
    assert all("CERTIFICATE_VERIFY_FAILED" in r[2] for r in rows)
    assert server.messages == []


def test_wrong_password_keeps_notices_queued(tmp_path: Path, certificate: tuple[Path, Path]
                                             ) -> None:
    port = free_port()
    settings = {"smtp.security": '"starttls"', "smtp.ca_file": f'"{certificate[0]}"',
                "smtp.user_env": '"JW_USER"', "smtp.password_env": '"JW_PASS"'}
    with smtp_server(port, tls_context=server_context(certificate), require_starttls=True,
                     authenticator=Passwords("centre", "s3cret"), auth_required=True) as server:
        rows = deliver(tmp_path, port, {**settings, "smtp.timeout": '"PT2S"'},
                       {"JW_USER": "centre", "JW_PASS": "wrong"})
    assert [r[:2] for r in rows] == [("queued", 1), ("queued", 1)]
    assert all(r[2].startswith("connect:") for r in rows)
    assert server.messages == []
