"""Everything a running monitor needs, built from the config.

The extractor, fetcher and rules are built on first use, so read-only CLI commands (alerts,
series, feeds, status) open only the database.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from functools import cached_property

from sqlalchemy.engine import Engine

from monitor import workers
from monitor.config import Config
from monitor.extract import Extractor
from monitor.fetch import Fetcher
from monitor.rulebook import RuleBook
from storage.db import make_engine
from storage.migrate import upgrade

log = logging.getLogger(__name__)


def instance_id() -> str:
    """A name for this process in leases: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def is_dead_local_owner(owner: str) -> bool:
    """True for a lease owner of this host whose process no longer runs (it was killed)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


class Runtime:
    """The config plus the long-lived parts built from it."""

    def __init__(self, config: Config, db: Engine) -> None:
        self.config = config
        self.db = db
        self.owner = instance_id()

    @classmethod
    def build(cls, config: Config, *, load_rules: bool = True) -> "Runtime":
        """Open the database (migrating its schema to the latest) and, unless told not to, load the rules."""
        db = make_engine(config.storage.url)
        upgrade(db)
        rt = cls(config, db)
        if load_rules:
            rt.rulebook.load()
        return rt

    @cached_property
    def extractor(self) -> Extractor:
        """Text -> facts, with the user's data files."""
        return workers.build_extractor(self.config.extract)

    @cached_property
    def fetcher(self) -> Fetcher:
        """The shared HTTP client with its limits."""
        return Fetcher(self.config.fetch)

    @cached_property
    def cpu(self) -> workers.CpuPool:
        """Feed parsing and extraction, in worker processes when `[fetch] processes` asks for them."""
        return workers.CpuPool(self.config.fetch.worker_processes(), self.config.extract, lambda: self.extractor)

    @cached_property
    def rulebook(self) -> RuleBook:
        """The rules in force (call .load() before use)."""
        return RuleBook(self.config.rules.paths, self.config.channels.keys(),
                        self.extractor.known_metrics(), self.extractor.known_entities())

    def release_dead_leases(self) -> None:
        """After a crash, give back the feed and outbox leases a killed process of this host held,
        rather than wait for them to expire."""
        from storage import feeds as feed_store
        from storage import outbox
        from storage.db import session_scope

        with session_scope(self.db) as session:
            owners = set(feed_store.lease_owners(session)) | set(outbox.sending_owners(session))
            dead = [o for o in owners if is_dead_local_owner(o)]
            feeds = feed_store.release_owners(session, dead)
            sends = outbox.release_owners(session, dead)
        if feeds or sends:
            log.info("released %d feed lease(s) and %d send(s) held by stopped processes", feeds, sends)

    def close(self) -> None:
        """Stop the worker processes and release connections."""
        if "cpu" in self.__dict__:
            self.cpu.close()
        if "fetcher" in self.__dict__:
            self.fetcher.close()
        self.db.dispose()
