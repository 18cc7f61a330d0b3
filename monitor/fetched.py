"""The outcome of one fetch: what the fetcher hands to the feed parser (a module of its own, so
worker processes that only parse never import the HTTP client)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["FetchResult"]


class FetchResult(BaseModel):
    """The outcome of one fetch; `error` is a human message when status is "error"."""

    status: Literal["ok", "not_modified", "error"]
    url: str
    http_status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    retry_after: float | None = None
    max_age: float | None = None
    elapsed_ms: float = 0.0

    @property
    def content_type(self) -> str:
        """The media type without parameters, lowercase ('' when unknown)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The charset parameter of Content-Type, if any."""
        match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", self.headers.get("content-type", ""), re.I)
        return match.group(1).lower() if match else None
