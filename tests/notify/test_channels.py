"""Real sends through apprise: console://, json:// and Slack against loopback servers, email via aiosmtpd."""

from __future__ import annotations

import base64
import logging

import apprise
import pytest
from apprise.plugins.slack import NotifySlack

from monitor.config import ChannelConfig
from monitor.notify.channels import ChannelError, build, send, validate_channels
from monitor.notify.message import OutgoingMessage
from monitor.notify.render import render_alert
from tests.notify.conftest import HTTPCatcher, SMTPServer, free_port, no_throttle
from tests.notify.test_render import EVIL

MSG = OutgoingMessage(title="Hello", text="plain body", html="<p>html body</p>", slack="**bold** body")


def test_console_channel_prints_title_and_body(capfd: pytest.CaptureFixture[str]) -> None:
    outcome = send("console", ChannelConfig(url="console://"), MSG)
    assert outcome.ok, outcome.reason
    out = capfd.readouterr().out
    assert "Hello" in out and "plain body" in out


def test_json_channel_posts_text_title_and_attachment(http: HTTPCatcher, tmp_path) -> None:
    png = tmp_path / "chart.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    message = MSG.model_copy(update={"attachments": [png]})
    outcome = send("hook", ChannelConfig(url=http.json_url), message, no_throttle)
    assert outcome.ok, outcome.reason
    [post] = http.posts
    assert post["json"]["title"] == "Hello" and post["json"]["message"] == "plain body"
    [attachment] = post["json"]["attachments"]
    assert base64.b64decode(attachment["base64"]).startswith(b"\x89PNG")


def test_json_channel_failure_reports_the_http_status(http: HTTPCatcher) -> None:
    http.status = [500]
    outcome = send("hook", ChannelConfig(url=http.json_url), MSG, no_throttle)
    assert not outcome.ok and not outcome.permanent
    assert "500" in (outcome.reason or "")


def test_slack_url_is_accepted_by_apprise() -> None:
    app = build("slack", ChannelConfig(url="slack://T000/B000/XXXX/#chan"))
    assert len(app) == 1 and isinstance(app[0], NotifySlack)


def test_slack_payload_is_escaped_mrkdwn_with_links(http: HTTPCatcher, monkeypatch: pytest.MonkeyPatch) -> None:
    # The real Slack plugin, pointed at the loopback server instead of hooks.slack.com.
    monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{http.port}/services")
    outcome = send("slack", ChannelConfig(url="slack://T000/B000/XXXX/#chan"), render_alert(EVIL), no_throttle)
    assert outcome.ok, outcome.reason
    [post] = http.posts
    assert post["path"] == "/services/T000/B000/XXXX"
    payload = post["json"]
    assert payload["mrkdwn"] is True
    text = payload["attachments"][0]["text"]
    assert text.startswith("*Exports &amp; &lt;b&gt;imports&lt;/b&gt; up*\n")
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "<https://news.example.com/a?b=1&amp;c=2|CRRC | wins [big] deal>" in text


def test_https_slack_webhook_url_also_gets_mrkdwn(http: HTTPCatcher, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{http.port}/services")
    png = tmp_path / "chart.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    message = render_alert(EVIL).model_copy(update={"attachments": [png]})
    url = "https://hooks.slack.com/services/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"
    outcome = send("slack", ChannelConfig(url=url), message, no_throttle)
    assert outcome.ok, outcome.reason
    [post] = http.posts
    assert post["json"]["attachments"][0]["text"].startswith("*Exports &amp;")


def test_invalid_url_is_an_error_naming_the_channel_not_the_url() -> None:
    channel = ChannelConfig(url="slack://onlyOneSecretToken123")
    with pytest.raises(ChannelError) as err:
        build("team-slack", channel)
    assert "team-slack" in str(err.value) and "onlyOneSecretToken123" not in str(err.value)
    outcome = send("team-slack", channel, MSG)
    assert not outcome.ok and "team-slack" in (outcome.reason or "")
    assert "onlyOneSecretToken123" not in (outcome.reason or "")
    assert validate_channels({"ok": ChannelConfig(url="console://"), "team-slack": channel}) == [str(err.value)]


def test_email_reason_says_what_the_server_answered(smtp: SMTPServer) -> None:
    smtp.handler.replies = ["451 4.3.0 Mailbox busy, try later"]
    outcome = send("email", ChannelConfig(url=smtp.url()), MSG, no_throttle)
    assert not outcome.ok and not outcome.permanent
    assert "SMTP 451 4.3.0 Mailbox busy, try later" in (outcome.reason or "")
    smtp.handler.replies = ["550 5.1.1 No such user"]
    outcome = send("email", ChannelConfig(url=smtp.url()), MSG, no_throttle)
    assert outcome.permanent and "SMTP 550" in (outcome.reason or "")
    assert send("email", ChannelConfig(url=smtp.url()), MSG, no_throttle).ok
    assert len(smtp.handler.messages) == 1


def test_email_has_html_and_text_parts(smtp: SMTPServer) -> None:
    import email

    assert send("email", ChannelConfig(url=smtp.url()), MSG, no_throttle).ok
    mail = email.message_from_bytes(smtp.handler.messages[0])
    assert mail["Subject"] == "Hello"
    types = {part.get_content_type(): part.get_payload(decode=True) for part in mail.walk()}
    assert b"html body" in types["text/html"] and b"html body" in types["text/plain"]


def test_closed_port_is_a_transient_failure() -> None:
    url = f"mailto://127.0.0.1:{free_port()}?from=a@example.com&to=b@example.com"
    outcome = send("email", ChannelConfig(url=url), MSG, no_throttle)
    assert not outcome.ok and not outcome.permanent
    assert "Connection refused" in (outcome.reason or "")


def test_apprise_logger_is_forced_back_to_info(http: HTTPCatcher, caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("apprise").setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    http.status = [500]
    send("hook", ChannelConfig(url=f"json://127.0.0.1:{http.port}/T0kenInPath9876543"), MSG, no_throttle)
    assert logging.getLogger("apprise").getEffectiveLevel() >= logging.INFO
    assert all(r.levelno >= logging.INFO for r in caplog.records if r.name.startswith("apprise"))
    assert "T0kenInPath9876543" not in caplog.text


def test_sends_from_threads_keep_their_own_reasons(smtp: SMTPServer, http: HTTPCatcher) -> None:
    from concurrent.futures import ThreadPoolExecutor

    smtp.handler.always = "452 4.2.2 Mailbox full"
    http.status = [503] * 8
    jobs = [("email", ChannelConfig(url=smtp.url())), ("hook", ChannelConfig(url=http.json_url))] * 4
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda job: send(job[0], job[1], MSG, no_throttle), jobs))
    for (name, _), outcome in zip(jobs, outcomes):
        assert not outcome.ok
        if name == "email":
            assert "SMTP 452" in (outcome.reason or "") and "503" not in (outcome.reason or "")
        else:
            assert "503" in (outcome.reason or "") and "SMTP" not in (outcome.reason or "")


def test_apprise_module_is_apprise_2() -> None:
    assert apprise.__version__.startswith("2.")


@pytest.mark.parametrize("line, expected, permanent", [
    ("Socket Exception: (451, b'4.3.0 Try later')", "SMTP 451 4.3.0 Try later", False),
    ("Socket Exception: {'b@example.com': (550, b'5.1.1 No such user')}", "SMTP 550 5.1.1 No such user", True),
    ("Socket Exception: (553, b'5.7.1 Sender refused', 'a@example.com')", "SMTP 553 5.7.1 Sender refused", True),
])
def test_smtp_errors_are_parsed_into_reasons(line: str, expected: str, permanent: bool) -> None:
    from apprise import AppriseResultStatus

    from monitor.notify.channels import _summarise

    reason, is_permanent, _ = _summarise([(logging.DEBUG, line)], AppriseResultStatus.FAILURE)
    assert reason == expected and is_permanent is permanent
