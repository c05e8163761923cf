"""tests/support/cli.py itself: a command that leaves something behind fails the test that ran it, naming it; what it
prints, reads and exits with comes back as a process's would."""

from __future__ import annotations

import logging
import threading

import pytest

from tests.support.cli import run_cli


@pytest.fixture
def command(monkeypatch):
    """command(body): the next commands run body(args) in place of what they do (the key check is skipped)."""
    import console.cli

    monkeypatch.setattr("console.cli.key.check_workstation_key", lambda args: None)
    original = console.cli.build_parser

    def install(body):
        def build():
            parser = original()
            parse = parser.parse_args

            def parse_args(argv=None):
                args = parse(argv)
                args.func = body
                return args

            parser.parse_args = parse_args
            return parser

        monkeypatch.setattr(console.cli, "build_parser", build)

    return install


def _fails(*argv) -> str:
    with pytest.raises(pytest.fail.Exception) as failed:
        run_cli(*argv)
    return str(failed.value)


def test_output_input_and_exit_status_come_back_as_from_a_process(command):
    def body(args):
        import sys

        print("out:", sys.stdin.readline().strip())
        sys.stderr.write("err\n")
        sys.stdout.buffer.write(b"bytes\n")
        return 3

    command(body)
    done = run_cli("config", "show", stdin="typed\n")
    assert (done.returncode, done.stdout, done.stderr) == (3, "out: typed\nbytes\n", "err\n")
    assert done.args == ["rtic-console", "config", "show"]
    usage = run_cli("config", "--no-such-option")  # argparse's SystemExit(2)
    assert usage.returncode == 2 and "(see `rtic-console config --help`)" in usage.stderr
    assert run_cli("--version").returncode == 0


def test_the_environment_is_changed_for_the_call_only(command, monkeypatch):
    import os

    monkeypatch.setenv("RTIC_KEEP", "kept")
    monkeypatch.setenv("RTIC_GONE", "here")
    seen = {}
    command(lambda args: seen.update(keep=os.environ.get("RTIC_KEEP"), gone=os.environ.get("RTIC_GONE"),
                                     new=os.environ.get("RTIC_NEW")))
    assert run_cli("config", "show", env={"RTIC_GONE": None, "RTIC_NEW": "set"}).returncode == 0
    assert seen == {"keep": "kept", "gone": None, "new": "set"}
    assert (os.environ["RTIC_GONE"], os.environ.get("RTIC_NEW")) == ("here", None)


def test_an_engine_not_disposed_fails_the_test(command, sqlite_url):
    from console.store.db import open_database

    kept = []
    command(lambda args: kept.append(open_database(sqlite_url, create=True)))
    assert "a database connection still open" in _fails("config", "show")
    kept[0].close()


def test_a_file_left_open_fails_the_test(command, tmp_path):
    kept = []
    command(lambda args: kept.append(open(tmp_path / "left-open.txt", "w")))  # noqa: SIM115 - the leak under test
    message = _fails("config", "show")
    assert "left-open.txt" in message
    kept[0].close()


def test_a_running_thread_fails_the_test_and_a_daemon_does_not(command):
    stop = threading.Event()
    command(lambda args: threading.Thread(target=stop.wait, name="left-running").start())
    try:
        assert "a running non-daemon thread 'left-running'" in _fails("config", "show")
    finally:
        stop.set()
    command(lambda args: threading.Thread(target=stop.wait, daemon=True).start())
    assert run_cli("config", "show").returncode == 0


def test_a_logging_handler_left_on_the_root_logger_fails_the_test(command):
    handler = logging.NullHandler()
    command(lambda args: logging.getLogger().addHandler(handler))
    assert "a logging handler <NullHandler (NOTSET)> on the root logger" in _fails("config", "show")
    assert handler not in logging.getLogger().handlers  # taken off again, so the next test starts clean


def test_the_log_file_handler_is_removed_and_closed_when_the_command_ends(command):
    """The fix in console/cli/__init__.py: before it, the first call's handler stayed on the root logger, open on the
    first data folder's log file, for every later call."""
    import os
    from pathlib import Path

    command(lambda args: logging.getLogger("console.test").warning("written to the file"))
    before = list(logging.getLogger().handlers)
    for data in ("first", "second"):
        folder = Path(os.environ["XDG_DATA_HOME"]) / data
        assert run_cli("config", "show", env={"XDG_DATA_HOME": str(folder)}).returncode == 0
        assert "written to the file" in (folder / "rtic-console" / "logs" / "console.log").read_text()
    assert logging.getLogger().handlers == before


def test_a_connection_left_open_to_a_server_fails_the_test(command):
    """The server side of a test's own server is not the command's; the client side it leaves open is."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        kept = []
        command(lambda args: kept.append(socket.create_connection(("127.0.0.1", port))))
        message = _fails("config", "show")
        kept[0].close()
    assert f"to port {port})" in message and message.count("file descriptor") == 1


def test_a_command_that_ends_its_process_fails_the_test_and_not_the_tests(command):
    import os

    command(lambda args: os._exit(9))
    assert "called os._exit(9): a command that ends its process must run in a real one" in _fails("config", "show")
