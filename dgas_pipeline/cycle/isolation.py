"""One symbol that cannot be analysed costs that symbol, never the others' cycle."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

# An analysis error's message is cut to this in the run's errors (it may echo input data).
ERROR_MESSAGE_CHARS = 200


@dataclass(frozen=True)
class SymbolFailure:
    """A symbol a cycle step could not analyse, for the cycles (partition keys) it cost."""

    symbol: str
    stage: str
    error: str
    keys: tuple[str, ...]

    @property
    def line(self) -> str:
        """The run's error line, in the fetch errors' `SYMBOL: ...` form."""
        return f"{self.symbol}: {self.stage}: {self.error}"


def isolating_symbols(
    frame: pd.DataFrame,
    compute: Callable[[pd.DataFrame], pd.DataFrame],
    stage: str,
    keys: tuple[str, ...],
) -> tuple[pd.DataFrame, list[SymbolFailure]]:
    """`compute(frame)` for all symbols at once; only if that raises, once per symbol, so
    the symbols that fail alone are left out (as failures) and the others keep their result.

    The all-at-once call is the whole cost when nothing fails. Analysis treats symbols
    independently (a tested property), so the per-symbol results are what the all-at-once
    call gives them. A failure no single symbol explains, or that every symbol has, is not a
    symbol's: it is raised and fails the step.
    """
    try:
        return compute(frame), []
    except Exception as error:
        whole = error
    parts, failures = [], []
    for symbol, rows in frame.groupby("symbol", sort=False, observed=True):
        try:
            parts.append(compute(rows.reset_index(drop=True)))
        except Exception as error:
            failures.append(SymbolFailure(str(symbol), stage, error_text(error), keys))
    if not failures or not parts:
        raise whole
    return pd.concat(parts, ignore_index=True), failures


def error_text(error: BaseException) -> str:
    """`Type: first line of the message`, cut to ERROR_MESSAGE_CHARS."""
    text = str(error)
    first = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {first}"[:ERROR_MESSAGE_CHARS]


def failure_lines(failures: Iterable[SymbolFailure], key: str) -> list[str]:
    """The error lines of the failures that cost the cycle `key` a symbol."""
    return [failure.line for failure in failures if key in failure.keys]


def failure_warnings(failures: Iterable[SymbolFailure]) -> list[str]:
    """One warning per distinct failure, for the step's log."""
    return [f"left out of this step: {line}" for line in dict.fromkeys(f.line for f in failures)]


def failed_symbols(failures: Iterable[SymbolFailure]) -> list[str]:
    return sorted({failure.symbol for failure in failures})
