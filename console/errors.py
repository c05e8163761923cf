"""Errors that carry a message a person can act on.

Anything raised as a `UserError` is shown as one line (CLI: stderr and exit status 2; GUI: a message box),
never as a traceback. Its text must never contain stream credentials or owner contact details.
"""


class UserError(Exception):
    """A problem the user can fix: bad input, a missing database, a refused action."""

    exit_status = 2


class StoreUnavailable(UserError):
    """The database cannot be reached or opened."""


class DatabaseUnreachable(StoreUnavailable):
    """The database server does not answer (server stopped, network cut): a field laptop may start on its copy."""
