"""Alembic environment for ferry's job store.

ferry runs Alembic from code (``flows.store.migrations.upgrade``), handing it an open
connection through ``config.attributes["connection"]``; there is no alembic.ini. The version
table is ``ferry_schema_version`` so ferry can share a database with Prefect (which keeps its own
``alembic_version``).
"""

from alembic import context

from flows.store import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from flows.store.migrations import VERSION_TABLE
from sqlmodel import SQLModel

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=True,
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
