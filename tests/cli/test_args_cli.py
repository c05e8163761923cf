"""Every numeric argument of every subcommand has a range (issue 13): a huge or non-finite value is one usage line
and exit status 2, never "something went wrong (OverflowError)"."""

from __future__ import annotations

import argparse

import pytest

from console.cli import build_parser
from console.cli.args import integer, number
from tests.support.cli import run_cli


def _actions(parser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, (*path, name))
        else:
            yield path, action


def test_no_subcommand_takes_a_bare_int_or_float():
    bare = [(" ".join(path), action.dest) for path, action in _actions(build_parser()) if action.type in (int, float)]
    assert bare == []


HUGE = "9" * 40


@pytest.mark.parametrize("argv", [
    ["audit", "list", "--limit", HUGE],
    ["alerts", "raise", "--camera", HUGE],
    ["alerts", "end", HUGE],
    ["access", "explain", HUGE],
    ["footage", "contact", HUGE, "--channel", "phone", "--outcome", "agreed"],
    ["evidence", "export", HUGE, "out"],
    ["cameras", "near", "42", "-72", "--radius", "100", "--limit", HUGE],
    ["feed", "sync", "http://x", "--page-size", HUGE],
    ["cad", "poll", "http://x", "--interval", "1e400"],
    ["demo", "--seed", HUGE],
])
def test_a_huge_number_is_one_usage_line(argv):
    done = run_cli(*argv)
    err = done.stderr
    assert done.returncode == 2 and err.count("\n") == 1 and ("out of range" in err or "not a finite" in err)
    assert "something went wrong" not in err


def test_the_factories_name_the_argument_and_the_range():
    with pytest.raises(argparse.ArgumentTypeError, match=r"^--limit 0 is out of range: give a whole number from 1 to 5$"):
        integer("--limit", 1, 5)("0")
    with pytest.raises(argparse.ArgumentTypeError, match=r"^latitude 91 is out of range: give a number from -90 to 90$"):
        number("latitude", -90, 90)("91")
    with pytest.raises(argparse.ArgumentTypeError, match="is not a whole number"):
        integer("--limit", 1, 5)("2.5")
    assert integer("--limit", 1, 5)(" 5 ") == 5 and number("radius", 0)("1e3") == 1000.0
