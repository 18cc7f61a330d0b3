"""Everything a running monitor needs, built once from the config."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

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


@dataclass
class Runtime:
    """The config plus the long-lived parts built from it."""

    config: Config
    db: Engine
    extractor: Extractor
    rulebook: RuleBook
    fetcher: Fetcher
    owner: str = field(default_factory=instance_id)

    @classmethod
    def build(cls, config: Config, *, load_rules: bool = True) -> "Runtime":
        """Open the database (migrating its schema to the latest), load the extractor data and the rules."""
        db = make_engine(config.storage.url)
        upgrade(db)
        extractor = Extractor(
            vocabulary_files=[Path(p) for p in config.extract.vocabulary],
            gazetteer_files=[Path(p) for p in config.extract.gazetteer],
            fx_to_usd=config.extract.fx_to_usd or None,
        )
        rulebook = RuleBook(config.rules.paths, config.channels.keys(), extractor.known_metrics(), extractor.known_entities())
        if load_rules:
            rulebook.load()
        return cls(config=config, db=db, extractor=extractor, rulebook=rulebook, fetcher=Fetcher(config.fetch))

    def close(self) -> None:
        """Release connections."""
        self.fetcher.close()
        self.db.dispose()
