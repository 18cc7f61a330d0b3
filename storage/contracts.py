"""Named contracts and the articles that reported them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from storage.models import ContractRecord, ContractSource


def find_contract(session: Session, key: str) -> ContractRecord | None:
    """The contract with this identity key."""
    return session.exec(select(ContractRecord).where(ContractRecord.key == key)).first()


def add_contract(session: Session, record: ContractRecord) -> ContractRecord:
    """Store a new contract."""
    session.add(record)
    session.flush()
    return record


def add_contract_source(session: Session, contract_id: int, article_id: int, now: datetime) -> bool:
    """Record that an article reported a contract; False when already recorded."""
    exists = session.exec(
        select(ContractSource.id).where(ContractSource.contract_id == contract_id, ContractSource.article_id == article_id)
    ).first()
    if exists is not None:
        return False
    session.add(ContractSource(contract_id=contract_id, article_id=article_id, seen_at=now))
    session.flush()
    return True


def contract_source_times(session: Session, contract_id: int) -> list[datetime]:
    """When each source of a contract was first seen, oldest first."""
    return list(session.exec(
        select(ContractSource.seen_at).where(ContractSource.contract_id == contract_id).order_by(ContractSource.seen_at)
    ))


# Plain INSERTs with bound parameters: one compiled statement each, reused for every row.
_INSERT_CONTRACT = ContractRecord.__table__.insert()
_INSERT_SOURCE = ContractSource.__table__.insert()


def find_contract_id(session: Session, key: str) -> int | None:
    """The id of the contract with this identity key."""
    return session.execute(sa_select(ContractRecord.id).where(ContractRecord.key == key)).scalar()


def insert_contract(session: Session, values: dict) -> int:
    """Store a new contract (one INSERT); return its id."""
    return session.connection().execute(_INSERT_CONTRACT, values).inserted_primary_key[0]


def insert_contract_source(session: Session, contract_id: int, article_id: int, now: datetime, *,
                           check: bool = True) -> bool:
    """Like `add_contract_source` with plain statements; `check=False` only for a contract just
    stored, which cannot have a source yet."""
    if check and session.execute(
        sa_select(ContractSource.id).where(ContractSource.contract_id == contract_id,
                                           ContractSource.article_id == article_id)
    ).first() is not None:
        return False
    session.connection().execute(_INSERT_SOURCE, dict(contract_id=contract_id, article_id=article_id, seen_at=now))
    return True
