"""The notification outbox: messages the notification activity writes and the outbox sender sends.

Revision ID: 0002_notification_outbox
Revises: 0001_initial
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_notification_outbox"
down_revision: str | None = "0001_initial"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create notification_outbox."""
    op.create_table(
        "notification_outbox",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("order_ref", sa.String(length=255), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("to", sa.String(length=254), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name="uq_notification_outbox_key"),
    )
    op.create_index("ix_notification_outbox_order_ref", "notification_outbox", ["order_ref"])
    op.create_index("ix_notification_outbox_status_id", "notification_outbox", ["status", "id"])


def downgrade() -> None:
    """Drop notification_outbox (and its messages)."""
    op.drop_table("notification_outbox")
