"""`run_cli(*argv, env=None, stdin="")`: the command line run in this process, as a person or a script would run it.

It calls the entry function (`console.cli.main`) with argv, under a temporary environment (os.environ changed for the
call and restored after), with standard input, output and error captured as text, and SystemExit turned into an exit
status, and returns a `subprocess.CompletedProcess` like `subprocess.run(..., capture_output=True, text=True)` would.
A process costs about a second of CPU (Python, SQLAlchemy, the console's imports); the call costs what the command
does, so the CLI tests run here and only tests/cli/test_entry_point.py starts real processes.

A process gives back whatever a command forgets when it ends; a call in the test process does not, so each call is
checked for what it left behind, and the test FAILS naming it:
- a database connection still open (an engine not disposed, a connection not returned),
- a file left open (a file descriptor of this process, or an unclosed file Python warns about),
- a thread still running that is not a daemon,
- a logging handler added to the root or the console's loggers and not removed,
- a signal handler changed, or the working folder.
A command that ends its process (os._exit, as the key rotation's kill test does) fails the test instead of ending the
test run: such a command belongs in a real process.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import signal
import subprocess
import sys
import threading
import warnings

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

_LEVELS = ("", "console", "alembic")  # "" is the root logger
_SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE, signal.SIGCHLD))


class _Connections:
    """Every DBAPI connection any SQLAlchemy pool opens and has not closed (pool events, installed once)."""

    def __init__(self):
        self.open: dict[int, str] = {}
        event.listen(Pool, "connect", self._opened)
        event.listen(Pool, "close", self._closed)
        event.listen(Pool, "close_detached", self._closed_detached)

    def _opened(self, dbapi_connection, record):
        self.open[id(dbapi_connection)] = _describe_pool(record)

    def _closed(self, dbapi_connection, _record):
        self.open.pop(id(dbapi_connection), None)

    def _closed_detached(self, dbapi_connection):
        self.open.pop(id(dbapi_connection), None)


def _describe_pool(record) -> str:
    try:
        return f"{record._pool.__class__.__name__} of {record._pool._creator.__qualname__}"
    except AttributeError:
        return "a pooled connection"


_connections = _Connections()


class _Input(io.StringIO):
    """Standard input from a pipe or file (not a terminal), with a file descriptor-less `buffer`."""

    def __init__(self, text: str):
        super().__init__(text)
        self.buffer = io.BytesIO(text.encode("utf-8"))

    def isatty(self) -> bool:
        return False


class _Output(io.TextIOWrapper):
    """Standard output or error to a pipe: text and `.buffer` both land in one byte buffer."""

    def __init__(self):
        super().__init__(io.BytesIO(), encoding="utf-8", errors="backslashreplace", newline="\n", write_through=True)

    def isatty(self) -> bool:
        return False

    def text(self) -> str:
        self.flush()
        return self.buffer.getvalue().decode("utf-8", errors="backslashreplace")


def _fds() -> dict[int, str]:
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the descriptor listdir itself used, closed again
            continue
    return found


def _console_loggers() -> list[str]:
    """The root logger ("") and the console's own (console, console.*): a library's NullHandler is not a leak."""
    return ["", *(name for name in list(logging.root.manager.loggerDict)
                  if name == "console" or name.startswith("console."))]


def _tcp() -> tuple[dict[str, tuple[int, int, str]], set[int]]:
    """The TCP sockets (inode: local port, remote port, state) and the listening ports, from /proc/self/net."""
    sockets, listening = {}, set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/self/net/{table}") as rows:
                for row in list(rows)[1:]:
                    fields = row.split()
                    local, remote = (int(f.rsplit(":", 1)[1], 16) for f in fields[1:3])
                    sockets[fields[9]] = (local, remote, fields[3])
                    if fields[3] == "0A":
                        listening.add(local)
        except OSError:
            continue
    return sockets, listening


def _new_fds(before: dict[int, str]) -> list[str]:
    """The descriptors opened since `before` and still open, described. Not counted: a file this process had open
    before (SQLite keeps the descriptor of a connection it closes while another connection of this process, the
    test's own, holds locks on that file: POSIX locks belong to the process); the server side of a connection to a
    server the test runs in this process (it closes it in its own thread, when it sees the client has)."""
    already_open = set(before.values())
    sockets, listening = _tcp()
    found = []
    for fd, target in sorted(_fds().items()):
        if before.get(fd) == target or target in already_open:
            continue
        if target.startswith("socket:["):
            local, remote, state = sockets.get(target[len("socket:["):-1], (None, None, None))
            if local is not None and local in listening and state != "0A":
                continue
            if local is not None:
                target = f"{target} (TCP from port {local} to port {remote})"
        found.append(f"file descriptor {fd} open on {target}")
    return found


def _handlers() -> dict[str, list[logging.Handler]]:
    return {name: list(logging.getLogger(name).handlers) for name in _console_loggers()}


def _levels() -> dict[str, int]:
    return {name: logging.getLogger(name).level for name in _LEVELS}


@contextlib.contextmanager
def _environment(env: dict | None):
    saved = dict(os.environ)
    try:
        for key, value in (env or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = str(value)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _ProcessExit(BaseException):
    """os._exit called by a command run in the test process (it would end the tests, not the command)."""


def _no_process_exit(status):
    raise _ProcessExit(status)


def _exit_status(code) -> tuple[int, str]:
    if code is None:
        return 0, ""
    if isinstance(code, int):
        return code, ""
    return 1, f"{code}\n"  # SystemExit("message"): Python prints it and exits with 1


def run_cli(*argv, env: dict | None = None, stdin: str = "") -> subprocess.CompletedProcess:
    """Run `rtic-console ARGV...` in this process; env: variables to set for the call (None removes one)."""
    from console.cli import main

    args = [str(a) for a in argv]
    out, err = _Output(), _Output()
    gc.collect(1)  # the young garbage of the test so far (a full collection costs ~0.4 s in a test run's heap)
    fds, threads, handlers, levels = _fds(), set(threading.enumerate()), _handlers(), _levels()
    connections = set(_connections.open)
    signals = {s: signal.getsignal(s) for s in _SIGNALS}
    cwd = os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    with warnings.catch_warnings(record=True) as caught, _environment(env):
        warnings.simplefilter("always", ResourceWarning)
        sys.stdin, sys.stdout, sys.stderr = _Input(stdin), out, err
        process_exit, os._exit = os._exit, _no_process_exit
        try:
            try:
                status = main(args)
                extra = ""
            except SystemExit as exc:
                status, extra = _exit_status(exc.code)
            except _ProcessExit as exc:
                pytest.fail(f"`rtic-console {' '.join(args)}` called os._exit({exc.args[0]}): a command that ends its "
                            "process must run in a real one (subprocess)", pytrace=False)
        finally:
            os._exit = process_exit
            sys.stdin, sys.stdout, sys.stderr = saved_streams
        if extra:
            err.write(extra)
        gc.collect(1)  # what only a reference cycle kept open is closed (and warned about) now
    leaks = _leaks(fds, threads, handlers, levels, connections, signals, cwd, caught)
    done = subprocess.CompletedProcess(["rtic-console", *args], status, out.text(), err.text())
    if leaks:
        pytest.fail(f"`rtic-console {' '.join(args)}` (exit status {status}) left behind:\n- " + "\n- ".join(leaks)
                    + f"\nits stderr: {done.stderr[-2000:]!r}", pytrace=False)
    return done


def _leaks(fds, threads, handlers, levels, connections, signals, cwd, caught) -> list[str]:
    leaks = _new_fds(fds)
    leaks += [f"an unclosed resource: {w.message}" for w in caught if issubclass(w.category, ResourceWarning)]
    for thread in threading.enumerate():
        if thread not in threads and thread.is_alive() and not thread.daemon:
            leaks.append(f"a running non-daemon thread {thread.name!r}")
    for name in _console_loggers():
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if handler not in handlers.get(name, ()):
                leaks.append(f"a logging handler {handler!r} on the {name or 'root'} logger")
                logger.removeHandler(handler)
                handler.close()
    for name, level in levels.items():
        logger = logging.getLogger(name)
        if logger.level != level:
            logger.setLevel(level)
            leaks.append(f"the {name or 'root'} logger's level changed")
    for opened in set(_connections.open) - connections:
        leaks.append(f"a database connection still open ({_connections.open.pop(opened)}): an engine not disposed")
    for number, handler in signals.items():
        if signal.getsignal(number) is not handler:
            signal.signal(number, handler)
            leaks.append(f"the handler of {signal.Signals(number).name} changed")
    if os.getcwd() != cwd:
        leaks.append(f"the working folder changed to {os.getcwd()}")
        os.chdir(cwd)
    return leaks


def main(argv) -> int:
    """`console.cli.main(argv)` for the tests written against it (they read the output with capsys): run_cli with its
    checks, the output written to this process's stdout and stderr, the exit status returned (argparse's too)."""
    done = run_cli(*argv)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode
