"""Secrets never leave through URLs shown, log records or error text."""

from __future__ import annotations

import io
import logging

from monitor.notify.redact import RedactingFilter, channel_secrets, redact, redact_url, secrets_from_url


def test_redact_url_masks_password_and_secret_query_values_but_keeps_scheme_and_host() -> None:
    url = "mailtos://user:Sup3rS3cret@smtp.example.com:587?to=a@example.com&pass=Other5ecret&apikey=k3y123456"
    shown = redact_url(url)
    assert shown.startswith("mailtos://user:****@smtp.example.com:587?")
    assert "to=a@example.com" in shown
    for secret in ("Sup3rS3cret", "Other5ecret", "k3y123456"):
        assert secret not in shown


def test_redact_url_masks_slack_tokens_and_keeps_channel() -> None:
    shown = redact_url("slack://T1JJ3T3L2/B1JJ3T3L2/TIiajkdnlazkcOXrIdevi7FQ/#alerts")
    assert shown == "slack://****/****/****/#alerts"
    assert redact_url("slack://xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d/#general") == "slack://****/#general"


def test_redact_url_masks_webhook_tokens_in_https_paths() -> None:
    shown = redact_url("https://hooks.slack.com/services/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")
    assert shown == "https://hooks.slack.com/services/****/****/****"


def test_redact_masks_known_secrets_and_urls_inside_free_text() -> None:
    secrets = secrets_from_url("slack://T1JJ3T3L2/B1JJ3T3L2/TIiajkdnlazkcOXrIdevi7FQ/#alerts")
    text = "POST https://hooks.slack.com/services/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 failed; token TIiajkdnlazkcOXrIdevi7FQ"
    out = redact(text, secrets)
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in out and "T1JJ3T3L2" not in out
    assert "hooks.slack.com" in out


def test_channel_secrets_collects_every_channel() -> None:
    secrets = channel_secrets({"a": "mailto://u:pw12345@h?to=x@y.z", "b": "json://h/path?token=abcd1234"})
    assert {"pw12345", "abcd1234"} <= secrets


def test_redacting_filter_masks_messages_args_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter({"Sup3rS3cret"}))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("login with %s failed", "Sup3rS3cret")
        try:
            raise RuntimeError("bad password Sup3rS3cret")
        except RuntimeError:
            logger.exception("boom at mailto://u:Sup3rS3cret@host")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "Sup3rS3cret" not in out
    assert "login with **** failed" in out and "RuntimeError" in out


def test_redacting_filter_accepts_whole_channel_urls_and_masks_their_parts() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(["slack://T0AAAA111/B0BBBB222/SecretTokenC999888/#ops"]))
    logger = logging.getLogger("test.redact.urls")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.debug("x")  # below level: nothing
        logger.warning('"POST /services/T0AAAA111/B0BBBB222/SecretTokenC999888 HTTP/1.1" 500')
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "SecretTokenC999888" not in out and "T0AAAA111" not in out and "POST /services/" in out
