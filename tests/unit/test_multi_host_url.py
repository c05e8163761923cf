"""libpq's multi-host URL form, which SQLAlchemy cannot parse, read into the form it can (console/store/db.py)."""

import pytest

from console.errors import UserError
from console.store.db import connect_database, describe_url, multi_host


def test_the_libpq_form_becomes_sqlalchemys_host_list():
    assert multi_host("postgresql+psycopg://rtic@db-a:5432,db-b:5433/rtic?target_session_attrs=read-write") == (
        "postgresql+psycopg://rtic@/rtic?host=db-a:5432&host=db-b:5433&target_session_attrs=read-write")
    assert multi_host("postgresql+psycopg://rtic:pw@a,b/rtic") == "postgresql+psycopg://rtic:pw@/rtic?host=a&host=b"


@pytest.mark.parametrize("url", ["postgresql+psycopg://rtic@db-a:5432/rtic", "sqlite:////tmp/x.db",
                                 "postgresql+psycopg://rtic@/rtic?host=a:1&host=b:2"])
def test_other_urls_are_left_alone(url):
    assert multi_host(url) == url


def test_the_engine_gets_every_host_and_the_password_is_never_shown():
    db = connect_database("postgresql+psycopg://rtic:s3cret@db-a:5432,db-b:5433/rtic?target_session_attrs=read-write")
    try:
        args = db.engine.dialect.create_connect_args(db.engine.url)[1]
        assert args["host"] == "db-a,db-b" and args["port"] == "5432,5433"
        assert args["target_session_attrs"] == "read-write"
        assert "s3cret" not in db.display_url and "db-b" in db.display_url
    finally:
        db.close()


@pytest.mark.parametrize("url", ["postgresql+psycopg://rtic@a:5432,,b/rtic", "postgresql+psycopg://rtic@a,:x/rtic",
                                 "postgresql+psycopg://rtic@" + ",".join(["h"] * 40) + "/rtic",
                                 "postgresql+psycopg://rtic@a:notaport,b/rtic"])
def test_a_bad_host_list_is_a_sentence(url):
    with pytest.raises(UserError) as raised:
        connect_database(url).close()
    assert "Traceback" not in str(raised.value)
    assert describe_url(url)  # never raises
