"""Keep channel secrets (passwords, webhook tokens, API keys) out of logs, the database and the CLI.

Two layers: `redact_url` masks the secret parts of any apprise URL it sees, and `redact` also
replaces every known secret string (taken from the configured channel URLs) wherever it appears,
so a token that a library echoes on its own (e.g. inside an error message) is masked too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MASK = "****"

# Query keys whose values are credentials in apprise URLs (matched as substrings, lower case).
_SECRET_KEYS = ("pass", "pwd", "token", "key", "secret", "auth", "webhook", "sig", "cred", "bearer")
# Schemes whose host is a real server name; for the rest (slack://TokenA/..., discord://id/token)
# apprise puts credentials in the host position, so it is masked too.
_SERVER_SCHEMES = frozenset({
    "http", "https", "json", "jsons", "xml", "xmls", "form", "forms", "mailto", "mailtos",
    "ntfy", "ntfys", "gotify", "gotifys", "matrix", "matrixs", "mmost", "mmosts", "rocket", "rockets",
    "apprise", "apprises", "smtp", "smtps", "console",
})
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s'\"<>()\[\]{}]+")
_TOKENISH = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-.~+=]{8,}$|^[A-Za-z0-9_\-+=]{20,}$")
_MIN_SECRET_LEN = 4  # shorter strings would mangle ordinary text; URLs still get masked by shape


def _is_secret_key(key: str) -> bool:
    return any(word in key.lower() for word in _SECRET_KEYS)


def _keep_segment(segment: str, server: bool) -> bool:
    """True when a path segment is safe to show: #channel, @user, or a non-token word on a real server."""
    if not segment or segment[0] in "#@+":
        return True
    return server and not _TOKENISH.match(unquote(segment))


def redact_url(url: str) -> str:
    """Mask the credentials in an apprise or HTTP URL, keeping its scheme and (server) host.

    Masks the password, token-like path segments (every segment of token schemes such as
    slack:// or discord://, except #channels and @users) and values of query keys like
    pass=, token=, apikey=, secret=.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if not parts.scheme or "://" not in url:
        return url
    server = parts.scheme.lower() in _SERVER_SCHEMES
    netloc = parts.netloc
    userinfo, _, hostport = netloc.rpartition("@")
    if userinfo:
        user, has_pw, _pw = userinfo.partition(":")
        user = user if server else MASK
        userinfo = f"{user}:{MASK}@" if has_pw else f"{user}@"
    if not server and hostport and not _keep_segment(hostport, server):
        hostport = MASK
    path = "/".join(seg if _keep_segment(seg, server) else MASK for seg in parts.path.split("/"))
    query = "&".join(
        f"{k}={MASK}" if _is_secret_key(k) and v else f"{k}={v}" if v or "=" in pair else k
        for pair in parts.query.split("&") if pair
        for k, _, v in [pair.partition("=")]
    )
    out = f"{parts.scheme}://{userinfo}{hostport}{path}"
    if query:
        out += f"?{query}"
    if parts.fragment:
        out += f"#{parts.fragment}"
    return out


def _redact_url_in_text(url: str) -> str:
    """Like redact_url, but http-like URLs keep their path: log lines mention article and feed
    URLs, whose paths are not secret (configured webhook tokens are masked as known secrets)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in _SERVER_SCHEMES:
        return redact_url(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    masked = redact_url(f"{parts.scheme}://{parts.netloc}?{parts.query}" if parts.query else f"{parts.scheme}://{parts.netloc}")
    base, _, query = masked.partition("?")
    out = base + parts.path + (f"?{query}" if query else "")
    return out + (f"#{parts.fragment}" if parts.fragment else "")


def secrets_from_url(url: str) -> set[str]:
    """The literal secret strings inside one channel URL: password, tokens, secret query values."""
    secrets: set[str] = set()
    try:
        parts = urlsplit(url)
    except ValueError:
        return {url}
    if parts.password:
        secrets.add(parts.password)
    server = parts.scheme.lower() in _SERVER_SCHEMES
    if not server:
        if parts.username:
            secrets.add(parts.username)
        if parts.hostname:
            secrets.add(parts.netloc.rpartition("@")[2])
    secrets.update(seg for seg in parts.path.split("/") if not _keep_segment(seg, server))
    secrets.update(v for k, v in parse_qsl(parts.query, keep_blank_values=False) if _is_secret_key(k))
    # Libraries may echo a secret decoded or percent-encoded: mask every spelling.
    secrets |= {unquote(s) for s in secrets} | {quote(s, safe="") for s in secrets}
    return {s for s in secrets if len(s) >= _MIN_SECRET_LEN}


def channel_secrets(channels: Mapping[str, object]) -> set[str]:
    """Every secret of every configured channel (values are ChannelConfig or URL strings)."""
    secrets: set[str] = set()
    for channel in channels.values():
        url = channel if isinstance(channel, str) else getattr(channel, "url", "")
        secrets |= secrets_from_url(url)
    return secrets


def expand_secrets(secrets: Iterable[str]) -> tuple[str, ...]:
    """The strings to mask, longest first: each secret, plus the parts of URL-shaped ones (a
    whole channel URL is a secret, and so is each token in it)."""
    out: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        out.add(secret)
        if "://" in secret:
            out |= secrets_from_url(secret)
    # Longest first, so a secret containing another is masked whole.
    return tuple(sorted((s for s in out if len(s) >= _MIN_SECRET_LEN), key=len, reverse=True))


def _mask(text: str, expanded: tuple[str, ...]) -> str:
    text = _URL_IN_TEXT.sub(lambda m: _redact_url_in_text(m.group(0)), text)
    for secret in expanded:
        text = text.replace(secret, MASK)
    return text


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask every URL's credentials and every secret string (or part of a secret URL) in `text`."""
    return _mask(text, expand_secrets(secrets)) if text else text


class RedactingFilter(logging.Filter):
    """A logging filter (for handlers) that masks secrets in every record it lets through.

    Install it on the root handler(s) with the channel URLs (or `channel_secrets(cfg.channels)`):
    `handler.addFilter(RedactingFilter(c.url for c in cfg.channels.values()))`.
    Call `update()` after a config reload adds channels.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = expand_secrets(secrets)

    def update(self, secrets: Iterable[str]) -> None:
        """Replace the secrets to mask (strings or whole channel URLs)."""
        self._secrets = expand_secrets(secrets)  # one atomic rebind: no lock needed

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message (and exception text) with secrets masked; never drops it."""
        secrets = self._secrets
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let logging report it as usual
            return True
        record.msg, record.args = _mask(message, secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _mask(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = _mask(record.stack_info, secrets)
        return True
