"""The command line as a real process: what only a process shows (every other CLI test runs the command line in the
test process, tests/support/cli.py, which is many times cheaper).

`python -m console` and the `rtic-console` script, exit statuses, a refusal with no terminal, a person typing the
password on a real terminal, Ctrl+C at the prompt, the progress bar on a terminal, the unexpected error logged to
the file in the data folder (redacted, one line on stderr), and the window refusing a workstation without the key.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pyotp
import pytest

from console.domain.audit import Action
from console.domain.users import Role
from console.services.accounts import AccountService
from console.store.audit import AuditLog
from console.store.secrets import key_id
from tests.cli.conftest import CHEAP, PASSWORD
from tests.cli.test_import_export_cli import ROWS, write
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def _env(**changes) -> dict:
    """This process's environment with the tree first on the path; a None value removes the variable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))}
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(*argv, env=None, **options) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "console", *map(str, argv)], capture_output=True, text=True,
                          timeout=120, env=env or _env(), stdin=subprocess.DEVNULL, **options)


def _accounts(database):
    return AccountService(database, AuditLog(database), hasher=CHEAP, workstation="ws-test")


def _registry_with_chief(url: str, *, second_factor: bool = False) -> str | None:
    from console.store.db import open_database

    with open_database(url, create=True) as database:
        _accounts(database).create_first_admin("chief", PASSWORD, datetime.now(timezone.utc))
        if second_factor:
            return _accounts(database).enable_totp("os:test", "chief", datetime.now(timezone.utc))
    return None


def _on_a_terminal(argv, answers, env):
    """Run the real entry point on a pseudo-terminal (its controlling terminal, as a person's shell gives it),
    answer each prompt in turn (an answer is the bytes typed, a newline added to text); (exit status, everything the
    terminal showed)."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: the console, with Ctrl+C as a person's shell leaves it (a background job ignores it)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execve(sys.executable, [sys.executable, "-m", "console", *argv], env)
    shown, pending = b"", list(answers)
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 60)
            if not ready:  # a minute without output: stopped (below), and the test fails on its status
                os.kill(pid, signal.SIGKILL)
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if pending and shown.rstrip().endswith(pending[0][0].encode()):
                answer = pending.pop(0)[1]
                os.write(fd, answer if isinstance(answer, bytes) else answer.encode() + b"\n")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_python_m_console_and_the_console_script_are_the_same_program():
    done = run("--help")
    assert done.returncode == 0 and "rtic-console" in done.stdout
    for command in ("demo", "cameras", "db"):
        assert command in done.stdout
    script = shutil.which("rtic-console", path=str(Path(sys.executable).parent))
    assert script, "the rtic-console script is installed beside this Python"
    by_script = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=120, env=_env())
    assert (by_script.returncode, by_script.stdout) == (0, run("--version").stdout) and by_script.stdout.strip()


def test_bad_input_is_one_line_and_exit_status_2_from_the_process(tmp_path):
    done = run("cameras", "near", "95", "-72.6", "--radius", "100")
    assert (done.returncode, done.stdout) == (2, "")
    assert "latitude 95 is out of range" in done.stderr and len(done.stderr.splitlines()) == 1
    usage = run("cameras", "near", "--no-such-option")
    assert usage.returncode == 2 and len(usage.stderr.splitlines()) == 1 and "Traceback" not in usage.stderr


def test_without_a_terminal_or_password_file_the_process_is_refused(sqlite_url):
    _registry_with_chief(sqlite_url)
    done = run("users", "list", "--user", "chief", "--db", sqlite_url, env=_env(RTIC_PASSWORD_FILE=None))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("rtic-console: `rtic-console users list` signs in as chief, but there is no terminal to "
                           "type the password: name a password file (mode 0600) in RTIC_PASSWORD_FILE\n")


def test_a_person_types_the_password_and_code_on_the_terminal_without_echo(sqlite_url):
    from console.store.db import open_database

    uri = _registry_with_chief(sqlite_url, second_factor=True)
    env = _env(RTIC_PASSWORD_FILE=None, RTIC_TOTP=None)
    code = pyotp.parse_uri(uri).now()
    status, shown = _on_a_terminal(["users", "list", "--user", "chief", "--db", sqlite_url],
                                   [("Password for chief:", PASSWORD), ("Code from the authenticator app:", code)],
                                   env)
    assert status == 0, shown
    assert "Password for chief:" in shown and "chief" in shown.split("Code from the authenticator app:")[-1]
    assert PASSWORD not in shown  # getpass: the password is not echoed
    with open_database(sqlite_url) as database:
        login = AuditLog(database).query(actions=(Action.LOGIN,))[-1]
    assert (login.username, login.details["second_factor"], login.details["via"]) == ("chief", True, "command line")


def test_ctrl_c_at_the_password_prompt_ends_with_status_130_and_no_traceback(sqlite_url):
    from console.store.db import open_database

    _registry_with_chief(sqlite_url)
    status, shown = _on_a_terminal(["users", "role", "chief", "dispatcher", "--user", "chief", "--db", sqlite_url],
                                   [("Password for chief:", b"\x03")], _env(RTIC_PASSWORD_FILE=None))
    assert status == 130, shown
    assert "Traceback" not in shown and "KeyboardInterrupt" not in shown
    with open_database(sqlite_url) as database:
        assert [e.action for e in AuditLog(database).query()] == [Action.USER_CHANGE]  # the first admin; no login


def test_a_progress_bar_on_a_terminal(sqlite_url, tmp_path, sign_in_as):
    import pty

    from console.store.db import open_database

    open_database(sqlite_url, create=True).close()
    sign_in_as(sqlite_url, Role.ADMIN, "chief")
    portal = write(tmp_path / "portal.csv", ROWS)
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "console", "import", portal, "--db", sqlite_url, "--user", "chief"],
                              stdout=subprocess.PIPE, stderr=terminal, text=True, timeout=180, env=_env())
        os.close(terminal)
        terminal = None
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal side is closed: everything has been read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if terminal is not None:
            os.close(terminal)
        os.close(controller)
    assert done.returncode == 0 and json.loads(done.stdout)["added"] == 3
    assert b"100%" in shown and b"####" in shown


BUG = """
import sys
import console.cli.key
from console.cli import main

def broken(args):
    raise RuntimeError("lost the thread reading postgresql+psycopg://rtic:s3cret-pw@db.example/rtic")

console.cli.key.check_workstation_key = broken
raise SystemExit(main(sys.argv[1:]))
"""


def test_an_unexpected_error_goes_to_the_log_file_redacted_and_one_line_to_the_user(tmp_path):
    """A bug (here a command made to raise) in a real process: a traceback in console.log in the data folder, with
    no password, and one sentence naming that file on stderr."""
    env = _env(XDG_DATA_HOME=str(tmp_path / "data"))
    done = subprocess.run([sys.executable, "-c", BUG, "config", "show"], capture_output=True, text=True, timeout=120,
                          env=env)
    log_file = tmp_path / "data" / "rtic-console" / "logs" / "console.log"
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"rtic-console: something went wrong (RuntimeError); the details are in {log_file}\n"
    logged = log_file.read_text()
    assert "ERROR" in logged and "unexpected error in config" in logged and "Traceback" in logged
    assert "RuntimeError: lost the thread reading" in logged and "s3cret-pw" not in logged


@pytest.mark.postgres
def test_the_window_refuses_a_workstation_without_the_agencys_key(pg_url, tmp_path):
    key_a = bytes(range(32))
    a = {"XDG_DATA_HOME": str(tmp_path / "a" / "data"), "RTIC_CONTACT_KEY": base64.b64encode(key_a).decode()}
    assert run_cli("demo", "--cameras", "10", "--db", pg_url, env=a).returncode == 0
    b_data = tmp_path / "b" / "data"
    env = _env(XDG_DATA_HOME=str(b_data), XDG_CONFIG_HOME=str(tmp_path / "b" / "config"), RTIC_CONTACT_KEY=None,
               RTIC_CONTACT_KEY_FILE=None, RTIC_PASSWORD_FILE=None, QT_QPA_PLATFORM="offscreen")
    refused = run("--db", pg_url, env=env)
    assert (refused.returncode, refused.stderr) == (2, (
        f"rtic-console: this database's records are under contact key {key_id(key_a)}, but this workstation has no "
        "contact key, so the console will not start: keys come from RTIC_CONTACT_KEY, RTIC_CONTACT_KEY_FILE, "
        f"contact.key in the data folder ({b_data / 'rtic-console'}), or `rtic-console key import`\n"))
    assert not (b_data / "rtic-console" / "contact.key").exists()
