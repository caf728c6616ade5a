"""`dgas`: the command line for people and scripts.

Every command takes `--json` (one JSON document on stdout, nothing else there) and
`--config F`. Bad input exits 2 with one line per problem on stderr naming the field and the
value, never a traceback: scripts parse our output, people read our errors.

The parser knows each command's handler by name only; `dispatch` imports the one command
module that runs, so help and refused flags answer without the heavy libraries.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any, NoReturn

from dgas_pipeline.cli.parser import EXIT_BAD_INPUT, PROG_ATTR, build_parser, refuse_usage
from dgas_pipeline.errors import InvalidInput

EXIT_OK = 0
EXIT_RUN_FAILED = 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):  # `dgas`, `dgas watchlist`: which command?
        refuse_usage("COMMAND: is required", prog=getattr(args, PROG_ATTR, "dgas"))
    from dgas_pipeline.cli.environment import check_environment
    from dgas_pipeline.cli.output import emit

    try:
        check_environment(args)
        result = dispatch(args)
    except InvalidInput as err:
        for line in err.lines:
            sys.stderr.write(f"dgas: {line}\n")
        return EXIT_BAD_INPUT
    emit(result, as_json=args.json, render=resolve(args.render))
    # A run that failed (`run-once`) or any failed run of `backfill --wait` is exit 1.
    failed = result.get("status") == "FAILED" or bool(result.get("failed_runs"))
    return EXIT_RUN_FAILED if failed else EXIT_OK


def dispatch(args: argparse.Namespace) -> dict[str, Any]:
    """Run the command `args` names: import its module now, call its handler."""
    handler: Callable[[argparse.Namespace], dict[str, Any]] = resolve(args.handler)
    return handler(args)


def resolve(target: str | Callable[..., Any]) -> Callable[..., Any]:
    """`"package.module:function"` imported; a callable (a handler may set its own renderer,
    e.g. bound to the exchange's time zone) as it is."""
    if callable(target):
        return target
    module, _, name = target.partition(":")
    found: Callable[..., Any] = getattr(import_module(module), name)
    return found


def run() -> NoReturn:
    """Console-script entry point."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # `dgas plan | head` is normal use; the reader left, so say nothing more.
        sys.stdout = None  # type: ignore[assignment]
        code = EXIT_OK
    raise SystemExit(code)
