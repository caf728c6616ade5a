"""What can go wrong with a watchlist, as errors the CLI prints and the API maps to a status.

All are `InvalidInput`s, so `dgas` reports them as one line and exits 2 without extra code;
the API tells them apart by class: not found 404, exists/conflict 409, anything else 422.
"""

from __future__ import annotations

from dgas_pipeline.errors import InvalidInput


class WatchlistNotFound(InvalidInput):
    def __init__(self, name: str) -> None:
        super().__init__("name", name, "is not a watchlist (dgas watchlist list shows them)")


class WatchlistExists(InvalidInput):
    def __init__(self, name: str) -> None:
        super().__init__("name", name, "is already a watchlist (update it, or pick another name)")


class VersionConflict(InvalidInput):
    """The watchlist changed since the client read it: its edit would overwrite another's."""

    def __init__(self, name: str, expected: int, current: int) -> None:
        self.name = name
        self.current_version = current
        super().__init__(
            "version",
            expected,
            f"is not the current version of watchlist {name!r} ({current}): it changed since "
            "you read it; read it again and retry your change",
        )
