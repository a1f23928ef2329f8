"""The ledger says which hash its checksum is: ``ferry_ledger.checksum_algorithm``.

Local copies are now hashed with XXH3 (a hash ferry alone checks, 15 times faster than sha256);
``ferry verify`` must hash a file with the algorithm that made the recorded digest. The column
holds a :class:`connectors.checksums.HashAlgorithm` value, and ``checksum`` the digest alone.

Rows written before held ``sha256:<hex>`` (the only algorithm then): they become
(``sha256``, ``<hex>``), so they verify as before.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ferry_ledger") as batch:
        batch.add_column(sa.Column("checksum_algorithm", sa.String(32), nullable=True))
    op.execute(
        "UPDATE ferry_ledger SET checksum_algorithm = 'sha256', checksum = substr(checksum, 8)"
        " WHERE checksum LIKE 'sha256:%'"
    )
    op.execute("UPDATE ferry_ledger SET checksum = NULL WHERE checksum_algorithm IS NULL")


def downgrade() -> None:
    raise NotImplementedError("ferry does not downgrade its job store; restore a backup instead")
