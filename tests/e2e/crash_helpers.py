"""Shared pieces of the delivery acceptance tests (issue 6): feeds that grow, a config folder, an
SMTP server that answers what a test scripts, and direct reads of the SQLite outbox."""

from __future__ import annotations

import email
import html
import sqlite3
import textwrap
import threading
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path

from tests.support import LoopbackHTTP, Route, free_port

# Sentences the extractor reads as one contract each (checked with `soe-monitor extract`): the
# project name ("Nairobi Bridge 7") is distinct per article, so each article is one alert.
_COMPANIES = ("China Railway Construction Corp", "PowerChina", "China Communications Construction Co",
              "China Railway Group", "China State Construction Engineering Corp")
_PLACES = (("Nairobi", "Kenya National Highways Authority", "Kenya"),
           ("Lusaka", "Roads Authority of Zambia", "Zambia"),
           ("Dhaka", "Bangladesh Bridge Authority", "Bangladesh"))

SUBJECT_PREFIX = "deal-alert"

CONTRACT_RULES = f"""\
rules:
  - name: big-contracts
    description: Every new contract worth a billion dollars or more.
    kind: contract
    trigger: {{type: threshold, field: usd_value, gte: 1000000000}}
    subject: "{SUBJECT_PREFIX} {{{{ project }}}}"
    notify: [email]
    severity: info
"""


@dataclass(frozen=True)
class Article:
    """One RSS item announcing one contract."""

    n: int
    base: str = "https://news.example.org"  # the feed server's own URL: a quick 404, no DNS look-up

    @property
    def project(self) -> str:
        return f"{_PLACES[self.n % len(_PLACES)][0]} Bridge {self.n}"

    @property
    def guid(self) -> str:
        return f"deal-{self.n:04d}"

    @property
    def link(self) -> str:
        return f"{self.base}/deals/{self.guid}"

    @property
    def body(self) -> str:
        company = _COMPANIES[self.n % len(_COMPANIES)]
        city, authority, country = _PLACES[self.n % len(_PLACES)]
        return (f"{company} signed a ${1 + self.n / 100:.2f} billion contract with the {authority} "
                f"to build the {city} Bridge {self.n} in {country}.")

    @property
    def date(self) -> str:
        day = 1 + self.n % 28
        return f"{['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][day % 7]}, {day:02d} Nov 2024 08:{self.n % 60:02d}:00 GMT"


def rss(articles: list[Article]) -> bytes:
    """An RSS 2.0 document with the full text in each item."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>', '<rss version="2.0"><channel><title>deals</title>',
             "<link>http://example.org/</link><description>d</description>"]
    for a in articles:
        parts.append(f"<item><title>Contract {a.n}</title><link>{a.link}</link>"
                     f'<guid isPermaLink="false">{a.guid}</guid><pubDate>{a.date}</pubDate>'
                     f"<description>{html.escape('<p>' + html.escape(a.body) + '</p>')}</description></item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()


class GrowingFeeds:
    """Feeds on a loopback HTTP server whose articles only ever grow; thread-safe."""

    def __init__(self, http: LoopbackHTTP, names: list[str]) -> None:
        self.http = http
        self.names = names
        self.items: dict[str, list[Article]] = {name: [] for name in names}
        self._next = 1
        self._lock = threading.Lock()
        for name in names:
            http.routes[self.path(name)] = Route(rss([]))

    @staticmethod
    def path(name: str) -> str:
        return f"/{name}.xml"

    def url(self, name: str) -> str:
        return self.http.url(self.path(name))

    def add(self, name: str) -> Article:
        """Publish one more article on feed `name`."""
        with self._lock:
            article = Article(self._next, self.http.url(""))
            self._next += 1
            self.items[name].append(article)
            self.http.routes[self.path(name)] = Route(rss(list(self.items[name])))  # one atomic swap
            return article

    @property
    def published(self) -> list[Article]:
        with self._lock:
            return [a for items in self.items.values() for a in items]


def write_project(tmp: Path, *, feeds: dict[str, str], channels: dict[str, str], rules: str,
                  delivery: str = "", extra: str = "", feed_interval: str = "15m") -> Path:
    """config.toml + alert-rules/rules.yaml in `tmp`; returns the config path."""
    (tmp / "alert-rules").mkdir(exist_ok=True)
    (tmp / "alert-rules" / "rules.yaml").write_text(rules)
    channel_lines = "\n".join(f'{name} = "{url}"' for name, url in channels.items())
    feed_tables = "".join(f'\n[[feeds]]\nname = "{name}"\nurl = "{url}"\ninterval = "{feed_interval}"\n'
                          for name, url in feeds.items())
    config = tmp / "config.toml"
    config.write_text(textwrap.dedent("""\
        [storage]
        url = "sqlite:///data/monitor.db"

        [rules]
        paths = ["alert-rules"]
        reload_interval = "1s"

        [server]
        listen = ""

        [alerts]
        first_poll = "alert"

        """) + "[channels]\n" + channel_lines + "\n\n[delivery]\n" + textwrap.dedent(delivery) + "\n"
        + textwrap.dedent(extra) + feed_tables)
    return config


def db_path(tmp: Path) -> Path:
    return tmp / "data" / "monitor.db"


def query(tmp: Path, sql: str, args: tuple = ()) -> list[tuple]:
    """Read the project's SQLite database (short read transactions: a running daemon is not disturbed)."""
    path = db_path(tmp)
    if not path.exists():
        return []
    conn = sqlite3.connect(path, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:  # no tables yet (the daemon was killed before migrating)
        if "no such table" in str(exc):
            return []
        raise
    finally:
        conn.close()


def delivery_statuses(tmp: Path) -> dict[str, int]:
    """How many outbox rows are in each status."""
    return dict(query(tmp, "SELECT status, count(*) FROM delivery GROUP BY status"))  # type: ignore[arg-type]


def subject_of(msg: Message) -> str:
    return str(make_header(decode_header(msg.get("Subject", "")))).replace("\r", "").replace("\n", " ")


class ScriptedSmtp:
    """A real aiosmtpd server on loopback whose DATA replies follow a script ("451 ...", "550 ...");
    after the script runs out it accepts ("250 OK"). Counts every DATA command and keeps accepted mails."""

    def __init__(self, replies: list[str] | None = None, port: int | None = None, *, reject_auth: bool = False) -> None:
        self.port = port or free_port()
        self.replies = list(replies or [])
        self.reject_auth = reject_auth  # offer AUTH (without TLS) and refuse every login with 535
        self.passwords: list[str] = []  # what clients sent in AUTH
        self.data_commands = 0
        self.accepted: list[Message] = []
        self._controller = None
        self._lock = threading.Lock()

    def start(self) -> "ScriptedSmtp":
        from aiosmtpd.controller import Controller

        owner = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                with owner._lock:
                    owner.data_commands += 1
                    reply = owner.replies.pop(0) if owner.replies else "250 OK"
                    if reply.startswith("250"):
                        owner.accepted.append(email.message_from_bytes(envelope.original_content or envelope.content))
                return reply

        def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
            from aiosmtpd.smtp import AuthResult

            password = getattr(auth_data, "password", b"")
            owner.passwords.append(password.decode() if isinstance(password, bytes) else str(password))
            return AuthResult(success=False, handled=False)

        extra = {"authenticator": authenticator, "auth_require_tls": False} if self.reject_auth else {}
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **extra)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def url(self, userinfo: str = "") -> str:
        return (f"mailto://{userinfo}127.0.0.1:{self.port}?from=monitor@example.com&to=analyst@example.com"
                "&mode=insecure")
