"""Reconciliation reports: one rendered report (HTML, CSV and the model as JSON) per reconciled day.

Revision ID: 0003_reconciliation_reports
Revises: 0002_notification_outbox
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_reconciliation_reports"
down_revision: str | None = "0002_notification_outbox"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create reconciliation_reports."""
    op.create_table(
        "reconciliation_reports",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("movements", sa.Integer(), nullable=False),
        sa.Column("discrepancies", sa.Integer(), nullable=False),
        sa.Column("by_type", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("csv", sa.Text(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", name="uq_reconciliation_reports_day"),
    )


def downgrade() -> None:
    """Drop reconciliation_reports (and the stored reports)."""
    op.drop_table("reconciliation_reports")
