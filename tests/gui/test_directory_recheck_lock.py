"""auth = "ldap": the console's periodic directory re-check locks the real window when the service says the account
left (the service's decision is tested against the real slapd in tests/directory); an unchanged account locks nothing."""

from __future__ import annotations

import pytest

from console.domain.users import Role
from tests.gui.conftest import signed_in

pytestmark = pytest.mark.gui


def test_the_directory_recheck_locks_the_window_with_its_sentence(qtbot, make_console, known_registry, players,
                                                                  tmp_path):
    console = make_console(known_registry.url)
    signed = signed_in(console, "dana", Role.DISPATCHER, tmp_path, players)
    answers, asked = [None, "The console locked: this directory account is disabled: ask the agency's IT."], []

    def recheck(session, now):
        asked.append(session.user.username)
        return answers[len(asked) - 1]

    signed.services.auth.directory_recheck = recheck  # the service's answer; the timer path is the real one
    shown, answer_shown = [], signed._directory_rechecked
    signed._directory_rechecked = lambda sentence: (answer_shown(sentence), shown.append(sentence))
    try:
        assert not signed.directory_check.isActive()  # local sign-in: nothing to re-check
        signed._directory_recheck()
        qtbot.waitUntil(lambda: len(shown) == 1, timeout=10_000)  # the answer reached the window
        assert signed.lock_screen is None and console.window.isVisible()
        signed._directory_recheck()
        qtbot.waitUntil(lambda: signed.lock_screen is not None and signed.lock_screen.isVisible(), timeout=10_000)
        assert "this directory account is disabled" in signed.lock_screen.message.text()
        assert not console.window.isVisible()
    finally:
        signed.close()
