"""What `rtic-console screenshot` and `self-test` build; console/gui/checks.py runs them through the real window."""

from __future__ import annotations

import os

from console.app.qt import qt_application, store_loaded
from console.app.window import build_console


def _open_database(url: str, create: bool = False):
    store_loaded()  # the store may still be importing on the preload thread
    from console.store.db import open_database

    return open_database(url, create=create)


def _fill_demo(database, cameras: int) -> None:
    """The self-test's demo registry, its contacts sealed with the throw-away key in $RTIC_CONTACT_KEY."""
    import base64

    from console.services.demo import generate_demo
    from console.store.secrets import ContactCipher

    generate_demo(database, ContactCipher(base64.b64decode(os.environ["RTIC_CONTACT_KEY"])), cameras=cameras)


def _registry(database):
    from console.services.registry import RegistryService

    return RegistryService(database)


def _root():
    from console.gui.checks import ConsoleRoot

    return ConsoleRoot(qt_application, build_console, store_loaded, _open_database, _fill_demo, _registry)


def render_screenshot(out, *args, **options) -> None:
    """`rtic-console screenshot`: the real main window on the registry, saved as an image."""
    from console.gui.checks import render_screenshot as render

    render(_root(), out, *args, **options)


def run_self_test(*args, **options):
    """`rtic-console self-test`: this installation checked end to end; a list of CheckResult."""
    from console.gui.checks import run_self_test as run

    return run(_root(), *args, **options)
