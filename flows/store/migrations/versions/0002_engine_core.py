"""Engine core: counts only from the ledger, errors superseded in place, intents, typed state slots.

* ``ferry_job`` loses its counters (every figure is counted from the ledger); states become text
  (WAITING is new; text grows without ALTER TYPE on PostgreSQL).
* ``ferry_ledger`` is keyed by (scope, kind, item_id), so a photo and a file made from the same
  source file never share a row; it gains the item's name, its error, a checksum and attempts.
  Errors of ``ferry_item_error`` move onto their ledger rows (or become problems when they name
  no item); the table goes.
* New: ``ferry_problem``, ``ferry_bookmark``, ``ferry_connector_state``; cursors carry a version.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
TEXT_STATE = sa.String(32)


def _to_text(table: str, column: str) -> None:
    with op.batch_alter_table(table) as batch:
        batch.alter_column(column, type_=TEXT_STATE, existing_nullable=False, postgresql_using=f"{column}::text")


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("ferry_job") as batch:
        for column in ("items_imported", "items_skipped", "items_failed", "bytes_moved"):
            batch.drop_column(column)
    _to_text("ferry_job", "state")
    _to_text("ferry_recurring", "state")
    _to_text("ferry_credential", "status")
    if bind.dialect.name == "postgresql":
        for name in ("jobstate", "recurringstate", "credentialstatus"):
            op.execute(f"DROP TYPE IF EXISTS {name}")

    op.drop_index("ix_ferry_ledger_job_id", table_name="ferry_ledger")
    op.create_table(
        "ferry_ledger_v2",
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("vertical", sa.String(), nullable=False),
        sa.Column("item_name", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("destination_id", sa.Text(), nullable=True),
        sa.Column("outcome", TEXT_STATE, nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("retryable", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("scope", "kind", "item_id"),
    )
    op.execute(
        "INSERT INTO ferry_ledger_v2 (scope, kind, item_id, job_id, vertical, item_name, content_hash, destination_id,"
        " outcome, bytes, checksum, error, retryable, attempts, updated_at)"
        " SELECT scope, kind, item_id, job_id, vertical, NULL, content_hash, destination_id, outcome, bytes, NULL,"
        " (SELECT e.message FROM ferry_item_error e WHERE e.job_id = l.job_id AND e.item_id = l.item_id ORDER BY e.id DESC LIMIT 1),"
        " false, 0, updated_at FROM ferry_ledger l"
    )
    op.execute(
        "UPDATE ferry_ledger_v2 SET item_name = (SELECT e.item_name FROM ferry_item_error e WHERE e.job_id = ferry_ledger_v2.job_id"
        " AND e.item_id = ferry_ledger_v2.item_id ORDER BY e.id DESC LIMIT 1) WHERE outcome = 'failed'"
    )
    op.drop_table("ferry_ledger")
    op.rename_table("ferry_ledger_v2", "ferry_ledger")
    op.create_index("ix_ferry_ledger_job_id", "ferry_ledger", ["job_id"])
    op.create_index("ix_ferry_ledger_job_outcome", "ferry_ledger", ["job_id", "outcome"])

    op.create_table(
        "ferry_problem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("vertical", sa.String(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "subject", "message", name="uq_ferry_problem"),
    )
    op.create_index("ix_ferry_problem_job_id", "ferry_problem", ["job_id"])
    # errors that named a file rather than an item were problems all along
    op.execute(
        "INSERT INTO ferry_problem (job_id, vertical, subject, message, kind, item_id, created_at)"
        " SELECT e.job_id, MIN(e.vertical), COALESCE(e.item_name, e.item_id), e.message, 'failed', NULL, MIN(e.created_at)"
        " FROM ferry_item_error e WHERE NOT EXISTS (SELECT 1 FROM ferry_ledger l WHERE l.job_id = e.job_id AND l.item_id = e.item_id)"
        " GROUP BY e.job_id, COALESCE(e.item_name, e.item_id), e.message"
    )
    op.drop_index("ix_ferry_item_error_job_id", table_name="ferry_item_error")
    op.drop_table("ferry_item_error")

    with op.batch_alter_table("ferry_export_cursor") as batch:
        batch.add_column(sa.Column("cursor_version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "ferry_bookmark",
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("vertical", sa.String(), nullable=False),
        sa.Column("cursor_json", sa.Text(), nullable=False),
        sa.Column("cursor_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("scope", "vertical"),
    )
    op.create_table(
        "ferry_connector_state",
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=False),
        sa.Column("state_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("scope", "role"),
    )


def downgrade() -> None:
    raise NotImplementedError("ferry does not downgrade its job store; restore a backup instead")
