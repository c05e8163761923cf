"""A real OpenLDAP slapd for the directory sign-in tests: loopback, a free port, a config folder of its own.

`Slapd(folder)` writes a slapd.conf (schema, an mdb database, TLS from a test CA made here with `cryptography`), loads
the LDIF of people and nested groups with slapadd, and runs slapd in the foreground as the current user (never the
system service). It listens for LDAPS on one port and for LDAP (StartTLS) on another. `stop()` ends only the process
it started. Accounts look like Active Directory's where the console reads them: `userAccountControl` (bit 2:
disabled) and `accountExpires` (Windows FILETIME), from a small test schema, since slapd has no such attributes.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SUFFIX = "dc=example,dc=gov"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "directory-admin-secret"
SERVICE_DN = f"cn=console-svc,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-account-secret"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
PASSWORD = "Correct-Horse-42"  # every test person's password
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
NEVER_EXPIRES = 9223372036854775807
PLACEHOLDER = f"cn=nobody,{SUFFIX}"


def _program(name: str) -> str | None:
    folder = os.environ.get("RTIC_TEST_SLAPD_DIR")  # where slapd and slapadd are, when not on PATH or /usr/sbin
    if folder:
        return str(Path(folder) / name) if (Path(folder) / name).is_file() else None
    return shutil.which(name) or next((str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name)
                                       if p.is_file()), None)


def slapd_missing() -> str | None:
    """Why the test directory server cannot run here, or None."""
    for name in ("slapd", "slapadd"):
        if _program(name) is None:
            return f"the program {name} is not installed (Debian package slapd)"
    if not (MODULE_DIR / "back_mdb.so").exists():
        return f"slapd's mdb backend is missing from {MODULE_DIR} (Debian package slapd)"
    if not (SCHEMA_DIR / "inetorgperson.schema").exists():
        return f"slapd's schema files are missing from {SCHEMA_DIR} (Debian package slapd)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- a test certificate authority ---------------------------------------------------------------------------------

def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Agency IT"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(folder: Path, label: str) -> tuple[Path, object, x509.Certificate]:
    """A self-signed CA: (its certificate file, its key, its certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(label)).issuer_name(_name(label))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .sign(key, hashes.SHA256()))
    path = folder / f"{label}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert


def make_server_cert(folder: Path, ca_key, ca_cert: x509.Certificate,
                     names: tuple[str, ...] = ("localhost", "127.0.0.1")) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    alt = []
    for n in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            alt.append(x509.DNSName(n))
    cert = (x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


# --- the directory's contents -------------------------------------------------------------------------------------

TEST_SCHEMA = """\
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.159 NAME 'accountExpires' EQUALITY integerMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.19.1 NAME 'consoleTestAccount' AUXILIARY
  MAY ( userAccountControl $ accountExpires ) )
"""

# uid -> (display name, userAccountControl, accountExpires)
PEOPLE_ROWS = {
    "alice": ("Alice Archer", 512, NEVER_EXPIRES),     # dispatcher through nested groups (patrol -> dispatch)
    "bob": ("Bob Baker", 512, 0),                      # detective (direct member); 0: never expires
    "carol": ("Carol Cole", 514, NEVER_EXPIRES),       # disabled (512 | 2)
    "dave": ("Dave Dunn", 512, 116444736000000000 + 10_000_000 * 946684800),  # expired on 2000-01-01
    "erin": ("Erin Ellis", 512, NEVER_EXPIRES),        # in no mapped group
    "frank": ("Frank Ford", 512, NEVER_EXPIRES),       # the directory's administrator for the console
}

# group cn -> members (uid=... people or cn=... groups)
GROUP_ROWS = {
    "console-dispatch": ["cn=patrol"],
    "patrol": ["cn=night-shift", "uid=alice"],
    "night-shift": ["uid=alice"],
    "detectives": ["uid=bob"],
    "console-admins": ["uid=frank"],
    "parking": ["uid=erin"],
    "disabled-dispatch": ["uid=carol", "uid=dave"],
}
GROUP_ROLES = {f"cn=console-dispatch,{GROUPS}": "dispatcher", f"cn=detectives,{GROUPS}": "detective",
               f"cn=console-admins,{GROUPS}": "admin", f"cn=disabled-dispatch,{GROUPS}": "dispatcher"}


def group_dn(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


def person_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def _member_dn(ref: str) -> str:
    kind, name = ref.split("=", 1)
    return person_dn(name) if kind == "uid" else group_dn(name)


def ldif() -> str:
    blocks = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example Agency",
              f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
              f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
              f"dn: ou=services,{SUFFIX}\nobjectClass: organizationalUnit\nou: services",
              f"dn: {SERVICE_DN}\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: console-svc\n"
              f"sn: service\nuserPassword: {SERVICE_PASSWORD}"]
    for uid, (display, control, expires) in PEOPLE_ROWS.items():
        given, family = display.split(" ", 1)
        blocks.append(f"dn: {person_dn(uid)}\nobjectClass: inetOrgPerson\nobjectClass: consoleTestAccount\n"
                      f"uid: {uid}\ncn: {display}\nsn: {family}\ngivenName: {given}\ndisplayName: {display}\n"
                      f"mail: {uid}@example.gov\nuserPassword: {PASSWORD}\nuserAccountControl: {control}\n"
                      f"accountExpires: {expires}")
    for cn, members in GROUP_ROWS.items():
        # groupOfNames needs a member: an empty group keeps this placeholder, as directories often do
        lines = f"member: {PLACEHOLDER}\n" + "".join(f"member: {_member_dn(m)}\n" for m in members)
        blocks.append(f"dn: {group_dn(cn)}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}".rstrip("\n"))
    return "\n\n".join(blocks) + "\n"


def _config(folder: Path, ca: Path, cert: Path, key: Path) -> str:
    schemas = "".join(f"include {SCHEMA_DIR / n}.schema\n" for n in ("core", "cosine", "nis", "inetorgperson"))
    return f"""{schemas}include {folder / 'test.schema'}
pidfile {folder / 'slapd.pid'}
argsfile {folder / 'slapd.args'}
modulepath {MODULE_DIR}
moduleload back_mdb
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
sizelimit 500

database mdb
maxsize 33554432
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {folder / 'data'}
access to attrs=userPassword by anonymous auth by self read by * none
access to * by users read by * none
"""


class Slapd:
    """One slapd process on 127.0.0.1: LDAPS on `ldaps_port`, LDAP with StartTLS on `ldap_port`."""

    def __init__(self, folder: Path, cert_names: tuple[str, ...] = ("localhost", "127.0.0.1")):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "data").mkdir(exist_ok=True)
        self.ca_file, ca_key, ca_cert = make_ca(folder, "test-ca")
        self.cert_file, self.key_file = make_server_cert(folder, ca_key, ca_cert, cert_names)
        (folder / "test.schema").write_text(TEST_SCHEMA)
        self.config = folder / "slapd.conf"
        self.config.write_text(_config(folder, self.ca_file, self.cert_file, self.key_file))
        (folder / "people.ldif").write_text(ldif())
        load = subprocess.run([_program("slapadd"), "-f", str(self.config), "-l", str(folder / "people.ldif")],
                              capture_output=True, text=True, timeout=60)
        if load.returncode != 0:
            raise RuntimeError(f"slapadd failed: {load.stderr.strip()[-2000:]}")
        self.ldaps_port, self.ldap_port = free_port(), free_port()
        self.log = folder / "slapd.log"
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [_program("slapd"), "-f", str(self.config), "-d", "0",
             "-h", f"ldaps://127.0.0.1:{self.ldaps_port}/ ldap://127.0.0.1:{self.ldap_port}/"],
            stdout=self._log_file, stderr=subprocess.STDOUT)
        self._wait_listening()

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @property
    def ldap_url(self) -> str:
        return f"ldap://127.0.0.1:{self.ldap_port}"

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited ({self.process.returncode}): {self.log.read_text()[-2000:]}")
            try:
                for port in (self.ldaps_port, self.ldap_port):
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)  # a bounded wait for the process to listen, checked each time
        self.stop()
        raise RuntimeError(f"slapd did not listen within 20 s: {self.log.read_text()[-2000:]}")

    @contextlib.contextmanager
    def admin(self):
        """An ldap3 connection bound as the directory's administrator, over LDAPS with the test CA; closed after."""
        import ldap3

        from console.services.directory_auth import _VerifiedTls

        tls = _VerifiedTls(str(self.ca_file))
        server = ldap3.Server("127.0.0.1", port=self.ldaps_port, use_ssl=True, tls=tls, connect_timeout=5)
        conn = ldap3.Connection(server, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True, receive_timeout=5)
        try:
            yield conn
        finally:
            conn.unbind()

    def modify(self, dn: str, changes: dict) -> None:
        with self.admin() as conn:
            if not conn.modify(dn, changes):
                raise RuntimeError(f"modify {dn} failed: {conn.result}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log_file.close()

    def __enter__(self) -> "Slapd":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def write_password_env(name: str = "RTIC_TEST_LDAP_BIND_PASSWORD") -> str:
    os.environ[name] = SERVICE_PASSWORD
    return name
