"""One redaction for every URL in a message or a log line, and every place that logs or shows a URL keeps to it."""

from __future__ import annotations

import io
import logging

import pytest

from console.domain.redaction import RedactingFilter, redact
from console.errors import UserError

SECRETS = ("hunter22", "tok-998877", "KEY123", "SIG456", "s3cr3t")
HOSTILE_URL = "https://officer:hunter22@cad.example.gov:8443/eido?token=tok-998877&api_key=KEY123&page=2"


def _clean(text: str) -> bool:
    return not any(secret in text for secret in SECRETS)


@pytest.mark.parametrize("text, kept", [
    ("rtsp://officer:hunter22@10.0.0.5/s", "rtsp://***@10.0.0.5/s"),
    ("rtsp://officer@10.0.0.5/s", "rtsp://***@10.0.0.5/s"),
    (HOSTILE_URL, "page=2"),
    ("https://gw/whep?X-Amz-Signature=SIG456&cam=1", "cam=1"),
    ("https://gw/whep?access_token=tok-998877", "access_token=***"),
    ("https://gw/x?sig=SIG456;password=hunter22", "sig=***"),
    ("https://gw/x#auth=tok-998877", "#auth=***"),
    ("postgresql+psycopg://u:***@db/rtic?password=s3cr3t", "rtic?password=***"),
    ("failed https://a:hunter22@h/x and then http://b:s3cr3t@g/?Token=tok-998877 too", "http://***@g/?Token=***"),
])
def test_redact_hides_user_info_and_secret_parameters_and_keeps_the_rest(text, kept):
    out = redact(text)
    assert _clean(out), out
    assert kept in out


def test_redact_hides_the_secrets_it_is_told_in_any_url_form():
    assert redact("login as p@ss:w then p%40ss%3Aw", ("p@ss:w",)) == "login as *** then ***"


def test_the_log_filter_redacts_message_arguments_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("CAD source %s failed", HOSTILE_URL)
        try:
            raise ConnectionError(f"cannot reach {HOSTILE_URL}")
        except ConnectionError:
            logger.exception("poll of %s", HOSTILE_URL)
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "cad.example.gov" in written and "ConnectionError" in written
    assert _clean(written), written


# --- every place that shows or logs a URL ------------------------------------------------------------------------


def test_database_urls_are_shown_without_password_in_the_authority_or_the_query():
    from console.store.db import connect_database, describe_url

    shown = describe_url("postgresql+psycopg://rtic:hunter22@db.example.gov/rtic?password=s3cr3t&sslmode=require")
    assert _clean(shown) and "sslmode=require" in shown
    with pytest.raises(UserError) as refused:
        connect_database("mysql://rtic:hunter22@db.example.gov/rtic?password=s3cr3t")
    assert _clean(str(refused.value))
    with pytest.raises(UserError) as unknown:
        connect_database("no-such-scheme-hunter22://x")
    assert "unknown database URL" in str(unknown.value)


def test_stream_sources_never_show_their_credentials():
    from console.video.source import StreamSource

    source = StreamSource.from_url("rtsp://officer:hunter22@10.0.0.5/cam?token=tok-998877", token="KEY123")
    for text in (repr(source), str(source), source.display_url, source.redact(source.url_with_credentials())):
        assert _clean(text), text


def test_a_bad_tile_url_is_named_without_its_key():
    from console.geo.tile_source import UrlTiles

    with pytest.raises(UserError) as refused:
        UrlTiles("https://tiles.example.gov/tiles.png?api_key=KEY123", "test")
    assert _clean(str(refused.value)) and "tiles.example.gov" in str(refused.value)
    tiles = UrlTiles("https://tiles.example.gov/{z}/{x}/{y}.png?api_key=KEY123", "test")
    assert _clean(tiles.path)


def test_the_cad_endpoint_is_named_without_password_or_token(caplog):
    from console.services.cad_sources import HttpSource
    from tests.support.local_http import LocalHttpServer, QuietHandler

    class Failing(QuietHandler):
        def do_GET(self):  # noqa: N802
            self.reply("text/plain", b"down", status=503)

    class NoCursors:
        def cursor(self, name):
            assert _clean(name), name  # the cursor row is stored in the database
            return None, None

    with LocalHttpServer(Failing) as server:
        url = server.base_url.replace("http://", "http://officer:hunter22@") + "/eido?token=tok-998877&unit=7"
        source = HttpSource(url, timeout_s=5)
        report = source.run_once(NoCursors())
    assert report.deferred and all(_clean(f"{where} {why}") for where, why in report.deferred), report.deferred
    assert "unit=7" in report.deferred[0][0]
    assert _clean(source.name) and _clean(caplog.text)
    with pytest.raises(UserError) as refused:
        HttpSource("ftp://officer:hunter22@cad/eido")
    assert _clean(str(refused.value))


def test_the_registry_feed_names_the_portal_without_its_secrets(caplog):
    from console.services.registry_feed import FeedHttp, FeedOptions, FeedUnavailable
    from tests.support.local_http import LocalHttpServer, QuietHandler

    class Busy(QuietHandler):
        def do_GET(self):  # noqa: N802
            self.reply("text/plain", b"busy", status=503)

    caplog.set_level(logging.INFO)
    with LocalHttpServer(Busy) as server:
        url = server.base_url + "/feed?api_key=KEY123"
        with FeedHttp(url, options=FeedOptions(attempts=2), sleep=lambda _s: None) as http:
            with pytest.raises(FeedUnavailable) as failed:
                http.fetch(None)
    assert "127.0.0.1" in str(failed.value)
    assert _clean(str(failed.value)) and _clean(caplog.text)
    with pytest.raises(UserError) as refused:
        FeedHttp("ftp://portal/?token=tok-998877")
    assert _clean(str(refused.value))


def test_the_command_line_prints_errors_redacted(capsys):
    from console.cli import main

    status = main(["db", "status", "--db", "mysql://rtic:hunter22@db.example.gov/rtic?password=s3cr3t"])
    err = capsys.readouterr().err
    assert status == 2 and "db.example.gov" in err
    assert _clean(err), err
