"""Only the notices of the beta/preview APIs we chose are hidden; any other still shows."""

from __future__ import annotations

import warnings

import dagster as dg
import pytest

from dgas_pipeline.defs.runtime.notices import DELIBERATE, hide_deliberate_notices


def shown(message: str, category: type[Warning]) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hide_deliberate_notices()
        warnings.warn(message, category, stacklevel=1)
    return [str(w.message) for w in caught]


@pytest.mark.parametrize(("message", "category"), DELIBERATE, ids=[m for m, _ in DELIBERATE])
def test_a_deliberate_notice_is_hidden(message: str, category: type[Warning]) -> None:
    assert shown(f"{message}, and may have breaking changes.", category) == []


@pytest.mark.parametrize(
    ("message", "category"),
    [
        ("Parameter `pool` of function `asset` is currently in beta", dg.BetaWarning),
        ("Class `SomethingNew` is currently in preview", dg.PreviewWarning),
        # the deliberate text, but a deprecation: still shown
        (
            "Parameter `backfill_policy` of function `asset` is currently in beta",
            DeprecationWarning,
        ),
        # the text later in a message does not match: filters match from the start
        (
            "Note: Parameter `backfill_policy` of function `asset` is currently in beta",
            dg.BetaWarning,
        ),
    ],
    ids=["other-beta", "other-preview", "same-text-other-category", "not-at-the-start"],
)
def test_any_other_notice_still_shows(message: str, category: type[Warning]) -> None:
    assert shown(message, category) == [message]


def test_loading_the_code_location_shows_none_of_the_deliberate_notices() -> None:
    import dgas_pipeline.definitions as location

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        location.defs()
    notices = [
        str(w.message) for w in caught if issubclass(w.category, dg.BetaWarning | dg.PreviewWarning)
    ]
    assert notices == []
