"""The access log without query values: `GET /status?token=***`.

The API takes its token only from the `Authorization` header, which no log line contains;
but a client may still put a secret in a query string (`?token=...`, `?api_key=...`), and
uvicorn's access log writes the request target as received. The filter sits on the
`uvicorn.access` logger, so every handler any configuration attaches sees the masked line.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
MASK = "***"
# A parameter name is shown when it looks like one (`version`, `access_token`); anything
# else, a long token-like name included, may be a secret put where a name goes.
_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,24}", re.ASCII)


def mask_query(target: str) -> str:
    """`target` (path and query) with each query value, and each odd-looking name, masked."""
    path, question, query = target.partition("?")
    if not question:
        return target
    return f"{path}?" + "&".join(_mask_part(part) for part in query.split("&"))


def _mask_part(part: str) -> str:
    if not part:
        return part
    name, equals, _ = part.partition("=")
    if equals and _NAME.fullmatch(name):
        return f"{name}={MASK}"
    return MASK


class QueryStringMask(logging.Filter):
    """Masks query strings in the arguments (and the message) of each record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_query(arg) if isinstance(arg, str) and "?" in arg else arg
                for arg in record.args
            )
        elif isinstance(record.msg, str) and "?" in record.msg and not record.args:
            record.msg = " ".join(mask_query(word) for word in record.msg.split(" "))
        return True


def mask_access_log(logger: logging.Logger | None = None) -> None:
    """Attach the mask to `logger` (the access logger by default), once."""
    target = logger or logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, QueryStringMask) for f in target.filters):
        target.addFilter(QueryStringMask())
