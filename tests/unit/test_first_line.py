"""console.errors.first_line: one line of what went wrong, the driver's message, never SQLAlchemy's statement text."""

import sqlite3

from sqlalchemy import create_engine, text
from sqlalchemy.exc import ArgumentError, OperationalError, StatementError

from console.errors import UserError, first_line


def test_a_driver_error_gives_its_own_first_line_not_the_statement_or_its_parameters():
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table WHERE phone = :phone"), {"phone": "555-0199"})
    except OperationalError as exc:
        assert "555-0199" in str(exc)  # SQLAlchemy's own text quotes the parameters ...
        line = first_line(exc)
    assert line == "no such table: no_such_table"  # ... the one line is the driver's
    engine.dispose()


def test_an_sqlalchemy_error_that_wraps_no_driver_error_is_named_by_its_class():
    leaky = StatementError("could not bind", "INSERT INTO owners (phone) VALUES (?)", {"phone": "555-0199"}, None)
    assert first_line(leaky) == "StatementError"
    assert first_line(ArgumentError("Could not parse URL postgresql://u:secret@host")) == "ArgumentError"


def test_other_errors_give_the_first_line_of_their_text_or_their_class_name():
    assert first_line(UserError("  the folder is gone\nTraceback: noise\n")) == "the folder is gone"
    assert first_line(OSError()) == "OSError"
    wrapped = OperationalError("SELECT 1", {}, sqlite3.OperationalError(""))
    assert first_line(wrapped) == "OperationalError"  # an empty driver message: the class, never a blank line
