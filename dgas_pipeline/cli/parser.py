"""The `dgas` argument parser: our help layout and our one-line complaints.

Light on purpose: `dgas --help`, `dgas COMMAND --help` and a flag argparse refuses are
answered from this module, `commands.py` and `examples.py` alone, before any command module
(and pandas, the exchange calendars or Dagster behind it) is imported.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from dgas_pipeline.cli.commands import add_commands
from dgas_pipeline.cli.examples import EXAMPLES
from dgas_pipeline.errors import cut, shown

EXIT_BAD_INPUT = 2
PROG_ATTR = "dgas_prog"


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Examples keep their lines; every command's description starts on its name's line.

    argparse sizes the name column from the option strings only (`-h, --help`), so a
    command name longer than those (`watchlist`) would push its description to a line of
    its own; the column is made wide enough for every command name.
    """

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=24)
        self._action_max_length = max(self._action_max_length, 16)


class _Parser(argparse.ArgumentParser):
    """argparse, but its complaints follow our one-line `field: value expected` rule, and
    name the flag or argument: `--bogus: is not an option of dgas plan`, `--end: is required`.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        # The innermost (sub)command parsed first: its name is what a complaint refers to.
        if not getattr(parsed, PROG_ATTR, None):
            setattr(parsed, PROG_ATTR, self.prog)
        return parsed, extras

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            prog = getattr(parsed, PROG_ATTR, self.prog)
            first = extras[0]
            if first.startswith("-"):
                refuse_usage(f"{shown_flag(first)}: is not an option of {prog}", prog=prog)
            refuse_usage(f"ARGUMENT: {shown(first)} is one argument too many", prog=prog)
        return parsed

    def error(self, message: str) -> NoReturn:
        required = "the following arguments are required: "
        if message.startswith(required):
            # One line per missing flag or argument, each naming it.
            names = message.removeprefix(required).split(", ")
            refuse_usage(*(f"{name}: is required" for name in names), prog=self.prog)
        # "argument --start: expected one argument" -> "--start: expected one argument"
        refuse_usage(message.removeprefix("argument "), prog=self.prog)


def shown_flag(flag: str) -> str:
    """A flag as a field name: `--x=value` shows as `--x`, and never very long."""
    return cut(flag.split("=", 1)[0], 60)


def refuse_usage(*problems: str, prog: str) -> NoReturn:
    """Exit 2 with a line per problem, each pointing at the command's help."""
    for problem in problems:
        sys.stderr.write(f"dgas: {problem} (see {prog} --help)\n")
    raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """`dgas` and every command under it, with their examples; handlers named, not imported."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument(
        "--config", metavar="F", help="config file (default ./dgas.yaml, then built-in defaults)"
    )
    parser = _Parser(
        prog="dgas",
        description=(
            "Market-hours-aware Drummond Geometry prediction cycles on the exchange clock.\n"
            "Every command takes --json (one JSON document on stdout) and --config F;\n"
            "`dgas COMMAND --help` shows its options and examples."
        ),
        formatter_class=_HelpFormatter,
    )
    commands = parser.add_subparsers(
        title="commands", metavar="COMMAND", parser_class=_Parser, dest="command"
    )
    add_commands(commands, common, _Parser)
    add_examples(parser)
    return parser


def add_examples(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> None:
    """Give `parser` and every command under it its examples and our help layout."""
    parser.formatter_class = _HelpFormatter
    examples = EXAMPLES.get(" ".join(path), ())
    if examples:
        parser.epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples)
    for name, sub in subcommands(parser).items():
        add_examples(sub, (*path, name))


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parsers of `parser`'s commands, by name."""
    return {
        name: sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, sub in action.choices.items()
    }
