"""Channel URLs: `${NAME}` secret references, literal-secret checks, resolution at send time.

Secrets never live in the config file. A URL names the environment variable that holds a
secret (`mailto://alerts:${SMTP_PASSWORD}@smtp.example.com`), the file is checked for
secrets written out literally, and the values are put in only when a message is sent,
through a resolver the caller injects (the Dagster layer reads `EnvVar`s). Nothing here
ever puts a URL into an error message: one that failed a check may hold a secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote, quote_plus

from dgas_pipeline.errors import InvalidInput

CONSOLE_URL = "console"
"""The built-in channel that prints messages: no apprise, no secrets."""

SecretResolver = Callable[[str], str | None]
"""Maps an environment variable's name to its value (None or empty: not set)."""

_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}")
_REFERENCE_ONLY = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
# A query or header name that carries a credential: token, password, api_key, Authorization...
_SECRET_KEY = re.compile(
    r"(pass|pwd|secret|token|auth|credential|signature|apikey|(^|[_-])key$|^key)", re.I
)
# A run of letters and digits this long, with both, is a token, not a host or a path word.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9]{16,}")
_TELEGRAM_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{10,}")


@dataclass(frozen=True)
class ResolvedUrl:
    """A URL with its secrets filled in, and those secrets, so they can be redacted."""

    url: str
    secrets: tuple[str, ...]


def scheme_of(url: str) -> str | None:
    """The URL's scheme in lower case, or None when it has none (`console` has none)."""
    match = _SCHEME.match(url)
    return match.group("scheme").lower() if match else None


def safe_label(url: str) -> str:
    """What we may print for a URL: its scheme only."""
    scheme = scheme_of(url)
    return f"{scheme}://…" if scheme else "<not a URL>"


@cache
def apprise_schemes() -> frozenset[str]:
    """Schemes of the apprise services usable here (loading plugins takes ~0.5 s, once)."""
    import apprise

    return frozenset(s.lower() for s in apprise.NotificationManager().schemas(False))


def references(url: str) -> list[str]:
    """Names of the environment variables the URL refers to, in order, without repeats."""
    return list(dict.fromkeys(m.group("name") for m in _REFERENCE.finditer(url)))


def url_problems(url: str, field: str) -> list[InvalidInput]:
    """Everything wrong with a channel URL, each problem naming `field`; [] when it is fine."""
    if url == CONSOLE_URL:
        return []
    label = safe_label(url)
    scheme = scheme_of(url)
    if scheme is None:
        return [InvalidInput(field, label, "is not a URL (expected e.g. json://host/path)")]
    if scheme not in apprise_schemes():
        return [
            InvalidInput(
                field, f"{scheme}://…", f"uses scheme {scheme!r}, which apprise does not know"
            )
        ]
    problems = []
    if "${" in _REFERENCE.sub("", url):
        problems.append(
            InvalidInput(field, label, "has a malformed ${...} reference (expected ${NAME})")
        )
    problems.extend(InvalidInput(field, label, why) for why in _literal_secrets(url))
    return problems


def resolve_url(url: str, resolve_secret: SecretResolver, field: str) -> ResolvedUrl:
    """Fill in every `${NAME}`; a variable that is not set is an error naming it, never a value.

    Values are percent-encoded, so a password holding '@' or '/' cannot change the URL's
    shape; apprise decodes the parts it reads.
    """
    values: dict[str, str] = {}
    for name in references(url):
        try:
            value = resolve_secret(name)
        except Exception:
            value = None
        if not value:
            raise InvalidInput(
                field, f"${{{name}}}", f"needs environment variable {name}, which is not set"
            )
        values[name] = value
    resolved = _REFERENCE.sub(lambda m: quote(values[m.group("name")], safe=""), url)
    # Every spelling a value may take on its way out (raw, in the URL, in a query string).
    secrets = {
        form
        for value in values.values()
        for form in (value, quote(value, safe=""), quote_plus(value, safe=""))
    }
    return ResolvedUrl(resolved, tuple(sorted(secrets, key=len, reverse=True)))


def _literal_secrets(url: str) -> list[str]:
    """Why this URL looks like it holds a secret written out instead of a `${NAME}`."""
    rest = url.split("://", 1)[1]
    location, _, query = rest.partition("?")
    authority, _, path = location.partition("/")
    userinfo, at, _host = authority.rpartition("@")
    reasons = []
    if at and ":" in userinfo:
        password = userinfo.split(":", 1)[1]
        if password and not _REFERENCE_ONLY.match(password):
            reasons.append(
                "has a literal password in its user info; write ${NAME} and set the "
                "environment variable NAME instead"
            )
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        if value and _SECRET_KEY.search(key.lstrip("+-:")) and not _REFERENCE.search(value):
            reasons.append(
                f"has a literal value for {key!r}; write ${{NAME}} and set the "
                "environment variable NAME instead"
            )
    bare = _REFERENCE.sub("", f"{authority}/{path}")
    runs = _TOKEN_RUN.findall(bare)
    if _TELEGRAM_TOKEN.search(bare) or any(_has_letter_and_digit(run) for run in runs):
        reasons.append(
            "holds what looks like a literal token; write ${NAME} and set the "
            "environment variable NAME instead"
        )
    return reasons


def _has_letter_and_digit(text: str) -> bool:
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)
