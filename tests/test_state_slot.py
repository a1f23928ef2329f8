"""The job-scoped state slot: a connector's typed value kept by the framework, per job and role."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from connectors.state import MemoryStateSlot, State, StateSlot
from flows.state_slot import DESTINATION, SOURCE, JobStateSlot
from flows.store import Ledger, get_engine


class RequestV1(State):
    request_id: int


class RequestV2(State):
    """Version 2 renamed the field: an upgrade reads what version 1 saved."""

    version: ClassVar[int] = 2
    id: int
    checks: int = 0

    @classmethod
    def upgrade(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        return {"id": data["request_id"]}


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path):
    if request.param == "sqlite":
        return Ledger(get_engine(f"sqlite:///{tmp_path}/ferry.db", create=True))
    return Ledger(get_engine(request.getfixturevalue("pg_url")))


def test_saved_value_is_seen_by_every_slot_of_the_job_and_only_there(ledger):
    first, again = JobStateSlot(ledger, "job-a", SOURCE), JobStateSlot(ledger, "job-a", SOURCE)
    assert isinstance(first, StateSlot)
    assert first.load(RequestV1) is None
    first.save(RequestV1(request_id=7))
    assert again.load(RequestV1) == RequestV1(request_id=7)  # another process, same job
    assert JobStateSlot(ledger, "job-b", SOURCE).load(RequestV1) is None  # another job
    assert JobStateSlot(ledger, "job-a", DESTINATION).load(RequestV1) is None  # the other side
    again.save(RequestV1(request_id=8))
    assert first.load(RequestV1).request_id == 8
    first.clear()
    first.clear()  # idempotent
    assert again.load(RequestV1) is None


def test_a_value_saved_by_an_older_version_is_upgraded(ledger):
    slot = JobStateSlot(ledger, "job-c", SOURCE)
    slot.save(RequestV1(request_id=41))
    assert slot.load(RequestV2) == RequestV2(id=41)
    slot.save(RequestV2(id=41, checks=2))
    assert ledger.state("job-c", SOURCE).state_version == 2
    assert slot.load(RequestV2).checks == 2


def test_memory_slot_has_the_same_contract():
    slot = MemoryStateSlot()
    assert isinstance(slot, StateSlot) and slot.load(RequestV1) is None
    slot.save(RequestV1(request_id=1))
    assert slot.load(RequestV2) == RequestV2(id=1) and slot.saves == 1
    slot.clear()
    assert slot.load(RequestV1) is None
