"""Apprise channels: one `apprise.Apprise` per configured channel, one real send per call.

Secrets: the `apprise` logger is kept at INFO or above (its DEBUG lines carry webhook URLs with
tokens), and a filter on it masks every URL and known channel secret in whatever it logs. The
same tap copies the lines of the current send (a context variable, so threads never mix) into
the outcome's reason, so the reason says what the server answered, e.g. "SMTP 451 4.3.0 ...".
apprise logs SMTP replies only at DEBUG, which the logger level suppresses; a thin wrapper on
`logger.debug` hands those lines to the capture without ever emitting them.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import apprise
from apprise import AppriseResultStatus, NotifyFormat, NotifyType
from apprise.decorators import notify as apprise_notify

from monitor.config import ChannelConfig
from monitor.notify.message import OutgoingMessage, SendOutcome, scheme_of
from monitor.notify.redact import redact, secrets_from_url

__all__ = ["ChannelError", "OutgoingMessage", "SendOutcome", "build", "channel_kind", "send", "validate_channels",
           "scheme_of"]

_MAX_REASON = 500
_SEVERITY_TYPE = {"info": NotifyType.INFO, "warning": NotifyType.WARNING, "critical": NotifyType.FAILURE}

ServiceHook = Callable[[Any], None]

_apprise_log = logging.getLogger("apprise")
_urllib3_log = logging.getLogger("urllib3.connectionpool")
_capture: contextvars.ContextVar[list[tuple[int, str]] | None] = contextvars.ContextVar(
    "soe_apprise_capture", default=None
)
_secrets_lock = threading.Lock()
_known_secrets: frozenset[str] = frozenset()


class ChannelError(ValueError):
    """A channel that cannot be built; the message names the channel, never its URL."""


# --- apprise logger: level, redaction, per-send capture -------------------------------------


def _remember_secrets(url: str) -> None:
    global _known_secrets
    new = secrets_from_url(url)
    if not new <= _known_secrets:
        with _secrets_lock:
            _known_secrets = _known_secrets | new


class _AppriseTap(logging.Filter):
    """Logger-level filter on 'apprise': masks secrets before any handler sees the record, and
    copies the line to the current send's capture."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = redact(record.getMessage(), _known_secrets)
        except Exception:
            return True
        record.msg, record.args = message, None
        buf = _capture.get()
        if buf is not None:
            buf.append((record.levelno, message))
        return True


def _capturing_debug(real_debug: Callable[..., None]) -> Callable[..., None]:
    def debug(msg: object, *args: object, **kwargs: Any) -> None:
        buf = _capture.get()
        if buf is not None and not _apprise_log.isEnabledFor(logging.DEBUG):
            with contextlib.suppress(Exception):
                text = str(msg) % args if args else str(msg)
                buf.append((logging.DEBUG, redact(text, _known_secrets)))
        real_debug(msg, *args, **kwargs)

    debug._soe_capture = True  # type: ignore[attr-defined]
    return debug


def _guard_apprise_logger() -> None:
    """Keep the apprise logger at INFO or above and install the tap (idempotent).

    urllib3 (apprise's HTTP client) logs each request path at DEBUG, webhook tokens included,
    so its connection-pool logger is held at INFO too.
    """
    for logger in (_apprise_log, _urllib3_log):
        if logger.level == logging.NOTSET or logger.level < logging.INFO:
            logger.setLevel(logging.INFO)
    if not any(isinstance(f, _AppriseTap) for f in _apprise_log.filters):
        _apprise_log.addFilter(_AppriseTap())
    if not getattr(_apprise_log.debug, "_soe_capture", False):
        _apprise_log.debug = _capturing_debug(_apprise_log.debug)  # type: ignore[method-assign]


@contextlib.contextmanager
def _captured() -> Iterator[list[tuple[int, str]]]:
    """Collect the apprise lines logged by this context (and the worker threads apprise starts for it)."""
    buf: list[tuple[int, str]] = []
    token = _capture.set(buf)
    try:
        yield buf
    finally:
        _capture.reset(token)


_guard_apprise_logger()


# --- console:// ------------------------------------------------------------------------------


def _register_console() -> None:
    from apprise.manager_plugins import NotificationManager

    if "console" in NotificationManager():
        return

    @apprise_notify(on="console", name="Console")
    def _console(body: str, title: str, notify_type: str, *args: Any, **kwargs: Any) -> bool:
        # Looked up at call time so redirected stdout (tests, daemons) is honoured.
        out = sys.stdout
        # Alert subjects carry their severity already; only untitled notices get the type.
        header = title or f"[{notify_type}]"
        print(f"{header}\n{body}\n", file=out, flush=True)
        return True


_register_console()


# --- building and sending --------------------------------------------------------------------


def build(channel_name: str, channel: ChannelConfig, service_hook: ServiceHook | None = None) -> apprise.Apprise:
    """An Apprise object holding this channel's one URL; ChannelError (naming the channel) if invalid."""
    _guard_apprise_logger()
    _remember_secrets(channel.url)
    app = apprise.Apprise()
    with _captured() as lines:
        added = app.add(channel.url)
    if not added or len(app) == 0:
        detail = "; ".join(dict.fromkeys(m for lvl, m in lines if lvl >= logging.WARNING))
        hint = f": {detail}" if detail else ""
        raise ChannelError(f"channel {channel_name!r}: not a valid apprise URL{hint}"[:_MAX_REASON])
    if service_hook is not None:
        for service in app:
            service_hook(service)
    return app


def validate_channels(channels: Mapping[str, ChannelConfig]) -> list[str]:
    """One error line per channel whose URL apprise cannot load (for start-up and config checks)."""
    errors: list[str] = []
    for name, channel in channels.items():
        try:
            build(name, channel)
        except ChannelError as exc:
            errors.append(str(exc))
    return errors


def channel_kind(app: apprise.Apprise) -> str:
    """'email', 'slack' or 'other', by the plugin apprise chose (https://hooks.slack.com/... is Slack too)."""
    from apprise.plugins.email import NotifyEmail
    from apprise.plugins.slack import NotifySlack

    service = app[0]
    return "email" if isinstance(service, NotifyEmail) else "slack" if isinstance(service, NotifySlack) else "other"


def _pick_body(kind: str, message: OutgoingMessage) -> tuple[str, str, NotifyFormat | None]:
    """(title, body, body_format) for a channel kind: HTML for email, Slack markdown for Slack, else text."""
    if kind == "email" and message.html:
        return message.title, message.html, NotifyFormat.HTML
    if kind == "slack" and message.slack:
        # Declared MARKDOWN makes apprise convert CommonMark to mrkdwn and escape & < > in every
        # Slack mode; undeclared (passthrough) bodies are re-escaped in legacy mode and would turn
        # an article's "<!channel>" back into a live mention. The subject is bold in the body.
        return "", message.slack, NotifyFormat.MARKDOWN
    return message.title, message.text, NotifyFormat.TEXT


# str() of smtplib errors: "(451, b'4.3.0 busy')", "{'to@x': (550, b'...')}", "(550, b'...', 'from@x')".
_SMTP_REPLY = re.compile(r"\((\d{3}), b?(['\"])(.*?)\2\s*[,)]", re.S)
_RETRY_AFTER = re.compile(r"retry[- ]after\D{0,3}(\d+(?:\.\d+)?)", re.I)


def _summarise(lines: list[tuple[int, str]], status: AppriseResultStatus) -> tuple[str, bool, float | None]:
    """(reason, permanent, retry_after) from the lines apprise logged during a failed send."""
    parts: list[str] = []
    permanent = False
    for level, text in lines:
        for code, _quote, reply in _SMTP_REPLY.findall(text):
            parts.append(f"SMTP {code} {reply.strip()}".strip())
            permanent = permanent or code.startswith("5")
        if level >= logging.WARNING or (level == logging.DEBUG and "Exception" in text and not _SMTP_REPLY.search(text)):
            parts.append(text.strip())
    if status == AppriseResultStatus.TIMEOUT:
        parts.insert(0, "timed out")
    match = next((m for _, t in lines if (m := _RETRY_AFTER.search(t))), None)
    reason = "; ".join(dict.fromkeys(p for p in parts if p)) or f"apprise reported {status.name}"
    return reason, permanent, float(match.group(1)) if match else None


def send(
    channel_name: str,
    channel: ChannelConfig,
    message: OutgoingMessage,
    service_hook: ServiceHook | None = None,
) -> SendOutcome:
    """Send one message to one channel and report what really happened (reason redacted).

    `service_hook` is called with each apprise service before sending (tests use it to turn off
    apprise's per-service throttle).
    """
    secrets = secrets_from_url(channel.url)
    try:
        app = build(channel_name, channel, service_hook)
    except ChannelError as exc:
        return SendOutcome(ok=False, reason=redact(str(exc), secrets))
    kind = channel_kind(app)
    title, body, body_format = _pick_body(kind, message)
    # Slack webhooks cannot carry files (apprise only warns); email and json:// can.
    takes_files = kind != "slack" and all(service.attachment_support for service in app)
    attach = [str(p) for p in message.attachments if p.exists()] if takes_files else []
    with _captured() as lines:
        try:
            result = app.notify(
                body=body, title=title, body_format=body_format, attach=attach or None,
                notify_type=_SEVERITY_TYPE.get(message.severity, NotifyType.INFO),
            )
            status = result.status
            result.close()  # frees any log spill files apprise kept for the result
        except Exception as exc:  # a plugin bug must not kill the delivery loop
            lines.append((logging.ERROR, f"{type(exc).__name__}: {exc}"))
            status = AppriseResultStatus.FAILURE
    if status == AppriseResultStatus.SUCCESS:
        return SendOutcome(ok=True)
    reason, permanent, retry_after = _summarise(lines, status)
    reason = redact(reason, secrets)[:_MAX_REASON]
    return SendOutcome(ok=False, reason=reason, permanent=permanent, retry_after=retry_after)
