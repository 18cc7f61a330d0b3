"""Named contracts and the articles that reported them."""

from __future__ import annotations

from datetime import datetime

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
