"""The real parts the suite needs (PostgreSQL, GStreamer, libVLC, Xvfb, ...): a missing one fails, skipped only by name.

`require("vlc")` in a fixture or test: when the part is there it returns; when it is missing the test FAILS, naming
the part and the cause. A developer who cannot have a part asks for its tests to be skipped by name
(`RTIC_TEST_SKIP=xvfb,vlc`, which wins over RTIC_TEST_REQUIRE); those skips are counted and reported at the end of
the run. `RTIC_TEST_REQUIRE` lists the parts that are required (installer/dev.sh test exports all of them); unset,
every part is required.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter

import pytest

PG_ADMIN_URL = os.environ.get(
    "RTIC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"
)


def _postgresql() -> str | None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN_URL)
    where = f"{url.host}:{url.port or 5432}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return None
    except Exception as exc:  # every cause is reported, none is a skip
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        first = cause[0] if cause else exc.__class__.__name__
        if "password authentication failed" in first:
            return (f"the PostgreSQL server at {where} refused the password of user {url.username!r}: set it with "
                    f"ALTER USER or point RTIC_TEST_PG_ADMIN_URL at an account that may create databases")
        if "Connection refused" in first or "could not connect" in first or "timeout" in first.lower():
            return (f"no PostgreSQL server answers at {where} ({first}): start it with "
                    f"pg_ctlcluster --skip-systemctl-redirect 15 main start")
        return f"the PostgreSQL server at {where} cannot be used: {first}"
    finally:
        engine.dispose()


def _gstreamer() -> str | None:
    from tests.support.rtsp_stream import gstreamer_missing

    return gstreamer_missing()


def _vlc() -> str | None:
    from console.video.vlc_backend import vlc_unavailable

    return vlc_unavailable()


def _program(name: str, package: str):
    def probe() -> str | None:
        return None if shutil.which(name) else f"the program {name} is not on PATH (Debian package {package})"
    return probe


def _wheel() -> str | None:
    import importlib.metadata

    installed = [d for d in importlib.metadata.distributions(name="community-connect-console") if d.read_text("RECORD")]
    if not installed:
        return "the console is not installed in this environment (installer/dev.sh test installs it)"
    files = [line.split(",")[0] for line in installed[0].read_text("RECORD").splitlines()]
    if not any(f.startswith("console/") for f in files):
        return "the console is an editable install: its wheel's contents cannot be checked (pip install .)"
    return None


def _slapd() -> str | None:
    from tests.directory.slapd import slapd_missing

    return slapd_missing()


PROBES = {
    "postgresql": _postgresql,
    "gstreamer": _gstreamer,
    "vlc": _vlc,
    "xvfb": _program("Xvfb", "xvfb"),
    "ffmpeg": _program("ffmpeg", "ffmpeg"),
    "openssl": _program("openssl", "openssl"),
    "wheel": _wheel,
    "slapd": _slapd,
}

_found: dict[str, str | None] = {}
skipped_on_request: Counter[str] = Counter()


def _names(variable: str) -> set[str] | None:
    value = os.environ.get(variable, "").strip()
    if not value:
        return None
    names = {n.strip().lower() for n in value.split(",") if n.strip()}
    if "all" in names:
        return set(PROBES)
    unknown = names - set(PROBES)
    if unknown:
        raise pytest.UsageError(f"{variable} names unknown backends {', '.join(sorted(unknown))}: "
                                f"the backends are {', '.join(PROBES)}")
    return names


def check_settings() -> None:
    """Refuse a misspelt RTIC_TEST_REQUIRE / RTIC_TEST_SKIP before any test runs (a typo must not skip silently)."""
    _names("RTIC_TEST_REQUIRE")
    _names("RTIC_TEST_SKIP")


def missing(name: str) -> str | None:
    """Why the backend `name` cannot be used here, or None (probed once per run)."""
    if name not in _found:
        _found[name] = PROBES[name]()
    return _found[name]


def require(name: str) -> None:
    """Return when backend `name` is there; otherwise fail the test, or skip it when asked to by name."""
    if name in (_names("RTIC_TEST_SKIP") or set()):
        skipped_on_request[name] += 1
        pytest.skip(f"{name} skipped on request (RTIC_TEST_SKIP)")
    reason = missing(name)
    if reason is None:
        return
    required = _names("RTIC_TEST_REQUIRE")
    if required is not None and name not in required:
        skipped_on_request[name] += 1
        pytest.skip(f"{name} is missing and not required (RTIC_TEST_REQUIRE): {reason}")
    pytest.fail(f"required backend {name} is missing: {reason}", pytrace=False)


def report(terminalreporter) -> None:
    """The end-of-run line that says which backends' tests did not run, and how many."""
    if skipped_on_request:
        terminalreporter.section("backends not tested", sep="-", yellow=True)
        for name, count in sorted(skipped_on_request.items()):
            terminalreporter.line(f"{name}: {count} test(s) skipped on request; this run does not test {name}")
