"""drop indexes that duplicate the leading column of a unique constraint

Each of these indexes leads with the column that comes first in a unique constraint of its table,
whose index already serves lookups by it. The extra index only cost an insert per row (several per
stored article). ix_observation_series_period also ordered a series' rows by period: a series holds
few enough rows to sort them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 11:20:00
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# (index, table, columns): the first column leads a unique constraint of its table.
_REDUNDANT = [
    ('ix_article_source_article_id', 'article_source', ['article_id']),
    ('ix_observation_source_observation_id', 'observation_source', ['observation_id']),
    ('ix_contract_source_contract_id', 'contract_source', ['contract_id']),
    ('ix_delivery_alert_id', 'delivery', ['alert_id']),
    ('ix_observation_series_period', 'observation', ['series_id', 'period_end']),
]


def upgrade() -> None:
    for index, table, _ in _REDUNDANT:
        op.drop_index(index, table_name=table)


def downgrade() -> None:
    for index, table, columns in _REDUNDANT:
        op.create_index(index, table, columns, unique=False)
