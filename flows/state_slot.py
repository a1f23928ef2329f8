"""The framework's side of :mod:`connectors.state`: a job's state slot kept in the job store.

Each job has one slot per role (``source``, ``destination``), a row of
:class:`~flows.store.tables.ConnectorState` keyed by the job id and the role, written in its own
short transaction on every :meth:`JobStateSlot.save` (a connector saves right after a call whose
result must not be lost, like TikTok's Add). The JSON is the connector's :class:`State` model with
its version, so a job saved by an older ferry is upgraded when it is read. The slot goes when the
job is canceled (:mod:`flows.cancel`) and when a job completes.
"""

from __future__ import annotations

from typing import TypeVar

from connectors.state import State

from .store import Ledger

__all__ = ["JobStateSlot", "SOURCE", "DESTINATION"]

SOURCE = "source"
DESTINATION = "destination"

S = TypeVar("S", bound=State)


class JobStateSlot:
    """A :class:`connectors.state.StateSlot` backed by the job store.

    Args:
        ledger: the job store's ledger (it owns the ``ferry_connector_state`` table).
        job_id: the job the value belongs to.
        role: ``source`` (the exporter's slot) or ``destination`` (the importer's).
    """

    def __init__(self, ledger: Ledger, job_id: str, role: str):
        if role not in (SOURCE, DESTINATION):
            raise ValueError(role)
        self.ledger = ledger
        self.job_id = job_id
        self.role = role

    def load(self, model: type[S]) -> S | None:
        row = self.ledger.state(self.job_id, self.role)
        return None if row is None else model.load(row.state_json, row.state_version)

    def save(self, value: State) -> None:
        self.ledger.save_state(self.job_id, self.role, value.model_dump_json(), type(value).version)

    def clear(self) -> None:
        self.ledger.clear_state(self.job_id, self.role)

    def __repr__(self) -> str:
        return f"JobStateSlot(job={self.job_id[:8]}, {self.role})"
