"""What is sent (OutgoingMessage) and what came of it (SendOutcome): plain data, no apprise."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

# Schemes whose channels get the chart rendered (the send itself checks the plugin's support).
ATTACHMENT_SCHEMES = frozenset({"mailto", "mailtos", "json", "jsons", "form", "forms"})


def scheme_of(url: str) -> str:
    """The lower-case scheme of an apprise URL ('' when there is none)."""
    return url.split("://", 1)[0].lower() if "://" in url else ""


class OutgoingMessage(BaseModel):
    """One rendered notification; each channel picks the body that suits it."""

    title: str
    text: str = Field(description="plain text body: console, SMS, webhooks")
    html: str | None = Field(default=None, description="HTML body for email (escaped)")
    slack: str | None = Field(
        default=None,
        description="Slack body, written as CommonMark that apprise's Slack plugin turns into mrkdwn "
        "(**b** -> *b*, [t](<u>) -> <u|t>, & < > -> entities)",
    )
    attachments: list[Path] = Field(default_factory=list)
    severity: str = Field(default="info", description="info | warning | critical: the notification type")


class SendOutcome(BaseModel):
    """The result of one send to one channel. `reason` is already redacted."""

    ok: bool
    reason: str | None = None
    retry_after: float | None = Field(default=None, description="seconds the server asked us to wait")
    permanent: bool = Field(default=False, description="retrying cannot help (e.g. SMTP 550)")
