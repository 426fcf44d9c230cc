"""STARTTLS on the SMTP intake, over a real loopback socket (smtplib → aiosmtpd).

- with a certificate configured, STARTTLS is offered and a mail sent over it is stored;
- a TLS session counts as one connection (aiosmtpd announces the encrypted transport as
  a second `connection_made`): with room for one connection, sessions one after the
  other are all admitted;
- FIDUFLOW_SMTP_REQUIRE_TLS refuses mail before STARTTLS with 530, accepts it after;
- without a certificate nothing is offered; half a configuration or an unusable file
  stops the intake at start with a message naming the settings.
"""

import datetime
import ipaddress
import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from domain.settings import Settings
from ingest.smtp import SmtpConfigError, tls_context
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import DocumentRow
from tests.factories import C02_ADDRESS, firm_with_passwords, load
from tests.intake_helpers import mail, pdf_bytes, wire
from tests.test_smtp import Rig, _rig

pytestmark = [pytest.mark.smtp, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _server(
    db: Database, store: FilesystemObjectStore, settings: Settings, **changes: object
) -> Iterator[Rig]:
    """test_smtp's rig with room for one connection, on settings with `changes`."""
    load(db, firm_with_passwords())
    yield from _rig(db, store, settings.model_copy(update=changes), max_connections=1)


@pytest.fixture
def tls_server(sqlite_db, fs_store, settings, certificate) -> Iterator[Rig]:
    cert, key = certificate
    yield from _server(sqlite_db, fs_store, settings, smtp_tls_cert=cert, smtp_tls_key=key)


def _trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def _send(client: smtplib.SMTP, label: str) -> tuple[int, bytes]:
    raw = wire(
        mail(to=C02_ADDRESS, attachments=[(f"{label}.pdf", pdf_bytes(label), "application/pdf")])
    )
    client.mail("bounce@gloor-elektro.example")
    client.rcpt(C02_ADDRESS)
    return client.data(raw)


def test_mail_over_starttls_is_stored_and_a_tls_session_is_one_connection(tls_server, certificate):
    for n in range(3):  # room for one connection: each must be released again
        with smtplib.SMTP("127.0.0.1", tls_server.server.port, timeout=30) as client:
            client.ehlo("sender.example")
            assert client.has_extn("starttls")
            client.starttls(context=_trusting(certificate))
            client.ehlo("sender.example")
            assert isinstance(client.sock, ssl.SSLSocket)
            assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
            code, reply = _send(client, f"tls-{n}")
            assert code == 250, reply
    assert tls_server.count(DocumentRow) == 3


def test_without_starttls_mail_is_still_taken_unless_tls_is_required(
    tls_server, sqlite_db, fs_store, settings, certificate
):
    with smtplib.SMTP("127.0.0.1", tls_server.server.port, timeout=30) as client:
        client.ehlo("sender.example")
        code, _ = _send(client, "plain")  # opportunistic TLS: a plain sender is served
        assert code == 250
    tls_server.server.stop()

    cert, key = certificate
    for rig in _server(
        sqlite_db, fs_store, settings, smtp_tls_cert=cert, smtp_tls_key=key, smtp_require_tls=True
    ):
        with smtplib.SMTP("127.0.0.1", rig.server.port, timeout=30) as client:
            client.ehlo("sender.example")
            code, reply = client.mail("bounce@gloor-elektro.example")
            assert code == 530, reply
            client.starttls(context=_trusting(certificate))
            client.ehlo("sender.example")
            code, reply = _send(client, "required")
            assert code == 250, reply
    assert tls_server.count(DocumentRow) == 2


def test_without_a_certificate_starttls_is_not_offered(sqlite_db, fs_store, settings):
    for rig in _server(sqlite_db, fs_store, settings):
        with smtplib.SMTP("127.0.0.1", rig.server.port, timeout=30) as client:
            client.ehlo("sender.example")
            assert not client.has_extn("starttls")


def test_a_configuration_that_cannot_work_is_refused_at_start(tmp_path, certificate):
    cert, key = certificate
    with pytest.raises(ValidationError, match="FIDUFLOW_SMTP_TLS_CERT and FIDUFLOW_SMTP_TLS_KEY"):
        Settings(data_dir=tmp_path, smtp_tls_cert=cert)
    with pytest.raises(ValidationError, match="FIDUFLOW_SMTP_REQUIRE_TLS needs"):
        Settings(data_dir=tmp_path, smtp_require_tls=True)
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----\n")
    with pytest.raises(SmtpConfigError, match=r"FIDUFLOW_SMTP_TLS_KEY=.*not-a-key\.pem"):
        tls_context(Settings(data_dir=tmp_path, smtp_tls_cert=cert, smtp_tls_key=not_a_key))
    assert tls_context(Settings(data_dir=tmp_path)) is None
    assert tls_context(Settings(data_dir=tmp_path, smtp_tls_cert=cert, smtp_tls_key=key))
