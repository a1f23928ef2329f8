"""Credentials know their user and when access ends: notices, the provider's answer, reminders sent.

* ``ferry_credential.account`` (the provider's user id) gets an index: an expiry notice names
  the user, and the receiver looks the credential up by it.
* ``grant_source``: who said when access ends (``notice`` or ``provider``).
* ``grant_checked_at``: when the maintenance flow last asked the provider.
* ``grant_reminded_days``: the smallest reminder threshold (days before the end) already sent
  for the current ``grant_expires_at``, so each threshold is reminded once.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ferry_credential") as batch:
        batch.add_column(sa.Column("grant_source", sa.String(), nullable=True))
        batch.add_column(sa.Column("grant_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("grant_reminded_days", sa.Float(), nullable=True))
    op.create_index("ix_ferry_credential_account", "ferry_credential", ["account"])


def downgrade() -> None:
    raise NotImplementedError("ferry does not downgrade its job store; restore a backup instead")
