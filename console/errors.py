"""Errors that carry a message a person can act on.

Anything raised as a `UserError` is shown as one line (CLI: stderr and exit status 2; GUI: a message box),
never as a traceback. Its text must never contain stream credentials or owner contact details.
"""

import sys


class UserError(Exception):
    """A problem the user can fix: bad input, a missing database, a refused action."""

    exit_status = 2


class StoreUnavailable(UserError):
    """The database cannot be reached or opened."""


class DatabaseUnreachable(StoreUnavailable):
    """The database server does not answer (server stopped, network cut): a field laptop may start on its copy."""


def first_line(exc: BaseException) -> str:
    """What went wrong in one line, for a message a person reads: the first line of the database driver's own
    message when `exc` wraps one (SQLAlchemy's `.orig`), else of the exception's text, else its class name.

    SQLAlchemy's own text is never used (it quotes the statement and its parameters, which can hold contact
    details): one of its errors that wraps no driver error is named by its class. Looked up in sys.modules, so this
    module imports nothing: when SQLAlchemy is not loaded, `exc` cannot be one of its errors.
    """
    orig = getattr(exc, "orig", None)
    if orig is not None:
        text = str(orig).strip()
    else:
        sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
        own = sqlalchemy_errors is not None and isinstance(exc, sqlalchemy_errors.SQLAlchemyError)
        text = "" if own else str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
