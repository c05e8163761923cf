"""Real SMTP servers on loopback for the bulletin outbox: aiosmtpd with mandatory STARTTLS (a test CA made with
`cryptography`) and sign-in, and hostile relays (one that accepts and never speaks, one that answers 5xx/4xx).

`SmtpRelay` stores every message it accepted (`messages`: email.message.Message objects, with the envelope);
`down()` and `up()` stop and start it on the same port, as a relay restarting would.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER, PASSWORD = "rtic-console", "relay-secret-7f3a"


def make_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1; returns (ca.pem, server.pem, server.key)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RTIC test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, relay: "SmtpRelay"):
        self.relay = relay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = self.relay.answers.get(address.lower())
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.relay.data_answer:
            return self.relay.data_answer
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.relay.lock:
            self.relay.messages.append((tuple(envelope.rcpt_tos), message, session.ssl is not None))
            self.relay.arrival_times.append(time.monotonic())
        self.relay.arrived.set()
        return "250 Message accepted"


class SmtpRelay:
    """aiosmtpd on 127.0.0.1 requiring STARTTLS and (by default) the sign-in USER/PASSWORD."""

    def __init__(self, folder: Path, require_auth: bool = True, data_size_limit: int = 33_554_432):
        self.ca, cert, key = make_ca(folder)
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(cert, key)
        self.port = free_port()
        self.require_auth = require_auth
        self.data_size_limit = data_size_limit
        self.messages: list = []
        self.arrival_times: list[float] = []  # time.monotonic() of each accepted message (benchmarks)
        self.answers: dict[str, str] = {}  # address -> a reply to RCPT TO (e.g. "550 no such user")
        self.data_answer = ""  # a reply to DATA instead of accepting
        self.logins: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()
        self.controller: Controller | None = None

    def _auth(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append((user, password))
            return AuthResult(success=(user, password) == (USER, PASSWORD))
        return AuthResult(success=False)

    def up(self) -> "SmtpRelay":
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, tls_context=self.tls,
                                     require_starttls=True, auth_required=self.require_auth, auth_require_tls=True,
                                     authenticator=self._auth, data_size_limit=self.data_size_limit,
                                     server_hostname="localhost", ready_timeout=10)
        self.controller.start()
        return self

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.down()


class SilentRelay:
    """A hostile relay: accepts connections and never says a word (or, with `greeting`, says it and then nothing)."""

    def __init__(self, greeting: bytes = b""):
        self.greeting = greeting
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(conn)
            if self.greeting:
                conn.sendall(self.greeting)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(2)
        for conn in self.accepted:
            conn.close()
        self.sock.close()
