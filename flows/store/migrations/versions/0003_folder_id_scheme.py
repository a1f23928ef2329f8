"""Folder sources: transfers that began under the old item ids keep them (``id_scheme=path``).

Blob items of a folder source now name their kind in their id (connectors/folder/ids.py), so a
file and the photo made of the same file never share an id. Ledgers of transfers that already
ran hold the old ids; a destination that keys items by id (a Generic Importer) would receive
every file again. So recurring transfers and unfinished jobs whose source is a folder and whose
destination is *not* a folder pin ``options.folder.id_scheme = "path"``. Folder and S3
destinations need no pin: they recognise a file by its content, whatever its id.

Data only, no schema change. Downgrade leaves the option: a ferry before 0003 reads only the
folder options it knows and ignores this one.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_FINAL = ("COMPLETE", "CANCELED")


def _connector(text: str, role: str) -> str | None:
    """The connector a stored endpoint string resolves to, or None when that cannot be told now."""
    from connectors.registry import parse_endpoint

    try:
        return parse_endpoint(text, role=role).connector.name
    except Exception:  # a path gone since, a connector no longer installed: leave the row alone
        return None


def _pin(options: dict | None) -> dict | None:
    """The options with the old id scheme pinned, or None when nothing changes."""
    options = dict(options or {})
    folder = dict(options.get("folder") or {})
    if "id_scheme" in folder:
        return None
    folder["id_scheme"] = "path"
    options["folder"] = folder
    return options


def _migrate(table: sa.Table, where) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(table.c.id, table.c.source, table.c.destination, table.c.options).where(where)).all()
    for row_id, source, destination, options in rows:
        if _connector(source, "source") != "folder" or _connector(destination, "destination") in (None, "folder"):
            continue
        pinned = _pin(options)
        if pinned is not None:
            bind.execute(sa.update(table).where(table.c.id == row_id).values(options=pinned))


def upgrade() -> None:
    def columns():
        names = ("id", "source", "destination", "state")
        return (*(sa.column(n, sa.String) for n in names), sa.column("options", sa.JSON))

    recurring = sa.table("ferry_recurring", *columns())
    jobs = sa.table("ferry_job", *columns())
    _migrate(recurring, recurring.c.state != "CANCELED")
    _migrate(jobs, sa.not_(jobs.c.state.in_(_FINAL)))


def downgrade() -> None:
    pass  # the option stays; ferry before 0003 ignores folder options it does not know
