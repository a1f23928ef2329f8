"""Baseline: the schema ferry 0.1 created with ``create_all`` (before migrations existed).

A database written by that version has these tables and no version table; ferry stamps it with
this revision and upgrades it from here.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name)


def upgrade() -> None:
    op.create_table(
        "ferry_job",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("destination", sa.String(), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("source_credential_id", sa.String(), nullable=True),
        sa.Column("destination_credential_id", sa.String(), nullable=True),
        sa.Column("recurring_id", sa.String(), nullable=True),
        sa.Column("ledger_scope", sa.String(), nullable=False),
        sa.Column("state", _enum("jobstate", "NEW", "RUNNING", "PAUSED", "NEEDS_REAUTH", "COMPLETE", "FAILED", "CANCELED"), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("wake_at", TZ, nullable=True),
        sa.Column("wake_key", sa.String(), nullable=True),
        sa.Column("flow_run_id", sa.String(), nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_expires_at", TZ, nullable=True),
        sa.Column("items_imported", sa.Integer(), nullable=False),
        sa.Column("items_skipped", sa.Integer(), nullable=False),
        sa.Column("items_failed", sa.Integer(), nullable=False),
        sa.Column("bytes_moved", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("finished_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("recurring_id", "wake_key", "destination_credential_id", "ledger_scope", "state", "source_credential_id"):
        op.create_index(f"ix_ferry_job_{column}", "ferry_job", [column])
    op.create_table(
        "ferry_recurring",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("destination", sa.String(), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("source_credential_id", sa.String(), nullable=True),
        sa.Column("destination_credential_id", sa.String(), nullable=True),
        sa.Column("schedule", sa.String(), nullable=True),
        sa.Column("state", _enum("recurringstate", "ACTIVE", "PAUSED", "CANCELED"), nullable=False),
        sa.Column("deployment_id", sa.String(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ferry_recurring_name", "ferry_recurring", ["name"], unique=True)
    op.create_index("ix_ferry_recurring_source_credential_id", "ferry_recurring", ["source_credential_id"])
    op.create_index("ix_ferry_recurring_destination_credential_id", "ferry_recurring", ["destination_credential_id"])
    op.create_table(
        "ferry_ledger",
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("vertical", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("destination_id", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("scope", "item_id"),
    )
    op.create_index("ix_ferry_ledger_job_id", "ferry_ledger", ["job_id"])
    op.create_table(
        "ferry_item_error",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("item_name", sa.String(), nullable=True),
        sa.Column("vertical", sa.String(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("retryable", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ferry_item_error_job_id", "ferry_item_error", ["job_id"])
    op.create_table(
        "ferry_export_cursor",
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("vertical", sa.String(), nullable=False),
        sa.Column("cursor_json", sa.Text(), nullable=True),
        sa.Column("converter_state", sa.JSON(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("job_id", "vertical"),
    )
    op.create_table(
        "ferry_credential",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("connector", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=True),
        sa.Column("account", sa.String(), nullable=True),
        sa.Column("token_ciphertext", sa.Text(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("status", _enum("credentialstatus", "ACTIVE", "NEEDS_REAUTH", "REVOKED"), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("access_expires_at", TZ, nullable=True),
        sa.Column("refresh_expires_at", TZ, nullable=True),
        sa.Column("grant_expires_at", TZ, nullable=True),
        sa.Column("last_refreshed_at", TZ, nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ferry_credential_connector", "ferry_credential", ["connector"])
    op.create_index("ix_ferry_credential_status", "ferry_credential", ["status"])


def downgrade() -> None:
    for table in ("ferry_credential", "ferry_export_cursor", "ferry_item_error", "ferry_ledger", "ferry_recurring", "ferry_job"):
        op.drop_table(table)
    for name in ("jobstate", "recurringstate", "credentialstatus"):
        sa.Enum(name=name).drop(op.get_bind(), checkfirst=True)
