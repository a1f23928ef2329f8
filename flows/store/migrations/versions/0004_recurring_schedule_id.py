"""Recurring transfers remember their Prefect schedule's id.

Why: Prefect keeps a schedule's id through every edit (pause, resume, a new cron in the UI), but
an edit made outside ferry wipes the schedule's ``recurring_id`` parameter. With the id stored,
a round started by that schedule still finds its recurring transfer (flows.schedules).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ferry_recurring") as batch:
        batch.add_column(sa.Column("schedule_id", sa.String(), nullable=True))
        batch.create_index("ix_ferry_recurring_schedule_id", ["schedule_id"])


def downgrade() -> None:
    with op.batch_alter_table("ferry_recurring") as batch:
        batch.drop_index("ix_ferry_recurring_schedule_id")
        batch.drop_column("schedule_id")
