"""config.toml -> typed settings.

Every error names the file and the dotted key and says what to do. `${VAR}` in any string is
taken from the environment; relative paths resolve against the config file's folder.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and key."""


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """Parse '15m', '1h', '30s', '2d' (or a number of seconds) into a timedelta."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, (int, float)):
        return timedelta(seconds=float(text))
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration: use a number and a unit, e.g. 30s, 15m, 1h, 2d")
    return timedelta(seconds=float(match.group(1)) * _DURATION_UNITS[match.group(2)])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StorageConfig(_Strict):
    """Where observations, articles and the alert outbox live."""

    url: str = "sqlite:///data/monitor.db"


class RulesConfig(_Strict):
    """Where the YAML alert rules are, and how often to look for edits."""

    paths: list[str] = Field(default_factory=lambda: ["alert-rules"])
    reload_interval: timedelta = timedelta(seconds=2)

    _v = field_validator("reload_interval", mode="before")(lambda v: parse_duration(v))


class ChannelConfig(_Strict):
    """One notification channel: an apprise URL, optionally batched into a digest."""

    url: str
    digest: str | None = Field(default=None, description="cron expression: collect alerts and send one message then")
    # Raw URL with ${VAR} unresolved: safe to print.
    display: str = ""


class ServerConfig(_Strict):
    """The /healthz and /metrics endpoint; listen = "" turns it off."""

    listen: str = "127.0.0.1:8787"


class FetchConfig(_Strict):
    """Limits that keep one hostile server from hurting the others."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = "SOE-Monitor/0.1 (+https://github.com/soe-monitor)"
    workers: int = 8
    per_host: int = 2
    # Worker processes that parse feeds and extract facts (CPU-bound, so threads share one core):
    # "auto" is one per spare core, at most 4; 0 keeps everything in the daemon's process.
    processes: int | Literal["auto"] = Field(default="auto")

    @field_validator("processes")
    @classmethod
    def _processes_not_negative(cls, v: int | str) -> int | str:
        if isinstance(v, int) and not 0 <= v <= 64:
            raise ValueError('must be "auto" or a number of processes from 0 (none: parse in the daemon) to 64')
        return v

    def worker_processes(self) -> int:
        """How many worker processes to run for parsing and extraction."""
        if self.processes != "auto":
            return int(self.processes)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return min(4, max(0, cores - 1))


class DeliveryConfig(_Strict):
    """How the outbox retries failed sends."""

    max_attempts: int = 8
    backoff_initial: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=1)
    interval: timedelta = timedelta(seconds=30)
    lease: timedelta = timedelta(minutes=2)

    _v = field_validator("backoff_initial", "backoff_max", "interval", "lease", mode="before")(
        lambda v: parse_duration(v)
    )


class ExtractConfig(_Strict):
    """Extractor data files users may add to the shipped vocabulary and gazetteer."""

    vocabulary: list[str] = Field(default_factory=list)
    gazetteer: list[str] = Field(default_factory=list)
    fx_to_usd: dict[str, float] = Field(default_factory=dict)


class AlertsConfig(_Strict):
    """What a feed's first poll does: 'baseline' records facts silently, 'alert' alerts on them."""

    first_poll: Literal["baseline", "alert"] = "baseline"


class RetentionConfig(_Strict):
    """How long raw article text is kept; extracted facts are kept forever."""

    article_text_days: int = Field(default=90, ge=0, description="0 keeps article text forever")


class LoggingConfig(_Strict):
    """Log level and format."""

    level: str = "INFO"
    format: Literal["text", "logfmt", "json"] = "text"


class FeedConfig(_Strict):
    """One news feed to poll."""

    name: str
    url: str
    interval: timedelta = timedelta(minutes=15)
    full_text: bool = False
    lang: Literal["en", "zh"] | None = None
    min_interval: timedelta | None = None
    max_interval: timedelta | None = None
    # Overrides [alerts] first_poll for this feed (the offline demo alerts on its first poll).
    first_poll: Literal["baseline", "alert"] | None = None

    _v = field_validator("interval", "min_interval", "max_interval", mode="before")(
        lambda v: None if v is None else parse_duration(v)
    )

    @property
    def is_local(self) -> bool:
        """True for file:// URLs and plain paths."""
        return not re.match(r"^https?://", self.url, re.I)


class Config(_Strict):
    """The whole of config.toml, with paths resolved."""

    storage: StorageConfig = Field(default_factory=StorageConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    server: ServerConfig = Field(default_factory=ServerConfig)
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    extract: ExtractConfig = Field(default_factory=ExtractConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    feeds: list[FeedConfig] = Field(default_factory=list)
    base_dir: Path = Path(".")
    source: Path | None = None

    @model_validator(mode="after")
    def _unique_feed_names(self) -> "Config":
        seen: set[str] = set()
        for feed in self.feeds:
            if feed.name in seen:
                raise ValueError(f"feed name {feed.name!r} is used twice: give each [[feeds]] a unique name")
            seen.add(feed.name)
        return self


def expand_env(value: str, where: str) -> str:
    """Replace ${VAR} (or ${VAR:-default}) with the environment's value; a missing variable is an error."""

    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{where}: environment variable ${{{name}}} is not set: export it or remove the reference")

    return _ENV_REF.sub(sub, value)


def _normalise_channels(raw: Any, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [channels] must be a table of name = \"apprise URL\"")
    out: dict[str, dict[str, Any]] = {}
    for name, spec in raw.items():
        key = f"{where}: channels.{name}"
        table = {"url": spec} if isinstance(spec, str) else spec
        if not isinstance(table, dict) or not isinstance(table.get("url"), str):
            raise ConfigError(f"{key}: give an apprise URL string or a table {{url = \"...\", digest = \"cron\"}}")
        table = dict(table)
        table["display"] = table["url"]
        table["url"] = expand_env(table["url"], f"{key}.url")
        out[name] = table
    return out


def _resolve_path(base: Path, value: str) -> str:
    if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.I):
        return value
    path = Path(value)
    return str(path if path.is_absolute() else (base / path).resolve())


def _resolve_storage_url(base: Path, url: str) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////") and ":memory:" not in url:
        return prefix + str((base / url[len(prefix):]).resolve())
    return url


def _format_validation(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: invalid configuration ({err.error_count()} error(s)):"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key: check the spelling against README.md#configuration"
        lines.append(f"{path}: {key}: {msg}")
    return "\n".join(lines)


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise ConfigError naming the file and key on any problem."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found: pass --config PATH or create ./config.toml") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    base = path.resolve().parent
    if "channels" in raw:
        raw["channels"] = _normalise_channels(raw["channels"], str(path))
    for i, feed in enumerate(raw.get("feeds", []) or []):
        if isinstance(feed, dict) and isinstance(feed.get("url"), str):
            feed["url"] = _resolve_path(base, expand_env(feed["url"], f"{path}: feeds[{i}].url"))
    try:
        config = Config.model_validate({**raw, "base_dir": base, "source": path})
    except ValidationError as exc:
        raise ConfigError(_format_validation(path, exc)) from None
    config.storage.url = _resolve_storage_url(base, expand_env(config.storage.url, f"{path}: storage.url"))
    config.rules.paths = [_resolve_path(base, p) for p in config.rules.paths]
    config.extract.vocabulary = [_resolve_path(base, p) for p in config.extract.vocabulary]
    config.extract.gazetteer = [_resolve_path(base, p) for p in config.extract.gazetteer]
    return config
