"""Argument types argparse applies while it parses: light checks of one flag's text.

argparse reports an `ArgumentTypeError` as `--flag: <message> (see PROG --help)`, our
one-line form, exit 2. Only checks that need nothing but the text belong here (this module
is imported for `dgas --help`); a value that needs the config or the exchange calendar is
parsed by the command's handler (`values.py`).
"""

from __future__ import annotations

import argparse

from dgas_pipeline.errors import shown
from dgas_pipeline.watchlists.limits import MAX_VERSION

DEFAULT_API_HOST = "127.0.0.1"
DEFAULT_API_PORT = 8001


def version_flag(text: str) -> int:
    """A watchlist version as last shown: a whole number the version column holds."""
    digits = text.lstrip("0")
    if not (text.isascii() and text.isdigit()) or not digits:
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is not a version (expected a whole number >= 1)"
        )
    if len(digits) > len(str(MAX_VERSION)) or int(digits) > MAX_VERSION:
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is not a version (expected a whole number from 1 to {MAX_VERSION})"
        )
    return int(digits)


def port_flag(text: str) -> int:
    """A TCP port to listen on, 1 to 65535."""
    if not (text.isascii() and text.isdigit()) or len(text) > 5 or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a port (expected 1 to 65535)")
    return int(text)
