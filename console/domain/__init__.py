"""Plain dataclasses and rules: cameras, consent and grants, incidents, users, the access decision.

No I/O, no Qt, no SQLAlchemy: everything here is testable with nothing but Python.
"""
