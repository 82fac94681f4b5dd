"""Initial schema: payment keys, the ledger, purchase outcomes and processor events.

A database made by the former `create_all` already has payment_keys (same columns, constraint and index
names): each table is created only where it is missing, so upgrading such a database keeps its rows.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

TABLES = ("payment_keys", "ledger_entries", "purchase_outcomes", "processor_events")


def _payment_keys() -> None:
    op.create_table(
        "payment_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=False),
        sa.Column("order_ref", sa.String(length=255), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name="uq_payment_keys_key"),
    )
    op.create_index("ix_payment_keys_order_ref", "payment_keys", ["order_ref"])


def _ledger_entries() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("purchase_id", sa.String(length=255), nullable=False),
        sa.Column("order_ref", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("counterparty", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("market_day", sa.Date(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("purchase_id", "kind", "key", name="uq_ledger_entries_purchase_kind_key"),
    )
    op.create_index("ix_ledger_entries_purchase_id", "ledger_entries", ["purchase_id"])
    op.create_index("ix_ledger_entries_order_ref", "ledger_entries", ["order_ref"])
    op.create_index("ix_ledger_entries_market_day", "ledger_entries", ["market_day"])


def _purchase_outcomes() -> None:
    op.create_table(
        "purchase_outcomes",
        sa.Column("purchase_id", sa.String(length=255), nullable=False),
        sa.Column("order_ref", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("fee_waived", sa.Boolean(), nullable=False),
        sa.Column("handed_over", sa.Boolean(), nullable=False),
        sa.Column("deposit_fen", sa.Integer(), nullable=False),
        sa.Column("cancellation_fee_fen", sa.Integer(), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("premium_fen", sa.Integer(), nullable=False),
        sa.Column("purchase_tax_fen", sa.Integer(), nullable=False),
        sa.Column("plate_fee_fen", sa.Integer(), nullable=False),
        sa.Column("loan_principal_fen", sa.Integer(), nullable=False),
        sa.Column("balance_due_fen", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("market_day", sa.Date(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("purchase_id", name="uq_purchase_outcomes_purchase_id"),
    )
    op.create_index("ix_purchase_outcomes_order_ref", "purchase_outcomes", ["order_ref"])
    op.create_index("ix_purchase_outcomes_market_day", "purchase_outcomes", ["market_day"])


def _processor_events() -> None:
    op.create_table(
        "processor_events",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=False),
        sa.Column("order_ref", sa.String(length=255), nullable=True),
        sa.Column("amount_fen", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", name="uq_processor_events_event_id"),
    )
    op.create_index("ix_processor_events_order_ref", "processor_events", ["order_ref"])


_CREATE = {
    "payment_keys": _payment_keys,
    "ledger_entries": _ledger_entries,
    "purchase_outcomes": _purchase_outcomes,
    "processor_events": _processor_events,
}


def upgrade() -> None:
    """Create every table that is missing."""
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for table in TABLES:
        if table not in existing:
            _CREATE[table]()


def downgrade() -> None:
    """Drop the tables (and their rows)."""
    for table in reversed(TABLES):
        op.drop_table(table)
