"""A connector's job-scoped state slot: one typed value the framework keeps for the job.

Why: most connectors need nothing but their cursor. A few must remember something that belongs
to the whole job rather than to one vertical's cursor, and must remember it *at once*: TikTok's
data request is created by a non-idempotent Add call (a single-use consent allows exactly one),
and every vertical of the job shares it, including verticals that have no cursor yet. Before this
slot the TikTok connector wrote its own ``tiktok-request.json`` next to its download; now the
framework keeps the value in its store, next to the job's ledger (``flows.state_slot``), and
removes it with the job.

Contract:

* A connector declares a frozen pydantic model subclassing :class:`State` (with ``version`` and
  :meth:`State.upgrade` when its fields change, like a cursor) and reads and writes it through
  ``ConnectorContext.state``, a :class:`StateSlot`.
* :meth:`StateSlot.save` is durable when it returns (one short transaction): write the slot
  right after the call whose result must not be lost, before acting on it.
* One slot per job and role (the exporter's and the importer's are separate). Every exporter
  built for the job sees the same value, in any process.
* The value is small (a few KB): ids, counters, a map of a few thousand short entries at most.

:class:`MemoryStateSlot` keeps the value in memory: the default outside the framework, and what
tests share between fresh exporters of one "job".
"""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict

__all__ = ["State", "StateSlot", "MemoryStateSlot"]

S = TypeVar("S", bound="State")


class State(BaseModel):
    """Base of a connector's job-scoped state; frozen and JSON-serialisable.

    Subclasses bump ``version`` when their fields change and override :meth:`upgrade`, so a job
    saved by an older ferry still resumes.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    #: schema version of this state's JSON; stored beside it
    version: ClassVar[int] = 1

    @classmethod
    def upgrade(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        """Turn the JSON of an older ``version`` into this version's fields (default: as is)."""
        return data

    @classmethod
    def load(cls: type[S], text: str, version: int = 1) -> S:
        """Read a stored value, upgrading it from ``version`` first when it is older."""
        if version == cls.version:
            return cls.model_validate_json(text)
        return cls.model_validate(cls.upgrade(json.loads(text), version))


@runtime_checkable
class StateSlot(Protocol):
    """Where a connector keeps its job-scoped :class:`State` (given as ``ConnectorContext.state``)."""

    def load(self, model: type[S]) -> S | None:
        """The saved value read as ``model``, or None when nothing was saved (or it was cleared)."""

    def save(self, value: State) -> None:
        """Replace the saved value; durable when this returns."""

    def clear(self) -> None:
        """Forget the saved value (a canceled request, a finished job). Idempotent."""


class MemoryStateSlot:
    """A :class:`StateSlot` in memory (no framework): tests, embedding, one-process runs."""

    def __init__(self) -> None:
        self._saved: tuple[str, int] | None = None
        self._lock = threading.Lock()
        self.saves = 0  # how often the value was written (tests)

    def load(self, model: type[S]) -> S | None:
        with self._lock:
            saved = self._saved
        return None if saved is None else model.load(*saved)

    def save(self, value: State) -> None:
        with self._lock:
            self._saved = (value.model_dump_json(), type(value).version)
            self.saves += 1

    def clear(self) -> None:
        with self._lock:
            self._saved = None

    def __repr__(self) -> str:
        return f"MemoryStateSlot({'empty' if self._saved is None else 'holding a value'})"
